/**
 * `jumpgate forward destination -L ... -R ... -D ...`: the friendly spelling of
 * `jumpgate ssh -N`, which says what it forwards. Registration and argument checks only; the run
 * is `jumpgate ssh`'s (../ssh/main.ts), loaded when the command runs.
 */
import type { Command } from "commander";
import { JumpgateError } from "../../errors.js";
import { type ParsedSshArgs, parseSshArgs } from "./ssh.js";

const HELP = `
Forwards ports through the destination (and its jump hosts), like 'ssh -N', until Ctrl-C or until
the connection is lost (exit 255). Each forward is announced as it comes up.

Options (as in ssh):
  -L [bind:]port:host:hostport   local forward: connections to port here go to host:hostport as seen
                                 from the destination (host may be its localhost); either side may be
                                 a Unix socket path
  -R [bind:]port:host:hostport   remote forward: the destination listens on port, connections come back
                                 to host:hostport here; port 0 lets the server choose (printed)
  -D [bind:]port                 SOCKS4/4a/5 proxy here; names are resolved by the destination
  -f                             go to the background once the forwards are up
  -F file, -J jumps, -l user, -p port, -i identity, -o Keyword=value, -v, -q, -4, -6 as in ssh

Binding: without bind address, loopback only (GatewayPorts=yes: every interface); "*" or "" every
interface; "localhost" loopback. -o ExitOnForwardFailure=yes makes any forward that cannot be set up
fatal. Forwards in the config (LocalForward, RemoteForward, DynamicForward) are set up too, unless
ClearAllForwardings=yes.

Examples:
  jumpgate forward mcgonagall -L 1111:localhost:12345      mcgonagall's localhost-only service at localhost:1111
  jumpgate forward jaguar -D 1080                          a SOCKS proxy through the bastion
  jumpgate forward mcgonagall -R 0:localhost:3000          show a local dev server to mcgonagall
  jumpgate forward mcgonagall -L /tmp/db.sock:/run/postgresql/.s.PGSQL.5432
`;

export function registerForwardCommand(program: Command): void {
  program
    .command("forward")
    .summary("forward ports through any route (-L, -R, -D), like ssh -N")
    .usage("destination [-L spec] [-R spec] [-D spec] [ssh options]")
    .argument("[args...]")
    .allowUnknownOption()
    .allowExcessArguments()
    .passThroughOptions()
    .helpOption("-h, --help", "show this help")
    .addHelpText("after", HELP)
    .action(async (args: string[]) => {
      const parsed = parseForwardArgs(args);
      const { runSsh } = await import("../ssh/main.js");
      process.exitCode = await runSsh(parsed, { announce: true, requireForwards: true });
    });
}

/** ssh's options, with the destination anywhere and no remote command. */
export function parseForwardArgs(argv: readonly string[]): ParsedSshArgs {
  let parsed: ParsedSshArgs;
  try {
    parsed = parseSshArgs(argv);
  } catch (error) {
    if (error instanceof JumpgateError && /needs a destination/.test(error.message)) {
      throw new JumpgateError(
        "JG_USAGE",
        "jumpgate forward needs a destination. Run 'jumpgate forward --help'.",
      );
    }
    throw error;
  }
  if (parsed.command.length > 0) {
    throw new JumpgateError(
      "JG_USAGE",
      `jumpgate forward runs no remote command (got '${parsed.command.join(" ")}'): put options before or after the destination, or use 'jumpgate ssh'.`,
    );
  }
  if (parsed.stdioForward !== null) {
    throw new JumpgateError("JG_USAGE", "jumpgate forward does not take -W: use 'jumpgate ssh -W'.");
  }
  return { ...parsed, noCommand: true };
}
