/**
 * A light client for the gate's socket: connect, hello, requests with ids, and the raw frames of
 * streams. No ssh2, no commander, no config: `jumpgate ssh` through a running gate loads only this,
 * the codec and the terminal helpers (see bench/gate.mjs for what that buys).
 */
import { connect, type Socket } from "node:net";
import { ERROR_CODES, type ErrorCode, JumpgateError } from "../errors.js";
import { checkGateDir, gateDir, socketIsOurs, socketPath } from "./paths.js";
import {
  type ControlMessage,
  encodeControl,
  type Frame,
  FrameDecoder,
  PROTOCOL_VERSION,
  type ProtocolError,
  type WireError,
} from "./protocol.js";

export interface GateHello {
  version: number;
  pid: number;
  gateVersion: string;
}

/** A JumpgateError rebuilt from the gate's wire error (unknown codes become JG_INTERNAL). */
export function errorFromWire(error: WireError): JumpgateError {
  const exit = typeof error.exitCode === "number" ? { exitCode: error.exitCode } : {};
  // A code this jumpgate does not know (a newer gate) would have no exit status: keep it visible.
  if (!Object.hasOwn(ERROR_CODES, error.code))
    return new JumpgateError("JG_INTERNAL", `${error.code}: ${error.message}`, exit);
  return new JumpgateError(error.code as ErrorCode, error.message, exit);
}

export class GateClient {
  private readonly decoder = new FrameDecoder();
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
  private readonly eventHandlers = new Map<number, (event: unknown) => void>();
  private closedError: JumpgateError | null = null;
  /** Stream frames (data, eof, exit, window, close) for whoever runs the stream. */
  onStreamFrame: (frame: Exclude<Frame, { type: "control" }>) => void = () => {};
  /** Control messages other than responses and events: prompts and messages. */
  onControl: (message: ControlMessage) => void = () => {};
  /** Called once when the socket closes (after pending requests are rejected). */
  onClose: (error: JumpgateError) => void = () => {};

  private constructor(
    readonly socket: Socket,
    readonly path: string,
  ) {}

  /**
   * Connects and says hello. Rejects with JG_GATE_NOT_RUNNING when no gate listens there, and
   * JG_GATE_VERSION / JG_GATE_PROTOCOL when the gate does not speak our protocol.
   */
  static async connect(
    path: string,
    opts: { timeoutMs?: number } = {},
  ): Promise<{ client: GateClient; hello: GateHello }> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(path);
      const timer = setTimeout(() => {
        s.destroy();
        reject(new JumpgateError("JG_GATE_NOT_RUNNING", `The gate at ${path} does not answer.`));
      }, opts.timeoutMs ?? 5000);
      s.once("connect", () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once("error", (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(
          new JumpgateError(
            "JG_GATE_NOT_RUNNING",
            `No gate is running (${path}: ${error.code ?? error.message}). Start one with 'jumpgate gate start'.`,
          ),
        );
      });
    });
    const client = new GateClient(socket, path);
    client.attach();
    const hello = await new Promise<GateHello>((resolve, reject) => {
      client.helloWaiter = { resolve, reject };
      socket.write(
        encodeControl({ t: "hello", version: PROTOCOL_VERSION, client: "jumpgate", pid: process.pid }),
      );
    });
    return { client, hello };
  }

  private helloWaiter: { resolve(h: GateHello): void; reject(e: unknown): void } | null = null;

  private attach(): void {
    this.socket.on("data", (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = this.decoder.push(chunk);
      } catch (error) {
        this.fail(
          new JumpgateError(
            "JG_GATE_PROTOCOL",
            `The gate sent something that is not the gate protocol: ${(error as ProtocolError).message}`,
          ),
        );
        this.socket.destroy();
        return;
      }
      for (const frame of frames) this.dispatch(frame);
    });
    this.socket.on("error", () => {
      // 'close' follows and reports it.
    });
    this.socket.on("close", () => {
      this.fail(new JumpgateError("JG_GATE_LOST", "The gate closed the connection (was it stopped?)."));
    });
  }

  private fail(error: JumpgateError): void {
    if (this.closedError !== null) return;
    this.closedError = error;
    this.helloWaiter?.reject(error);
    this.helloWaiter = null;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    this.onClose(error);
  }

  private dispatch(frame: Frame): void {
    if (frame.type !== "control") {
      this.onStreamFrame(frame);
      return;
    }
    const m = frame.message;
    switch (m.t) {
      case "hello":
        if (this.helloWaiter) {
          this.helloWaiter.resolve({
            version: m.version,
            pid: m.pid ?? 0,
            gateVersion: m.gateVersion ?? "?",
          });
          this.helloWaiter = null;
        }
        return;
      case "error":
        this.fail(errorFromWire(m.error));
        return;
      case "res": {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.ok) p.resolve(m.result);
        else p.reject(errorFromWire(m.error));
        return;
      }
      case "event":
        this.eventHandlers.get(m.id)?.(m.event);
        return;
      default:
        this.onControl(m);
    }
  }

  /** Sends a request; resolves with its result or rejects with the gate's JumpgateError. */
  request<T = unknown>(
    op: string,
    args?: unknown,
    opts: { onEvent?: (event: unknown) => void; onId?: (id: number) => void } = {},
  ): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    opts.onId?.(id);
    if (opts.onEvent) this.eventHandlers.set(id, opts.onEvent);
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.send(encodeControl({ t: "req", id, op, ...(args === undefined ? {} : { args }) }));
    });
  }

  send(frame: Buffer): boolean {
    if (this.closedError) return false;
    return this.socket.write(frame);
  }

  close(): void {
    this.socket.end();
  }
}

/**
 * Connects to the gate of this user if one runs: null when there is none (no socket, or a stale
 * one). An unsafe directory throws (JG_GATE_DIR_UNSAFE): better loud than talking to a fake gate.
 */
export async function connectIfRunning(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<{ client: GateClient; hello: GateHello } | null> {
  const dir = gateDir(env);
  if (!checkGateDir(dir)) return null;
  const path = socketPath(dir);
  if (!socketIsOurs(path)) return null;
  try {
    return await GateClient.connect(path);
  } catch (error) {
    if (error instanceof JumpgateError && error.code === "JG_GATE_NOT_RUNNING") return null;
    throw error;
  }
}
