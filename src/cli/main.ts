/**
 * The CLI's entry point (bin/jumpgate.js calls main()). It sets process.exitCode rather than
 * calling process.exit(). `jumpgate ssh` takes a short path that skips commander: every
 * millisecond of start-up counts against OpenSSH's 10 ms (see bench/RESULTS.md). When a gate runs,
 * that path goes through it and loads only the gate client (bench/gate.mjs). `cp`, `push` and
 * `pull` take a light path too, but only through a running gate: there the ~40 ms of commander and
 * the command registrations are a large share of the command (bench/gate-transfer.mjs); without a
 * gate they go through commander as every other command.
 */
import { isJumpgateError } from "../errors.js";
import type { GateClient } from "../gate/client.js";
import { terminalSafe } from "../util/terminal-text.js";
import type { ParsedCpArgs } from "./commands/cp.js";
import type { ParsedSshArgs } from "./commands/ssh.js";
import type { ParsedTarArgs } from "./tar/args.js";

export async function main(argv: string[]): Promise<void> {
  // `jumpgate config x | head` closes our stdout early: that is the reader's choice, not a failure.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
    throw error;
  });
  const command = argv[2];
  if (command === "ssh") {
    const handled = await runSshDirectly(argv.slice(3));
    if (handled) return;
  }
  if (command === "cp" || command === "push" || command === "pull") {
    const handled = await runTransferThroughGate(command, argv.slice(3));
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
    process.exitCode = reportFailure(error);
  }
  return true;
}

/** Prints a failure as program.ts's reportError does for commander's path; the exit status. */
function reportFailure(error: unknown): number {
  if (!isJumpgateError(error)) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`jumpgate: JG_INTERNAL: unexpected failure, please report it:\n${message}\n`);
    return 1;
  }
  process.stderr.write(`jumpgate: ${error.code}: ${terminalSafe(error.message)}\n`);
  return error.exitCode;
}

export type LightTransfer =
  | { command: "cp"; args: ParsedCpArgs }
  | { command: "push" | "pull"; args: ParsedTarArgs };

/**
 * Whether commander could read these `cp`/`push`/`pull` arguments differently from our own
 * parsers. The commands pass their arguments through (passThroughOptions), so commander reads
 * only the leading ones it knows: its help option (-h, --help, -h clustered as -hr) and a first
 * `--`, which it drops. Any of those, or -h/--help anywhere (cheap caution), goes to commander.
 */
function commanderReads(args: readonly string[]): boolean {
  const first = args[0];
  if (first === "--" || first?.startsWith("-h")) return true;
  return args.some((arg) => arg === "-h" || arg === "--help");
}

/**
 * The parsed command line when `cp`/`push`/`pull` may take the light path: null for help, a
 * usage error (commander's path prints it, exactly as always), -v (the connection's debug output
 * would be the gate's) and JUMPGATE_NO_GATE=1.
 */
export async function lightTransferArgs(
  command: "cp" | "push" | "pull",
  argv: readonly string[],
): Promise<LightTransfer | null> {
  if (process.env.JUMPGATE_NO_GATE === "1" || commanderReads(argv)) return null;
  let light: LightTransfer;
  try {
    if (command === "cp") {
      const { parseCpArgs } = await import("./commands/cp.js");
      light = { command, args: parseCpArgs(argv) };
    } else {
      const { parseTarArgs } = await import("./tar/args.js");
      light = { command, args: parseTarArgs(command, argv) };
    }
  } catch (error) {
    if (isJumpgateError(error)) return null;
    throw error;
  }
  const { transferGateEligible } = await import("./gate/transfer.js");
  return transferGateEligible(light.args.verbosity) ? light : null;
}

/**
 * `cp`/`push`/`pull` through a running gate without commander: false when commander's path
 * should run the command (help, usage errors, not eligible, no gate running). Loads only the
 * argument parser, the gate client and the command's runner (test/e2e/gate-transfer.test.ts
 * checks that commander is never loaded here).
 */
async function runTransferThroughGate(command: "cp" | "push" | "pull", argv: string[]): Promise<boolean> {
  let gate: GateClient | null = null;
  try {
    const light = await lightTransferArgs(command, argv);
    if (light === null) return false;
    const { runningGate } = await import("./gate/transfer.js");
    // An unsafe gate directory is reported by commander's path, in the order it always was.
    gate = await runningGate().catch(() => null);
    if (gate === null) return false;
    if (light.command === "cp") {
      const { runCp } = await import("./cp/run.js");
      process.exitCode = await runCp(light.args, gate);
    } else {
      const { runTar } = await import("./tar/run.js");
      process.exitCode = await runTar(light.args, gate);
    }
  } catch (error) {
    process.exitCode = reportFailure(error);
  } finally {
    // The runners close it when the transfer ends; a failure before that (an operand refused)
    // must not leave the socket holding the process open.
    gate?.close();
  }
  return true;
}
