/**
 * `jumpgate status [--json]`: the gate's connections and tunnels. Registration only; the run is in
 * ../gate/status.ts.
 */
import type { Command } from "commander";

const HELP = `
Connections: the route (you -> jaguar -> mcgonagall), state, uptime, round-trip time measured with
keepalive requests, authentication method, open channels and users. Tunnels: spec, state,
connections and bytes. Without a running gate it says so and exits 0.

Examples:
  jumpgate status
  jumpgate status --json | jq '.connections[] | {route, rttMs}'
`;

export function registerStatusCommand(program: Command): void {
  program
    .command("status")
    .summary("connections and tunnels held by the gate (--json for scripts)")
    .option("--json", "machine-readable output (the same snapshot the dashboard reads)")
    .helpOption("-h, --help", "show this help")
    .addHelpText("after", HELP)
    .action(async (opts: { json?: boolean }) => {
      const { runStatus } = await import("../gate/status.js");
      process.exitCode = await runStatus(opts.json === true);
    });
}
