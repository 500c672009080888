/**
 * `jumpgate dash`: connects to the running gate (failing at once, with the way out, when there is
 * none), then either draws the blessed dashboard or, on a dumb terminal / a pipe, prints plain
 * text. Everything the screen shows comes from the gate's subscription; the agent panel from
 * $SSH_AUTH_SOCK.
 */
import { isAbsolute, resolve } from "node:path";
import { startApp } from "../../dashboard/app.js";
import { gateFeed } from "../../dashboard/gate-feed.js";
import { startPlain } from "../../dashboard/plain.js";
import { JumpgateError } from "../../errors.js";
import { GateClient } from "../../gate/client.js";
import { checkGateDir, gateDir, socketPath } from "../../gate/paths.js";
import { agentSource } from "./agent.js";
import { tunnelOps } from "./ops.js";
import { validateForward } from "./validate.js";

export interface DashOptions {
  configFile?: string;
  plain?: boolean;
  once?: boolean;
  /** Seconds between plain-text pictures. */
  interval?: string;
  ascii?: boolean;
}

/**
 * Plain text when asked, when stdout is not a terminal, or when the terminal cannot draw.
 * `isTTY`: both stdin (keys) and stdout (the screen) are terminals.
 */
export function choosePlain(opts: DashOptions, isTTY: boolean, term: string | undefined): boolean {
  return (
    opts.plain === true ||
    opts.once === true ||
    !isTTY ||
    term === undefined ||
    term === "" ||
    term === "dumb"
  );
}

function intervalMs(text: string | undefined): number {
  if (text === undefined) return 2000;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds < 0.5 || seconds > 3600) {
    throw new JumpgateError("JG_USAGE", `--interval takes seconds between 0.5 and 3600, not '${text}'.`);
  }
  return Math.round(seconds * 1000);
}

function stringEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (typeof v === "string") env[k] = v;
  return env;
}

async function connectGate(path: string): Promise<GateClient> {
  const { client } = await GateClient.connect(path, { timeoutMs: 3000 });
  return client;
}

export async function runDash(opts: DashOptions): Promise<number> {
  const every = intervalMs(opts.interval);
  const dir = gateDir(process.env);
  if (!checkGateDir(dir)) {
    throw new JumpgateError(
      "JG_GATE_NOT_RUNNING",
      `No gate is running (no ${dir}). Start one with 'jumpgate gate start'.`,
    );
  }
  const path = socketPath(dir);
  // Fail now, before the screen is taken, if there is no gate to show.
  const client = await connectGate(path);
  const configFile =
    opts.configFile === undefined || opts.configFile === "none" || isAbsolute(opts.configFile)
      ? opts.configFile
      : resolve(opts.configFile);
  const feed = gateFeed({
    client,
    connect: () => connectGate(path),
    ops: tunnelOps({
      ...(configFile === undefined ? {} : { configFile }),
      cwd: process.cwd(),
      env: stringEnv(),
    }),
  });
  const sources = [agentSource(process.env.SSH_AUTH_SOCK)];

  const terminal = process.stdout.isTTY === true && process.stdin.isTTY === true;
  if (choosePlain(opts, terminal, process.env.TERM)) {
    const run = startPlain({
      feed,
      sources,
      once: opts.once === true,
      intervalMs: every,
      width: Math.max(60, process.stdout.columns ?? 80),
      write: (text) => process.stdout.write(text),
    });
    const stop = () => run.stop();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    try {
      await run.done;
    } catch (error) {
      throw new JumpgateError(
        "JG_GATE_LOST",
        `The gate went away before it sent a snapshot: ${String(error)}`,
      );
    } finally {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    }
    return 0;
  }

  const { createView, utf8Locale } = await import("../../dashboard/view.js");
  const ascii = opts.ascii === true || !utf8Locale(process.env);
  const app = startApp({
    feed,
    deps: { validateForward },
    sources,
    createView: ({ onKey }) => createView({ onKey, ascii }),
  });
  // A terminal closed or a kill: leave the terminal as we found it.
  const quit = () => app.quit();
  for (const signal of ["SIGTERM", "SIGHUP"] as const) process.once(signal, quit);
  try {
    await app.done;
  } finally {
    for (const signal of ["SIGTERM", "SIGHUP"] as const) process.off(signal, quit);
  }
  return 0;
}
