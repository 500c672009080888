/**
 * `jumpgate doctor`: the runtime and its fast paths (Node, ssh2, ssh2's native crypto binding and
 * which ciphers use it, OpenSSH). Registration only; the checks are in ../doctor/run.ts.
 */
import type { Command } from "commander";

const HELP = `
Exit status: 0 when nothing needs fixing, 1 otherwise (e.g. ssh2's native crypto binding is
missing, which makes chacha20-poly1305 tunnels several times slower).

Examples:
  jumpgate doctor            what jumpgate runs on, one line each
  jumpgate doctor --json     the same as JSON, for scripts and bug reports
`;

export function registerDoctorCommand(program: Command): void {
  program
    .command("doctor")
    .summary("check the runtime: Node, ssh2, its native crypto binding, OpenSSH")
    .option("--json", "print the report as JSON")
    .addHelpText("after", HELP)
    .action(async (opts: { json?: boolean }) => {
      const { runDoctor } = await import("../doctor/run.js");
      process.exitCode = runDoctor({ json: opts.json === true });
    });
}
