/**
 * The local terminal during an interactive session: raw mode on, and always back off again — on
 * normal exit, on errors, and on signals — so a crash never leaves the user's shell unusable.
 */
import type { ReadStream } from "node:tty";

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
  };
  // 'exit' runs for process.exit(), uncaught exceptions and signal handlers that exit.
  process.on("exit", restore);
  return { restore };
}

/** Window size for the pty request and for resizes (OpenSSH sends 0 for the pixel sizes). */
export function windowSize(stdout: NodeJS.WriteStream = process.stdout): { rows: number; cols: number } {
  return { rows: stdout.rows || 24, cols: stdout.columns || 80 };
}
