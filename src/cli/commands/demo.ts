/**
 * `jumpgate demo` (what `npm start` runs): thin on purpose. The demo itself is in ../demo/run.ts,
 * loaded only when the command runs, so that `jumpgate --help` never pays for ssh2.
 */
import type { Command } from "commander";

const HELP = `
Starts an embedded lab in this process (no root, no sshd): the bastion jaguar on
127.0.0.1, and mcgonagall, reachable only through jaguar, with a service on its
own 127.0.0.1:12345. Then, with jumpgate's connection manager, it runs hostname
on mcgonagall through jaguar, talks to the localhost-only service, shows the
route and the connection events, tours the bundled config-examples, and keeps
the lab up until Ctrl-C so that you can try it with 'jumpgate ssh' or 'ssh'.
Stopping it deletes the lab's temporary dir, keys included.

On a terminal it then opens the dashboard ('jumpgate dash') on the demo's own
gate, which holds a tunnel through jaguar to that service, with a little
traffic every second; q closes it and stops the lab. In a pipe, with TERM=dumb
or with --text, it prints the narrated tour instead and waits for Ctrl-C.

With --check it walks the same journey without waiting, prints one line per
step ('ok  <step>' or 'FAIL <step>: <reason>'), and exits 0 only if every step
worked.

Examples:
  jumpgate demo              start the lab and walk through it (Ctrl-C stops it)
  jumpgate demo --text       the narrated text tour, even on a terminal
  jumpgate demo --check      self-test: every step ok, exit status 0
`;

export function registerDemoCommand(program: Command): void {
  program
    .command("demo")
    .summary("an embedded bastion and internal host to try jumpgate on (--check: self-test)")
    .description("Start an embedded jaguar -> mcgonagall lab and walk through it")
    .option("--check", "run every step non-interactively, one ok/FAIL line each; exit 0 if all ok")
    .option("--text", "the narrated text tour even on a terminal (no dashboard)")
    .helpOption("-h, --help", "show this help")
    .addHelpText("after", HELP)
    .action(async (options: { check?: boolean; text?: boolean }) => {
      const { runDemoCheck, runDemoTour } = await import("../demo/run.js");
      process.exitCode =
        options.check === true ? await runDemoCheck() : await runDemoTour({ text: options.text === true });
    });
}
