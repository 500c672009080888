/**
 * Where the gate's control socket lives, and the checks that make it safe to use: the socket sits
 * in a directory only its owner can enter (0700, owned by us), so no other user can talk to our
 * gate or put a fake one in its place. Light on purpose (node:fs, node:os, node:path): the CLI's
 * fast path calls it.
 */
import { lstatSync, mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { JumpgateError } from "../errors.js";

export const SOCKET_NAME = "gate.sock";
export const LOG_NAME = "gate.log";

/** `$XDG_RUNTIME_DIR/jumpgate` when the session has one (tmpfs, per user), else `~/.jumpgate`. */
export function gateDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime?.startsWith("/")) return join(runtime, "jumpgate");
  return join(homedir(), ".jumpgate");
}

export function socketPath(dir: string): string {
  return join(dir, SOCKET_NAME);
}

function myUid(): number {
  return process.getuid?.() ?? -1;
}

/**
 * Throws JG_GATE_DIR_UNSAFE unless `dir` is a real directory (not a symlink) owned by us with no
 * access for group or others. Returns false when it does not exist.
 */
export function checkGateDir(dir: string): boolean {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw new JumpgateError(
      "JG_GATE_DIR_UNSAFE",
      `Cannot inspect the gate directory ${dir}: ${String(error)}`,
    );
  }
  if (!st.isDirectory()) {
    throw new JumpgateError(
      "JG_GATE_DIR_UNSAFE",
      `${dir} is not a directory (a symlink or a file): remove it so that jumpgate can create its gate directory.`,
    );
  }
  const uid = myUid();
  if (uid >= 0 && st.uid !== uid) {
    throw new JumpgateError(
      "JG_GATE_DIR_UNSAFE",
      `${dir} belongs to uid ${st.uid}, not to you (uid ${uid}): jumpgate will not use a gate socket there. Remove the directory.`,
    );
  }
  if ((st.mode & 0o077) !== 0) {
    throw new JumpgateError(
      "JG_GATE_DIR_UNSAFE",
      `${dir} is accessible to other users (mode ${(st.mode & 0o777).toString(8)}): run 'chmod 700 ${dir}'.`,
    );
  }
  return true;
}

/** Creates the directory 0700 when missing, then checks it (an existing one is never loosened). */
export function ensureGateDir(dir: string): void {
  if (checkGateDir(dir)) return;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new JumpgateError(
      "JG_GATE_DIR_UNSAFE",
      `Cannot create the gate directory ${dir}: ${String(error)}`,
    );
  }
  checkGateDir(dir);
}

/** Whether `path` is a socket we own (a socket of someone else's is never connected to). */
export function socketIsOurs(path: string): boolean {
  try {
    const st = lstatSync(path);
    const uid = myUid();
    return st.isSocket() && (uid < 0 || st.uid === uid);
  } catch {
    return false;
  }
}
