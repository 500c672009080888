/**
 * `jumpgate pull`: a remote directory's contents into a local directory, extracted under strict
 * rules. Registration only; the run (../tar/run.ts) is loaded when the command runs.
 */
import type { Command } from "commander";
import { parseTarArgs } from "../tar/args.js";

const HELP = `
Runs 'tar -c -C DIR .' on the remote host (DIR quoted; relative to the remote home) and extracts
the stream here in-process (no local tar), into <localdir> (created if missing). The archive is
treated as hostile; these entries are refused, each with its reason, and the rest still extracted:
absolute names, names with '..', links whose target leaves <localdir>, anything that would be
written through a symlink (existing or from the archive), device files and fifos. setuid, setgid
and sticky bits are dropped (said). Owners are never changed. An existing file of the same name is
replaced (never written through); nothing is deleted (no --delete).

Options:
  --to-file FILE     save the archive as FILE instead of extracting (FILE.gz / .tgz: gzipped on the
                     remote side; FILE.zst / .tzst: zstd on the remote side, saved as it comes);
                     written under a temporary name and renamed when complete
  --compress gzip    gzip the stream on the wire
  --compress zstd    zstd the stream on the wire ('tar -c | zstd' there, a local 'zstd -d' here):
                     both hosts need the zstd program; a clear error names the one without it
  --max-files N      refuse archives with more than N entries (default 1000000)
  --max-size SIZE    refuse archives with more than SIZE of file data (default 64G; 500M, 2T...)
  --remote-tar PATH  the remote tar program (default tar)
  -F file  -J jumps  -o Keyword=value  -i key  -P port  -c cipher  -C  -4/-6  (as in scp)
  -q                 quiet: no progress bar, no summary
  -v                 verbose

Exit status: 0; 1 when something failed or an entry was refused (the message says what was and was
not written); 2 for a bad command line; 255 when connecting failed.

Examples:
  jumpgate pull mcgonagall:/srv/data ./data               through jaguar, as ProxyJump says
  jumpgate pull --to-file backup.tar.gz mcgonagall:/etc/app
  jumpgate pull --to-file backup.tar.zst mcgonagall:/etc/app   zstd there, saved as it comes
  jumpgate pull --compress gzip -J jaguar student@10.0.0.5:logs ./logs
`;

export function registerPullCommand(program: Command): void {
  program
    .command("pull")
    .summary("fetch a remote directory's contents (tar over ssh, extracted safely in-process)")
    .usage("[options] [user@]host:remotedir localdir | --to-file FILE [user@]host:remotedir")
    .argument("[args...]")
    .allowUnknownOption()
    .allowExcessArguments()
    .passThroughOptions()
    .helpOption("-h, --help", "show this help")
    .addHelpText("after", HELP)
    .action(async (args: string[]) => {
      const parsed = parseTarArgs("pull", args);
      const { runTar } = await import("../tar/run.js");
      process.exitCode = await runTar(parsed);
    });
}
