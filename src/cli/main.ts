/**
 * The CLI's entry point (bin/jumpgate.js calls main()). It sets process.exitCode rather than
 * calling process.exit(). `jumpgate ssh` takes a short path that skips commander: every
 * millisecond of start-up counts against OpenSSH's 10 ms (see bench/RESULTS.md). When a gate runs,
 * that path goes through it and loads only the gate client (bench/gate.mjs).
 */
import { isJumpgateError } from "../errors.js";
import type { ParsedSshArgs } from "./commands/ssh.js";

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

/**
 * Whether this `jumpgate ssh` may go through the gate. -G prints config, -W and -N hold a
 * connection for their own process, -v wants this process's debug output: those run directly, as
 * does everything when JUMPGATE_NO_GATE=1.
 */
function gateEligible(parsed: ParsedSshArgs): boolean {
  if (process.env.JUMPGATE_NO_GATE === "1") return false;
  if (parsed.printConfig || parsed.stdioForward !== null || parsed.verbosity > 0) return false;
  // -A asks for agent forwarding on this connection; a shared one was opened with its own setting.
  if (parsed.items.some((item) => item.kind === "forwardAgent" && item.value)) return false;
  // Forwards (-L/-R/-D) and -f belong to this ssh's lifetime: they are set up on a direct
  // connection (the gate keeps its own tunnels: `jumpgate tunnels add`).
  if (parsed.background) return false;
  if (parsed.items.some((item) => item.kind === "local" || item.kind === "remote" || item.kind === "dynamic"))
    return false;
  return !(parsed.noCommand && parsed.command.length === 0);
}

/**
 * Through a running gate (or one started on demand for ControlMaster auto): the exit status, or
 * null when there is no gate and the command should connect directly. Loads only the gate client,
 * the codec and the terminal helpers: this path is what bench/gate.mjs times.
 */
async function runThroughGate(parsed: ParsedSshArgs): Promise<number | null> {
  const { connectIfRunning } = await import("../gate/client.js");
  let gate = await connectIfRunning();
  if (gate === null) {
    const { onDemandGate } = await import("./gate/ondemand.js");
    gate = await onDemandGate(parsed);
    if (gate === null) return null;
  }
  const { runSshThroughGate } = await import("./gate/ssh.js");
  return runSshThroughGate(gate.client, parsed);
}

/** Runs `jumpgate ssh` without loading commander; false when commander should take over (help). */
async function runSshDirectly(args: string[]): Promise<boolean> {
  const { parseSshArgs } = await import("./commands/ssh.js");
  try {
    const parsed = parseSshArgs(args);
    if (parsed.help) return false;
    if (gateEligible(parsed)) {
      const code = await runThroughGate(parsed);
      if (code !== null) {
        process.exitCode = code;
        return true;
      }
    }
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
