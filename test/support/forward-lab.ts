/**
 * Helpers for the forwarding tests: run a program inside mcgonagall's network namespace (to check
 * a remote forward from mcgonagall's side, or to start a service only mcgonagall can reach), run
 * jumpgate as a long-lived child, and talk to TCP/Unix services and SOCKS proxies.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type BastionLab, labProgram } from "./lab.js";

export const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const bin = join(repo, "bin/jumpgate.js");

/** argv that runs `command args` where mcgonagall's programs run (its netns, or here in loopback mode). */
export function inMcgonagall(lab: BastionLab, command: string, args: string[]): [string, string[]] {
  const ns = lab.namespaces.find((n) => n.endsWith("-mcg"));
  if (lab.mode !== "netns" || ns === undefined) return [command, args];
  return [labProgram("ip"), ["netns", "exec", ns, command, ...args]];
}

export interface Running {
  child: ChildProcess;
  stderr(): string;
  stdout(): string;
  /** Resolves with the exit code (null after a signal). */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `node bin/jumpgate.js args` and keeps its output. */
export function startJumpgate(args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  let out = "";
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return {
    child,
    stderr: () => err,
    stdout: () => out,
    exited,
    async stop(signal = "SIGINT") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | null> | T | null,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export type Endpoint = { host: string; port: number } | { path: string };

function open(to: Endpoint): Socket {
  return "path" in to
    ? connect({ path: to.path, allowHalfOpen: true })
    : connect({ ...to, allowHalfOpen: true });
}

/** Runs a program to completion without blocking the event loop (services in this process must answer). */
export function run(
  command: string,
  args: string[],
  timeoutMs = 20_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** Whether something accepts connections at `to` right now. */
export function accepts(to: Endpoint): Promise<boolean> {
  return new Promise((r) => {
    const s = open(to);
    s.once("connect", () => {
      s.destroy();
      r(true);
    });
    s.once("error", () => r(false));
  });
}

/** Sends `payload`, half-closes, and returns everything read until the peer closes. */
export function exchange(
  to: Endpoint,
  payload: Buffer | string,
  opts: { socket?: Socket; allowReset?: boolean } = {},
): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    const s = opts.socket ?? open(to);
    const chunks: Buffer[] = [];
    s.on("data", (c: Buffer) => chunks.push(c));
    // A connection the far side refused is closed without data: by FIN or, with our bytes unread, RST.
    s.once("error", (e: NodeJS.ErrnoException) => {
      if (!(opts.allowReset && e.code === "ECONNRESET")) reject(e);
    });
    s.once("close", () => resolvePromise(Buffer.concat(chunks)));
    const send = () => s.end(payload);
    // A socket handed over after a handshake may have been paused explicitly.
    s.resume();
    if (opts.socket) send();
    else s.once("connect", send);
  });
}

/** What the lab's reply-after-EOF service answers for `payload`. */
export async function expectedReply(payload: Buffer): Promise<string> {
  const { createHash } = await import("node:crypto");
  return `got ${payload.length} bytes sha256 ${createHash("sha256").update(payload).digest("hex")}\n`;
}

/** Reads exactly n bytes (or rejects on close). */
function readExactly(s: Socket, n: number): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length >= n) {
        s.off("data", onData);
        s.off("close", onClose);
        s.pause();
        if (buf.length > n) s.unshift(buf.subarray(n));
        resolvePromise(buf.subarray(0, n));
      }
    };
    const onClose = () => reject(new Error(`closed after ${buf.length} of ${n} bytes`));
    s.on("data", onData);
    s.once("close", onClose);
    s.resume();
  });
}

/** A SOCKS5 CONNECT by domain name; resolves with the reply code and the socket. */
export async function socks5Connect(
  proxyPort: number,
  host: string,
  port: number,
): Promise<{ code: number; socket: Socket }> {
  const s = connect({ host: "127.0.0.1", port: proxyPort, allowHalfOpen: true });
  await new Promise<void>((r, j) => {
    s.once("connect", () => r());
    s.once("error", j);
  });
  s.write(Buffer.from([5, 1, 0]));
  const method = await readExactly(s, 2);
  if (method[1] !== 0) throw new Error(`SOCKS5 method ${method[1]}`);
  const name = Buffer.from(host, "latin1");
  const req = Buffer.concat([
    Buffer.from([5, 1, 0, 3, name.length]),
    name,
    Buffer.from([port >> 8, port & 255]),
  ]);
  s.write(req);
  const reply = await readExactly(s, 10);
  return { code: reply[1] as number, socket: s };
}

/** A SOCKS4a CONNECT by name; resolves with the reply code (0x5a granted) and the socket. */
export async function socks4aConnect(
  proxyPort: number,
  host: string,
  port: number,
): Promise<{ code: number; socket: Socket }> {
  const s = connect({ host: "127.0.0.1", port: proxyPort, allowHalfOpen: true });
  await new Promise<void>((r, j) => {
    s.once("connect", () => r());
    s.once("error", j);
  });
  s.write(
    Buffer.concat([
      Buffer.from([4, 1, port >> 8, port & 255, 0, 0, 0, 1]),
      Buffer.from("jg\0", "latin1"),
      Buffer.from(`${host}\0`, "latin1"),
    ]),
  );
  const reply = await readExactly(s, 8);
  return { code: reply[1] as number, socket: s };
}

/** A local reply-after-EOF service (same answers as the lab's), on TCP or a Unix socket. */
export async function startReplyService(at: {
  port?: number;
  path?: string;
}): Promise<{ server: Server; port: number }> {
  const { createHash } = await import("node:crypto");
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    const hash = createHash("sha256");
    let bytes = 0;
    socket.on("data", (c: Buffer) => {
      bytes += c.length;
      hash.update(c);
    });
    socket.on("end", () => socket.end(`got ${bytes} bytes sha256 ${hash.digest("hex")}\n`));
    socket.on("error", () => socket.destroy());
  });
  await new Promise<void>((r) => {
    if (at.path !== undefined) server.listen(at.path, () => r());
    else server.listen(at.port ?? 0, "127.0.0.1", () => r());
  });
  const address = server.address();
  return { server, port: typeof address === "object" && address !== null ? address.port : -1 };
}

/** Peak resident set size of a process (VmHWM), in bytes. */
export function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kb) * 1024;
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((r, j) => {
    const s = createServer();
    s.once("error", j);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => r(typeof a === "object" && a !== null ? a.port : 0));
    });
  });
}
