/**
 * The CLI's entry point (bin/jumpgate.js calls main()). It sets process.exitCode rather than
 * calling process.exit(). `jumpgate ssh` takes a short path that skips commander: every
 * millisecond of start-up counts against OpenSSH's 10 ms (see bench/RESULTS.md).
 */
import { isJumpgateError } from "../errors.js";

export async function main(argv: string[]): Promise<void> {
  // `jumpgate config x | head` closes our stdout early: that is the reader's choice, not a failure.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
    throw error;
  });
  if (argv[2] === "ssh") {
    const handled = await runSshDirectly(argv.slice(3));
    if (handled) return;
  }
  const { runProgram } = await import("./program.js");
  await runProgram(argv);
}

/** Runs `jumpgate ssh` without loading commander; false when commander should take over (help). */
async function runSshDirectly(args: string[]): Promise<boolean> {
  const { parseSshArgs } = await import("./commands/ssh.js");
  try {
    const parsed = parseSshArgs(args);
    if (parsed.help) return false;
    const { runSsh } = await import("./ssh/main.js");
    process.exitCode = await runSsh(parsed);
  } catch (error) {
    if (!isJumpgateError(error)) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      process.stderr.write(`jumpgate: JG_INTERNAL: unexpected failure, please report it:\n${message}\n`);
      process.exitCode = 1;
      return true;
    }
    process.stderr.write(`jumpgate: ${error.code}: ${error.message}\n`);
    process.exitCode = error.exitCode;
  }
  return true;
}
