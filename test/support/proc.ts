/**
 * Process plumbing for the lab: spawn long-lived children in their own process group, find every
 * descendant (sshd puts each connection in a new session, so a process-group kill alone misses
 * them), kill them synchronously or gracefully, and run short commands with a timeout.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

export interface LabProcess {
  /** Human name used in errors, e.g. "jaguar sshd". */
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  /** Resolves when the direct child has exited (never rejects). */
  readonly exited: Promise<void>;
  hasExited(): boolean;
}

/**
 * Spawns `command` detached (own process group, so `kill(-pid)` reaches its forks) with stdout and
 * stderr appended to `logPath`. Writing to a file rather than a pipe means the child never dies of
 * SIGPIPE or blocks on a full pipe if the test process stops reading.
 */
export function spawnLogged(name: string, command: string, args: string[], logPath: string): LabProcess {
  const fd = openSync(logPath, "a", 0o600);
  let child: ChildProcess;
  try {
    child = spawn(command, args, { detached: true, stdio: ["ignore", fd, fd] });
  } finally {
    closeSync(fd);
  }
  // Unreferenced: a test that forgets stop() must not hang the worker; the exit hook cleans up.
  child.unref();
  let done = false;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => {
      done = true;
      resolve();
    });
    child.once("error", () => {
      done = true;
      resolve();
    });
  });
  if (child.pid === undefined) {
    throw new Error(`could not spawn ${name} (${command})`);
  }
  return { name, pid: child.pid, logPath, exited, hasExited: () => done };
}

/** State letter from /proc/<pid>/stat, or undefined when the process is gone (or no /proc). */
function procState(pid: number): { state: string; ppid: number } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses; fields after the last ")" do not.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { state: fields[0] ?? "?", ppid: Number(fields[1]) };
}

/** True while the process exists and is not a zombie waiting for a reaper. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM means it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  const st = procState(pid);
  // No /proc (macOS): kill(0) succeeding is all we can know.
  return st === undefined ? !existsSync("/proc") : st.state !== "Z";
}

/** All live pids (Linux /proc); empty elsewhere, where the lab only runs in loopback mode. */
export function listPids(): number[] {
  if (!existsSync("/proc")) return [];
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number);
}

/** Every descendant of `roots` (not the roots themselves), found by walking ppid links. */
export function descendantsOf(roots: readonly number[]): number[] {
  const children = new Map<number, number[]>();
  for (const pid of listPids()) {
    const st = procState(pid);
    if (st === undefined) continue;
    const list = children.get(st.ppid) ?? [];
    list.push(pid);
    children.set(st.ppid, list);
  }
  const found: number[] = [];
  const queue = [...roots];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** The NUL-separated argv of a process, joined with spaces ("" when unreadable). */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
  } catch {
    return "";
  }
}

/** Best-effort signal to a pid or (negative) process group; ESRCH is the expected race. */
export function signal(pidOrGroup: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pidOrGroup, sig);
  } catch {
    // Already gone, or never ours.
  }
}

/** Signals each process group leader's group and every listed pid. Synchronous: safe in "exit". */
export function killAllSync(groupLeaders: readonly number[], pids: readonly number[], sig: NodeJS.Signals) {
  for (const leader of groupLeaders) signal(-leader, sig);
  for (const pid of pids) signal(pid, sig);
}

/** Polls until none of `pids` is alive or `timeoutMs` passes; returns the survivors. */
export async function waitForDeath(pids: readonly number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let alive = pids.filter(isAlive);
  while (alive.length > 0 && Date.now() < deadline) {
    await sleep(20);
    alive = alive.filter(isAlive);
  }
  return alive;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  timedOut: boolean;
}

export interface RunOptions {
  input?: string | Buffer;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs a short command to completion and never rejects for a non-zero exit: tests assert on the
 * result. On timeout the whole process group is killed, so an ssh that hangs takes its ProxyJump
 * child with it.
 */
export function runCommand(
  command: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
      env: opts.env ?? process.env,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) signal(-child.pid, "SIGKILL");
    }, opts.timeoutMs ?? 20_000);
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once("close", (code, sig) => {
      clearTimeout(timer);
      resolve({
        code,
        signal: sig,
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err).toString("utf8"),
        timedOut,
      });
    });
    // The child may exit before reading all input (e.g. ssh failing to connect): ignore EPIPE.
    child.stdin.on("error", () => {});
    child.stdin.end(opts.input ?? "");
  });
}
