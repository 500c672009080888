import type { Command } from "commander";

export function registerDemoCommand(program: Command): void {
  program
    .command("demo")
    .summary("show jumpgate on the bundled examples (no SSH server needed)")
    .action(() => {
      process.stdout.write("demo: coming soon\n");
    });
}
