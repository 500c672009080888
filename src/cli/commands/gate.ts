/**
 * `jumpgate gate start|stop|status|run`: the long-lived process that keeps connections (and
 * tunnels) open for every jumpgate command. Registration only; the runs are in ../gate/run.ts.
 */
import type { Command } from "commander";

const HELP = `
The gate holds one connection per route (user@host:port and the hops before it) and lends it to
every jumpgate command: with a gate running, 'jumpgate ssh mcgonagall true' through jaguar makes
no new SSH handshake. Its socket is $XDG_RUNTIME_DIR/jumpgate/gate.sock (or ~/.jumpgate/gate.sock),
0600 in a 0700 directory; its log is gate.log next to it. A config with ControlMaster auto (or
autoask) starts one on demand, which stops after ControlPersist's idle time (10m when unset).

Examples:
  jumpgate gate start                  start in the background; prints the pid and the socket
  jumpgate gate start --persist 1h     unused connections stay open for an hour
  jumpgate gate status                 is it running, since when, how many connections
  jumpgate status                      what it holds: routes, RTT, channels, tunnels
  jumpgate gate stop                   close every connection and stop
`;

export function registerGateCommand(program: Command): void {
  const gate = program
    .command("gate")
    .summary("start, stop or inspect the gate that keeps connections open for every command")
    .helpOption("-h, --help", "show this help")
    .addHelpText("after", HELP);
  gate
    .command("start")
    .description("start the gate in the background; returns when it is ready")
    .option("--persist <time>", "how long an unused connection stays open (default 10m; 'forever')")
    .option("--idle-exit <time>", "stop after this long with nothing open (default: never)")
    .addHelpText("after", "\nExample:\n  jumpgate gate start --persist 30m\n")
    .action(async (opts: { persist?: string; idleExit?: string }) => {
      const { gateStart } = await import("../gate/run.js");
      process.exitCode = await gateStart(opts);
    });
  gate
    .command("stop")
    .description("close every connection and tunnel the gate holds, and stop it")
    .addHelpText("after", "\nExample:\n  jumpgate gate stop\n")
    .action(async () => {
      const { gateStop } = await import("../gate/run.js");
      process.exitCode = await gateStop();
    });
  gate
    .command("status")
    .description("whether a gate is running (exit 1 when not), its pid, socket and settings")
    .option("--json", "machine-readable output")
    .addHelpText("after", "\nExample:\n  jumpgate gate status --json\n")
    .action(async (opts: { json?: boolean }) => {
      const { gateStatus } = await import("../gate/run.js");
      process.exitCode = await gateStatus(opts.json === true);
    });
  gate
    .command("run")
    .description("run the gate in the foreground (for systemd, tmux, debugging); logs on stderr")
    .option("--persist <time>", "how long an unused connection stays open (default 10m; 'forever')")
    .option("--idle-exit <time>", "stop after this long with nothing open (default: never)")
    .option("--notify", "print 'ready PID SOCKET' on stdout once listening, then close stdout")
    .addHelpText("after", "\nExample:\n  jumpgate gate run --persist forever\n")
    .action(async (opts: { persist?: string; idleExit?: string; notify?: boolean }) => {
      const { runGate } = await import("../gate/run.js");
      process.exitCode = await runGate(opts);
    });
}
