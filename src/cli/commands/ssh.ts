/**
 * `jumpgate ssh`: OpenSSH's client on jumpgate's connection manager. Thin on purpose: parsing the
 * command line here, the run in ../ssh/main.ts (loaded only when the command runs, so that other
 * commands never pay for loading ssh2), connecting in src/connection, and the session itself
 * (stdio, pty, escapes, exit status) in ../ssh/run.ts.
 */
import type { Command } from "commander";
import type { CliItem } from "../../config/resolve.js";
import { JumpgateError } from "../../errors.js";
import { applySshConnectionOption, type ParsedArg, parseShortOptions } from "../sshargs.js";

const HELP = `
Options (as in ssh; the ones listed are the ones jumpgate implements):
  -F file            config file instead of ~/.ssh/config and /etc/ssh/ssh_config
  -l user            remote user
  -p port            remote port
  -i file            identity (private key) file, repeatable
  -J jumps           jump hosts: [user@]host[:port][,...]
  -o Keyword=value   any ssh_config keyword, repeatable
  -A / -a            enable / disable agent forwarding
  -t / -T            force / disable pseudo-terminal allocation (-tt forces even without a local tty)
  -N                 no remote command (keep the connection open, e.g. for a tunnel)
  -L [bind:]port:host:hostport   local forward (also Unix socket paths on either side)
  -R [bind:]port:host:hostport   remote forward (port 0: the server picks one and it is printed)
  -D [bind:]port     dynamic forward: a SOCKS4/4a/5 proxy whose connections leave from the server
  -f                 go to the background once authenticated and the forwards are up
  -W host:port       connect stdin/stdout to host:port through the server (usable as a ProxyCommand)
  -e char            escape character (default ~, "none" disables)
  -C                 compression
  -4 / -6            IPv4 / IPv6 only
  -v                 verbose (repeat for more)
  -q                 quiet
  -G                 print the resolved configuration (as 'ssh -G') and exit

Escapes (after a newline, with a pty): ~. disconnect, ~? help, ~# connections, ~C command line
(-L/-R/-D to add a forward, -KL/-KR/-KD to cancel one; needs EnableEscapeCommandline yes), ~~ a literal ~.
Forwards also come from the config (LocalForward, RemoteForward, DynamicForward); -o ExitOnForwardFailure=yes
makes a forward that cannot be set up fatal (exit 255), -o GatewayPorts=yes binds them on every interface.
Exit status: the remote command's; 255 when jumpgate itself fails (connection, host key, authentication).

Examples:
  jumpgate ssh mcgonagall                        interactive shell through jaguar (ProxyJump in ~/.ssh/config)
  jumpgate ssh -J jaguar student@127.0.0.2 uptime
  jumpgate ssh -W %h:%p jaguar                   as 'ProxyCommand jumpgate ssh -W %h:%p jaguar'
  jumpgate ssh -N -L 1111:localhost:12345 mcgonagall   mcgonagall's localhost:12345 at localhost:1111
  jumpgate ssh -f -N -D 1080 jaguar              a SOCKS proxy in the background
`;

export function registerSshCommand(program: Command): void {
  program
    .command("ssh")
    .summary("log in or run a command, through any number of jump hosts, like ssh")
    .usage("[options] destination [command...]")
    .argument("[args...]")
    .allowUnknownOption()
    .allowExcessArguments()
    .passThroughOptions()
    .helpOption("-h, --help", "show this help")
    .addHelpText("after", HELP)
    .action(async (args: string[]) => {
      const { runSsh } = await import("../ssh/main.js");
      process.exitCode = await runSsh(parseSshArgs(args));
    });
}

export interface ParsedSshArgs {
  items: CliItem[];
  configFile?: string;
  command: string[];
  tty: "auto" | "yes" | "force" | "no";
  noCommand: boolean;
  stdioForward: string | null;
  escapeChar: string | null;
  verbosity: number;
  quiet: boolean;
  printConfig: boolean;
  /** -h before the destination: show the help (commander prints it). */
  help: boolean;
  /** -f: go to the background once authenticated and the forwards are up. */
  background: boolean;
}

const NOT_YET: Readonly<Record<string, string>> = {
  M: "connection multiplexing (-M)",
  S: "control sockets (-S)",
  X: "X11 forwarding (-X)",
  Y: "X11 forwarding (-Y)",
};

export function parseSshArgs(argv: readonly string[]): ParsedSshArgs {
  const parsed: ParsedArg[] = parseShortOptions(argv, {
    withValue: "FlpiJoWecLRDSbBm",
    flags: "AatTNvqCG46fMXYkKgnsxh",
    longFlags: ["help"],
    commandAfterDestination: true,
  });
  const out: ParsedSshArgs = {
    items: [],
    command: [],
    tty: "auto",
    noCommand: false,
    stdioForward: null,
    escapeChar: null,
    verbosity: 0,
    quiet: false,
    printConfig: false,
    help: false,
    background: false,
  };
  let destinationSeen = false;
  for (const { name, value } of parsed) {
    const notYet = NOT_YET[name];
    if (notYet !== undefined) {
      throw new JumpgateError("JG_USAGE", `jumpgate ssh does not support ${notYet} yet.`);
    }
    if (applySshConnectionOption(name, value, out)) continue;
    switch (name) {
      case "":
        if (!destinationSeen) {
          out.items.push({ kind: "destination", value });
          destinationSeen = true;
        } else out.command.push(value);
        break;
      case "A":
      case "a":
        out.items.push({ kind: "forwardAgent", value: name === "A" });
        break;
      case "t":
        out.tty = out.tty === "yes" ? "force" : "yes";
        break;
      case "T":
        out.tty = "no";
        break;
      case "N":
        out.noCommand = true;
        break;
      case "L":
        out.items.push({ kind: "local", value });
        break;
      case "R":
        out.items.push({ kind: "remote", value });
        break;
      case "D":
        out.items.push({ kind: "dynamic", value });
        break;
      case "f":
        out.background = true;
        break;
      case "W":
        out.stdioForward = value;
        break;
      case "e":
        out.escapeChar = value;
        break;
      case "v":
        out.verbosity++;
        break;
      case "q":
        out.quiet = true;
        break;
      case "G":
        out.printConfig = true;
        break;
      case "h":
      case "help":
        out.help = true;
        break;
      default:
        throw new JumpgateError(
          "JG_USAGE",
          `jumpgate ssh does not support -${name}. Run 'jumpgate ssh --help' for the options it has.`,
        );
    }
  }
  if (!destinationSeen && !out.help) {
    throw new JumpgateError("JG_USAGE", "jumpgate ssh needs a destination. Run 'jumpgate ssh --help'.");
  }
  return out;
}
