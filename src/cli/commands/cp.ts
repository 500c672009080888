/**
 * `jumpgate cp`: scp's counterpart over SFTP. Registration and argument parsing only; the run
 * (../cp/run.ts) is loaded when the command runs, so other commands never load ssh2 for it.
 */
import type { Command } from "commander";
import type { CliItem } from "../../config/resolve.js";
import { JumpgateError } from "../../errors.js";
import { applyScpConnectionOption, type ParsedArg, parseShortOptions } from "../sshargs.js";

const HELP = `
Copies files between this machine and remote hosts over SFTP, through any route your ssh_config
gives (ProxyJump, ProxyCommand), like OpenSSH 9.2's scp in its default (SFTP) mode.

Operands (as in scp):
  host:path  user@host:path  [v6addr]:path  scp://user@host:port/path  (ssh:// works too)
  A name without ':' before its first '/' is local: write a local name containing ':' as ./name.
  Remote relative paths (and ~/) are relative to the remote home; ~user/ needs the server's
  expand-path@openssh.com. In scp:// URIs the path after the host's '/' is relative to the home
  too (scp://h//etc/motd is /etc/motd), as in scp.

Options:
  -r                 copy directories recursively
  -p                 keep modification and access times and modes (without it, new files get the
                     source's mode minus the receiver's umask; a replaced file keeps its mode)
  -q                 quiet: no progress bar and no summary
  -3                 remote->remote through this machine; the default (and only) way here, as in
                     scp 9.2's SFTP mode; accepted for compatibility
  -F file            ssh config file
  -J jumps           jump hosts: [user@]host[:port][,...]
  -o Keyword=value   any ssh_config keyword, repeatable
  -i file            identity (private key) file, repeatable
  -P port            remote port (scp's spelling; -p means preserve)
  -c cipher          Ciphers; -C compression; -4 / -6 address family; -v verbose

Remote globs (*, ?, [..]) are expanded by jumpgate over SFTP, never by a remote shell: quote them
so your local shell leaves them alone: jumpgate cp 'mcgonagall:logs/*.gz' .

Symlinks, as scp (SFTP mode): a source named on the command line is followed. Inside -r trees a
link to a file is copied as a regular file with the target's contents; a link to a directory (or
a dangling link) is skipped with an error (exit 1). jumpgate never creates symlinks.

Safety: each file is written to a hidden temporary name in its target directory and renamed when
complete, so an interrupted copy never leaves a truncated file under the final name. Names a
server lists that are not one plain component ('/', '.', '..') are refused. Several files go at
once, each with large pipelined SFTP requests.

Progress: a bar with bytes, files, rate and ETA on a terminal (stderr); a one-line summary at the
end (also when not on a terminal); nothing with -q. Exit status 0, or 1 when any file failed
(the others are still copied, as scp does), 2 for a bad command line, 255 for connection failures.

Examples:
  jumpgate cp report.pdf mcgonagall:                 into the remote home (through jaguar)
  jumpgate cp -r mcgonagall:/srv/data ./data         a remote tree to here
  jumpgate cp -p 'mcgonagall:logs/*.log' logs/       remote glob, keeping times and modes
  jumpgate cp jaguar:notes.txt mcgonagall:notes.txt  remote to remote, through this machine
  jumpgate cp ./a:b scp://alice@[::1]:2222//tmp/     a local name with ':' to an IPv6 URI
`;

export function registerCpCommand(program: Command): void {
  program
    .command("cp")
    .summary("copy files to, from and between remote hosts over SFTP, like scp")
    .usage("[-3pqrv46C] [-F file] [-J jumps] [-o opt] [-i key] [-P port] source... target")
    .argument("[args...]")
    .allowUnknownOption()
    .allowExcessArguments()
    .passThroughOptions()
    .helpOption("-h, --help", "show this help")
    .addHelpText("after", HELP)
    .action(async (args: string[]) => {
      const { runCp } = await import("../cp/run.js");
      process.exitCode = await runCp(parseCpArgs(args));
    });
}

export interface ParsedCpArgs {
  /** ssh options that apply to every remote host (-o, -i, -J, -P ...), in order. */
  items: CliItem[];
  configFile?: string;
  operands: string[];
  recursive: boolean;
  preserve: boolean;
  quiet: boolean;
  verbosity: number;
}

const UNSUPPORTED: Readonly<Record<string, string>> = {
  O: "the legacy scp protocol (-O); jumpgate cp always uses SFTP",
  R: "remote-to-remote copies run on the source host (-R); copies go through this machine (-3)",
  l: "bandwidth limits (-l)",
  S: "a different ssh program (-S)",
  D: "a different sftp-server (-D)",
  X: "sftp options (-X)",
  T: "disabling name checks (-T); jumpgate always checks",
  A: "agent forwarding (-A)",
  B: "batch mode (-B); use -o BatchMode=yes",
};

export function parseCpArgs(argv: readonly string[]): ParsedCpArgs {
  const parsed: ParsedArg[] = parseShortOptions(argv, {
    withValue: "FJoiPclSDX",
    flags: "3pqrv46CORTAB",
    longFlags: [],
  });
  const out: ParsedCpArgs = {
    items: [],
    operands: [],
    recursive: false,
    preserve: false,
    quiet: false,
    verbosity: 0,
  };
  for (const { name, value } of parsed) {
    const unsupported = UNSUPPORTED[name];
    if (unsupported !== undefined)
      throw new JumpgateError("JG_USAGE", `jumpgate cp does not support ${unsupported}.`);
    switch (name) {
      case "":
        out.operands.push(value);
        break;
      case "r":
        out.recursive = true;
        break;
      case "p":
        out.preserve = true;
        break;
      case "q":
        out.quiet = true;
        break;
      case "v":
        out.verbosity++;
        break;
      case "3":
        break;
      default:
        applyScpConnectionOption(name, value, out);
        break;
    }
  }
  if (out.operands.length < 2) {
    throw new JumpgateError(
      "JG_USAGE",
      "jumpgate cp needs at least one source and a target: jumpgate cp [options] source... target. Run 'jumpgate cp --help'.",
    );
  }
  return out;
}
