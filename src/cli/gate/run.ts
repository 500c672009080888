/**
 * `jumpgate gate start|stop|status|run`: the gate's life cycle. `start` runs `gate run --notify`
 * as a detached process with its output in gate.log and returns once the socket answers; `run` is
 * the gate itself in the foreground (for systemd, tmux, debugging).
 */
import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { convtime } from "../../config/values.js";
import { JumpgateError } from "../../errors.js";
import { connectIfRunning, type GateClient } from "../../gate/client.js";
import { ensureGateDir, gateDir, LOG_NAME, socketPath } from "../../gate/paths.js";
import type { GateStatus } from "../../gate/server.js";
import { createLogger } from "../../util/log.js";

/** Unused connections stay open this long by default; `--persist` / ControlPersist change it. */
export const DEFAULT_PERSIST_SECONDS = 600;
/** setTimeout's ceiling, used for "forever" (ControlPersist yes). */
const FOREVER_MS = 2 ** 31 - 1;

export interface GateRunOptions {
  persist?: string;
  idleExit?: string;
  notify?: boolean;
}

function seconds(text: string, what: string): number {
  if (text === "forever" || text === "yes") return -1;
  const s = convtime(text);
  if (s < 0)
    throw new JumpgateError(
      "JG_USAGE",
      `Bad ${what} '${text}': use seconds or a time such as 10m, 1h30m, or 'forever'.`,
    );
  return s;
}

function toMs(s: number): number {
  return s < 0 ? FOREVER_MS : Math.min(s * 1000, FOREVER_MS);
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
      version?: string;
    };
    return pkg.version ?? "?";
  } catch {
    return "?";
  }
}

/** The gate in this process, until `gate stop`, a signal, or its idle time. */
export async function runGate(opts: GateRunOptions): Promise<number> {
  const { GateServer } = await import("../../gate/server.js");
  const persist = seconds(opts.persist ?? String(DEFAULT_PERSIST_SECONDS), "--persist");
  const idle = opts.idleExit === undefined ? null : seconds(opts.idleExit, "--idle-exit");
  const stamp = () => new Date().toISOString();
  const log = createLogger("INFO", (line) => process.stderr.write(`${stamp()} ${line}`));
  const dir = gateDir();
  const gate = new GateServer({
    dir,
    persistMs: toMs(persist),
    idleExitMs: idle === null || idle < 0 ? null : toMs(idle),
    log,
    version: packageVersion(),
  });
  try {
    await gate.listen();
  } catch (error) {
    if (opts.notify) {
      const e = error instanceof JumpgateError ? error : new JumpgateError("JG_GATE_START", String(error));
      process.stdout.write(`error ${e.code} ${e.message}\n`);
      return e.exitCode;
    }
    throw error;
  }
  // The gate has no terminal: prompts go to the CLIs. Detach from the working directory.
  process.chdir("/");
  const stopped = new Promise<string>((resolve) => gate.onStop(resolve));
  for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => void gate.stop(signal));
  process.on("SIGHUP", () => {
    // A closed terminal must not take the gate (and every tunnel) with it.
  });
  if (opts.notify) {
    process.stdout.write(`ready ${process.pid} ${gate.socket}\n`);
    process.stdout.end();
  }
  await stopped;
  // Connections' sockets close asynchronously; nothing else should keep the process, but do not wait forever.
  setTimeout(() => process.exit(0), 3000).unref();
  return 0;
}

/** Keeps gate.log from growing without bound: one previous generation is kept. */
function openLog(dir: string): number {
  const path = join(dir, LOG_NAME);
  try {
    if (statSync(path).size > 1024 * 1024) renameSync(path, `${path}.1`);
  } catch {
    // No log yet.
  }
  return openSync(path, "a", 0o600);
}

/**
 * Starts a gate in the background and waits until it listens. Resolves with its pid and socket,
 * or with the running one's when a gate is already there.
 */
