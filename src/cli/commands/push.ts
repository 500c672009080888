/**
 * `jumpgate push`: a local directory's contents into a remote directory, as
 * `tar -C localdir -c . | ssh host 'tar -x -C remotedir'` would put them. Registration only; the
 * run (../tar/run.ts) is loaded when the command runs.
 */
import type { Command } from "commander";
import { parseTarArgs } from "../tar/args.js";

const HELP = `
Packs <localdir> in-process (no local tar) and streams it over one SSH channel into a remote
'mkdir -p DIR && tar -x -p -o -C DIR' (DIR quoted for the remote shell; created if missing;
relative to the remote home). Modes, mtimes, symlinks and hard links are kept; files belong to the
remote login user. Files already in DIR that are not in <localdir> stay: there is no --delete, by
design (push never removes anything remote). Sockets, fifos and devices are not sent (said, exit 1).

Options:
  --exclude PATTERN  leave out what matches, gitignore-style (repeatable): 'node_modules/',
                     '*.log', '/build' (anchored at the root), 'docs/**/*.tmp', '!keep.log'
  --gitignore        honour the tree's .gitignore files (root and nested), as git would;
                     .git itself is still sent unless you add --exclude .git
  --compress gzip    gzip the stream (remote 'tar -z'); helps on slow links only
  --compress zstd    zstd the stream: a local 'zstd' process here, 'zstd -d | tar -x' there; both
                     hosts need the zstd program (a clear error names the one without it, before
                     anything is extracted); 'none' is the default
  --remote-tar PATH  the remote tar program (default tar; e.g. gtar)
  -F file  -J jumps  -o Keyword=value  -i key  -P port  -c cipher  -C  -4/-6  (as in scp)
  -q                 quiet: no progress bar, no summary
  -v                 verbose (repeat for more)

Exit status: 0; 1 when the transfer failed (remote without tar, disk full, permission denied:
the message says what was and was not written); 2 for a bad command line; 255 when connecting failed.

Examples:
  jumpgate push . mcgonagall:src/app                      this directory into ~/src/app, through jaguar
  jumpgate push --gitignore --exclude .git ~/proj mcgonagall:/srv/proj
  jumpgate push --compress gzip -J jaguar logs/ student@10.0.0.5:incoming
  jumpgate push --compress zstd ./data mcgonagall:/srv/data
`;

export function registerPushCommand(program: Command): void {
  program
    .command("push")
    .summary("send a directory's contents to a remote directory (tar over ssh, in-process)")
    .usage("[options] localdir [user@]host:remotedir")
    .argument("[args...]")
    .allowUnknownOption()
    .allowExcessArguments()
    .passThroughOptions()
    .helpOption("-h, --help", "show this help")
    .addHelpText("after", HELP)
    .action(async (args: string[]) => {
      const parsed = parseTarArgs("push", args);
      const { runTar } = await import("../tar/run.js");
      process.exitCode = await runTar(parsed);
    });
}
