/**
 * The local terminal during an interactive session: raw mode on, and always back off again — on
 * normal exit, on errors, and on signals — so a crash never leaves the user's shell unusable.
 */
import type { ReadStream } from "node:tty";

/** In raw mode Ctrl-C is a byte for the remote side; these still come from outside (kill, hangup). */
const FATAL_SIGNALS: readonly NodeJS.Signals[] = ["SIGTERM", "SIGHUP", "SIGQUIT"];

export interface TerminalGuard {
  restore(): void;
}

export function enterRawMode(stdin: NodeJS.ReadStream = process.stdin): TerminalGuard {
  const tty = stdin as ReadStream;
  if (!tty.isTTY || typeof tty.setRawMode !== "function") return { restore: () => {} };
  const wasRaw = tty.isRaw;
  tty.setRawMode(true);
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    try {
      tty.setRawMode(wasRaw);
    } catch {
      // The terminal is already gone (hangup): nothing left to restore.
    }
    process.off("exit", restore);
    for (const signal of FATAL_SIGNALS) process.off(signal, onSignal);
  };
  // A signal that would kill us must not leave the terminal raw: restore, then die of it.
  const onSignal = (signal: NodeJS.Signals) => {
    restore();
    process.kill(process.pid, signal);
  };
  // 'exit' runs for process.exit() and uncaught exceptions; the signals need their own handlers.
  process.on("exit", restore);
  for (const signal of FATAL_SIGNALS) process.once(signal, onSignal);
  return { restore };
}

/** Window size for the pty request and for resizes (OpenSSH sends 0 for the pixel sizes). */
export function windowSize(stdout: NodeJS.WriteStream = process.stdout): { rows: number; cols: number } {
  return { rows: stdout.rows || 24, cols: stdout.columns || 80 };
}