export async function startGateDaemon(
  opts: { persist?: string; idleExit?: string } = {},
): Promise<{ pid: number; socket: string; already: boolean }> {
  const running = await connectIfRunning();
  if (running) {
    running.client.close();
    return { pid: running.hello.pid, socket: running.client.path, already: true };
  }
  const dir = gateDir();
  ensureGateDir(dir);
  const bin = fileURLToPath(new URL("../../../bin/jumpgate.js", import.meta.url));
  const args = [bin, "gate", "run", "--notify"];
  if (opts.persist !== undefined) args.push("--persist", opts.persist);
  if (opts.idleExit !== undefined) args.push("--idle-exit", opts.idleExit);
  const logFd = openLog(dir);
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(process.execPath, args, { detached: true, stdio: ["ignore", "pipe", logFd], cwd: "/" });
  } finally {
    closeSync(logFd);
  }
  const line = await new Promise<string>((resolve) => {
    let text = "";
    const timer = setTimeout(() => resolve("error JG_GATE_START no answer within 15s"), 15_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
      if (text.includes("\n")) {
        clearTimeout(timer);
        resolve(text.slice(0, text.indexOf("\n")));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve(
        text.includes("\n")
          ? text.slice(0, text.indexOf("\n"))
          : `error JG_GATE_START exited with status ${code}`,
      );
    });
  });
  child.stdout?.destroy();
  child.unref();
  const ready = /^ready (\d+) (.+)$/.exec(line);
  if (ready) return { pid: Number(ready[1]), socket: ready[2] as string, already: false };
  const failed = /^error (\S+) (.*)$/.exec(line);
  // Lost a race with another starter: theirs is as good as ours.
  const again = await connectIfRunning();
  if (again) {
    again.client.close();
    return { pid: again.hello.pid, socket: again.client.path, already: true };
  }
  const message = failed?.[2] ?? line;
  throw new JumpgateError(
    "JG_GATE_START",
    `The gate did not start: ${message} (see ${join(dir, LOG_NAME)}).`,
  );
}

export async function gateStart(opts: { persist?: string; idleExit?: string }): Promise<number> {
  // Check the values here, so a typo fails in the foreground.
  if (opts.persist !== undefined) seconds(opts.persist, "--persist");
  if (opts.idleExit !== undefined) seconds(opts.idleExit, "--idle-exit");
  const started = await startGateDaemon(opts);
  process.stdout.write(
    started.already
      ? `jumpgate gate: already running (pid ${started.pid}), socket ${started.socket}\n`
      : `jumpgate gate: started (pid ${started.pid}), socket ${started.socket}\n`,
  );
  return 0;
}

async function connectOrFail(): Promise<GateClient> {
  const running = await connectIfRunning();
  if (!running) {
    throw new JumpgateError(
      "JG_GATE_NOT_RUNNING",
      `No gate is running (socket ${socketPath(gateDir())}). Start one with 'jumpgate gate start'.`,
    );
  }
  return running.client;
}

export async function gateStop(): Promise<number> {
  const client = await connectOrFail();
  const closed = new Promise<void>((resolve) => {
    client.onClose = () => resolve();
  });
  const { pid } = await client.request<{ pid: number }>("stop");
  await closed;
  process.stdout.write(`jumpgate gate: stopped (pid ${pid})\n`);
  return 0;
}

export async function gateStatus(json: boolean): Promise<number> {
  const client = await connectOrFail();
  try {
    const status = await client.request<GateStatus>("status");
    if (json) process.stdout.write(`${JSON.stringify(status.gate, null, 2)}\n`);
    else {
      const g = status.gate;
      process.stdout.write(
        [
          `gate: running, pid ${g.pid}, up ${duration(g.uptimeMs)}, protocol ${g.protocol}`,
          `socket: ${g.socket}`,
          `clients: ${g.clients}, connections: ${status.connections.length}, tunnels: ${status.tunnels.length}`,
          `unused connections close after ${g.persistMs >= FOREVER_MS ? "never" : duration(g.persistMs)}; ${g.idleExitMs === null ? "stops only on 'jumpgate gate stop'" : `stops after ${duration(g.idleExitMs)} idle`}`,
          "",
        ].join("\n"),
      );
    }
    return 0;
  } finally {
    client.close();
  }
}

export function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}
