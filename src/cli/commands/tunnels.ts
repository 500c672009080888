/**
 * `jumpgate tunnels add|ls|rm|up`: -L/-R/-D tunnels held by the gate, outliving the command.
 * Registration only; the runs are in ../gate/tunnels.ts.
 */
import type { Command } from "commander";

const HELP = `
Tunnels live in the gate (started if none runs): they stay up after this command returns, keep
their local listeners when a hop drops (state "reconnecting") and come back by themselves, with
backoff. Forward specifications are ssh's: -L [bind:]port:host:hostport, -R [bind:]port:host:hostport,
-D [bind:]port, and Unix socket paths.

Examples:
  jumpgate tunnels add mcgonagall -L 8080:localhost:12345    mcgonagall's localhost-only service on :8080
  jumpgate tunnels add -J jaguar student@10.0.0.5 -D 1080    a SOCKS proxy through the internal host
  jumpgate tunnels ls                                        id, route, spec, state, connections, bytes
  jumpgate tunnels ls --json
  jumpgate tunnels up mcgonagall                             its LocalForward/RemoteForward/DynamicForward lines
  jumpgate tunnels rm L1
`;

export function registerTunnelsCommand(program: Command): void {
  const tunnels = program
    .command("tunnels")
    .summary("port forwards held by the gate: add, ls, rm, up")
    .helpOption("-h, --help", "show this help")
    .addHelpText("after", HELP);
  tunnels
    .command("add")
    .description("start -L/-R/-D forwards to a destination, held by the gate")
    .usage("[-F file] [-J jumps] [-o option] [-l user] [-p port] [-i identity] destination -L|-R|-D spec...")
    .argument("[args...]")
    .allowUnknownOption()
    .allowExcessArguments()
    .addHelpText("after", "\nExample:\n  jumpgate tunnels add mcgonagall -L 8080:localhost:12345\n")
    .action(async (args: string[]) => {
      const { tunnelsAdd } = await import("../gate/tunnels.js");
      process.exitCode = await tunnelsAdd(args);
    });
  tunnels
    .command("ls")
    .description("list the gate's tunnels (exit 0 with none)")
    .option("--json", "machine-readable output")
    .addHelpText("after", "\nExample:\n  jumpgate tunnels ls --json\n")
    .action(async (opts: { json?: boolean }) => {
      const { tunnelsLs } = await import("../gate/tunnels.js");
      process.exitCode = await tunnelsLs(opts.json === true);
    });
  tunnels
    .command("rm")
    .description("close tunnels by id (their listeners and connections)")
    .argument("<id...>")
    .addHelpText("after", "\nExample:\n  jumpgate tunnels rm L1\n")
    .action(async (ids: string[]) => {
      const { tunnelsRm } = await import("../gate/tunnels.js");
      process.exitCode = await tunnelsRm(ids);
    });
  tunnels
    .command("up")
    .description("start the LocalForward/RemoteForward/DynamicForward lines of a destination's config")
    .usage("[-F file] [-o option] destination")
    .argument("[args...]")
    .allowUnknownOption()
    .allowExcessArguments()
    .addHelpText("after", "\nExample:\n  jumpgate tunnels up mcgonagall\n")
    .action(async (args: string[]) => {
      const { tunnelsUp } = await import("../gate/tunnels.js");
      process.exitCode = await tunnelsUp(args);
    });
}
