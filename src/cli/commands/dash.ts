/**
 * `jumpgate dash`: the live dashboard of the gate. Registration only; the run (../dash/run.ts,
 * with blessed) is loaded when the command runs.
 */
import type { Command } from "commander";

const HELP = `
Shows what the running gate holds, live: connections (route, state, uptime, round-trip time),
tunnels (forward, state, open/total connections, bytes in/out, rate and a sparkline of the last
seconds, last error), copies in progress, and the keys of the agent at $SSH_AUTH_SOCK.

Keys: up/down select a tunnel, a add a tunnel (held by the gate: it outlives the dashboard),
d drop the selected tunnel (asks first), r reconnect it, enter details, ? help, q quit.

When stdin or stdout is not a terminal, or TERM is dumb or unset, it prints plain text instead:
one each --interval seconds when something changed (Ctrl-C stops), or one with --once.
Scripts should prefer 'jumpgate status --json'.

Needs a running gate ('jumpgate gate start').

Examples:
  jumpgate gate start && jumpgate dash     the dashboard
  jumpgate dash -F ~/.ssh/lab_config       tunnels added with 'a' resolve hosts in that file
  jumpgate dash --once                     one plain-text picture, then exit
  jumpgate dash | tee dash.log             plain text every 2 seconds while it changes
`;

export function registerDashCommand(program: Command): void {
  program
    .command("dash")
    .summary("live dashboard of the gate's connections, tunnels, copies and agent keys")
    .option("-F <configfile>", "ssh config used to resolve tunnels added from the dashboard")
    .option("--plain", "plain-text tables even on a terminal")
    .option("--once", "print one plain-text picture and exit")
    .option("--interval <seconds>", "seconds between plain-text pictures (default 2)")
    .option("--ascii", "ASCII only on the terminal (no line or block characters)")
    .helpOption("-h, --help", "show this help")
    .addHelpText("after", HELP)
    .action(
      async (opts: { F?: string; plain?: boolean; once?: boolean; interval?: string; ascii?: boolean }) => {
        const { runDash } = await import("../dash/run.js");
        process.exitCode = await runDash({
          ...(opts.F === undefined ? {} : { configFile: opts.F }),
          ...(opts.plain === undefined ? {} : { plain: opts.plain }),
          ...(opts.once === undefined ? {} : { once: opts.once }),
          ...(opts.interval === undefined ? {} : { interval: opts.interval }),
          ...(opts.ascii === undefined ? {} : { ascii: opts.ascii }),
        });
      },
    );
}
