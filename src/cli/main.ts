import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { EXIT, isJumpgateError } from "../errors.js";
import { registerConfigCommand } from "./commands/config.js";
import { registerDemoCommand } from "./commands/demo.js";
import { registerSshCommand } from "./commands/ssh.js";

function packageVersion(): string {
  const pkgUrl = new URL("../../package.json", import.meta.url);
  const pkg = JSON.parse(readFileSync(pkgUrl, "utf8")) as { version: string };
  return pkg.version;
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name("jumpgate")
    .description("SSH toolbox for people who live behind bastions")
    .version(packageVersion(), "-V, --version", "print the version and exit")
    .showHelpAfterError("(run with --help for usage)")
    .addHelpText(
      "after",
      `
Examples:
  jumpgate config -G mcgonagall            resolve ~/.ssh/config as 'ssh -G mcgonagall' does
  jumpgate config --route mcgonagall       show the hops: you -> jaguar -> mcgonagall
  jumpgate demo                            a bastion and an internal host in-process, through jumpgate`,
    );
  program.exitOverride();
  // Subcommands like `ssh` take their own options after the destination (e.g. `ls -h`).
  program.enablePositionalOptions();
  registerSshCommand(program);
  registerConfigCommand(program);
  registerDemoCommand(program);
  return program;
}

/** Entry point used by bin/jumpgate.js; sets process.exitCode instead of calling process.exit(). */
export async function main(argv: string[]): Promise<void> {
  // `jumpgate config x | head` closes our stdout early: that is the reader's choice, not a failure.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
    throw error;
  });
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    process.exitCode = reportError(error);
  }
}

function reportError(error: unknown): number {
  if (error instanceof CommanderError) {
    // commander already printed its message (or the help / version text).
    if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return EXIT.ok;
    if (error.code === "commander.help") return EXIT.ok;
    return EXIT.usage;
  }
  if (isJumpgateError(error)) {
    process.stderr.write(`jumpgate: ${error.code}: ${error.message}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`jumpgate: JG_INTERNAL: unexpected failure, please report it:\n${message}\n`);
  return 1;
}
