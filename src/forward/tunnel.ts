/**
 * Tunnels: one forward (-L, -R or -D) with its listener, its forwarded connections, its stats and
 * its events. This is the API the CLI (`jumpgate ssh -L`, `jumpgate forward`, `~C`) and the gate
 * (long-lived tunnels that outlive the CLI and survive a hop's loss) build on.
 *
 * ```ts
 * const tunnel = new Tunnel({
 *   kind: "local",                       // "local" (-L) | "remote" (-R) | "dynamic" (-D)
 *   spec,                                // a parsed forward (config/forward.ts parseForward())
 *   open: () => lease.session,           // yields the CURRENT SshSession; called again after a loss
 *   listen: { gatewayPorts: false },     // bind rules (GatewayPorts, AddressFamily, StreamLocal*)
 *   reconnect: true,                     // after the session is lost, call open() again (the gate)
 * });
 * tunnel.on((event) => ...);             // TunnelEvent: tunnel-state/-open/-close/-bytes/-error
 * await tunnel.start();                  // binds / requests the forward; throws JG_FORWARD_BIND,
 *                                        // JG_FORWARD_REMOTE (ExitOnForwardFailure decides)
 * tunnel.stats();                        // { id, kind, spec, state, active, total, bytesIn, ... }
 * tunnel.connections();                  // the live forwarded connections (for ~#)
 * tunnel.allocatedPort;                  // -R with port 0: the port the server chose
 * await tunnel.close();                  // listener and every forwarded connection closed
 * ```
 *
 * Design points:
 * - The local listener (-L, -D) belongs to the tunnel, not to a session: when the session is lost
 *   the listener stays bound (state "reconnecting"), so clients keep the port; connections
 *   arriving meanwhile wait for open() and are refused only if it fails.
 * - A remote forward (-R) lives on the server, so after a loss it is requested again on the new
 *   session (same port; for port 0 the server may choose a new one, reported again).
 * - A failure to open the far side (refused, unreachable, administratively prohibited) closes
 *   that one client connection, is recorded in lastError and emitted as tunnel-error; the tunnel
 *   keeps serving.
 * - Without `reconnect`, a lost session leaves the tunnel "failed" (the CLI exits then anyway).
 */
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { TunnelEvent, TunnelEventListener, TunnelState, TunnelStats } from "../connection/events.js";
import type { IncomingHandler, SshSession } from "../connection/session.js";
import { isJumpgateError, JumpgateError } from "../errors.js";
import type { Logger } from "../util/log.js";
import { bindPlan, type Listener, type ListenOptions, listen } from "./local.js";
import { remoteOpenAllowed } from "./permit.js";
import { type ChannelLike, type Pipe, pipeStreams } from "./pipe.js";
import { connectLocal, remoteBindHost } from "./remote.js";
import { socksHandshake } from "./socks.js";
import {
  connectTarget,
  describeListen,
  describeSpec,
  describeTarget,
  type ForwardSpec,
  type Target,
  type TunnelKind,
} from "./spec.js";

export type { TunnelEvent, TunnelEventListener, TunnelState, TunnelStats } from "../connection/events.js";
export type { ForwardSpec, TunnelKind } from "./spec.js";

export interface TunnelOptions {
  /** Stable name in stats and events; default `L1`, `R2`, `D3`... */
  id?: string;
  kind: TunnelKind;
  spec: ForwardSpec;
  /** The session to forward over, now. Called at start, for connections after a loss, on reattach. */
  open(): Promise<SshSession> | SshSession;
  listen?: ListenOptions;
  /** After the session is lost, get a new one from open() right away (the gate). Default false. */
  reconnect?: boolean;
  /** PermitRemoteOpen's entries: where a remote dynamic forward may connect (empty: anywhere). */
  permitRemoteOpen?: readonly string[];
  log?: Logger;
}

/** One forwarded connection, for `~#` and the dashboard's details. */
export interface ForwardedConnection {
  conn: number;
  from: string;
  to: string;
  since: number;
  bytesIn: number;
  bytesOut: number;
}

interface LiveConnection extends ForwardedConnection {
  pipe: Pipe | null;
  /** Tears it down before a pipe exists (waiting for a session or a channel). */
  abort(): void;
}

let nextId = 1;

/** How often, at most, tunnel-bytes is emitted while data moves. */
const BYTES_EVENT_MS = 250;

export class Tunnel {
  readonly id: string;
  readonly kind: TunnelKind;
  readonly spec: ForwardSpec;
  /** -R: the port the server listens on (differs from the spec for port 0); null before start. */
  allocatedPort: number | null = null;

  private state: TunnelState = "listening";
  private lastError: string | null = null;
  private active = 0;
  private total = 0;
  private bytesIn = 0;
  private bytesOut = 0;
  private connSeq = 0;
  private readonly live = new Map<number, LiveConnection>();
  private readonly listeners = new Set<TunnelEventListener>();
  private listener: Listener | null = null;
  private session: SshSession | null = null;
  private opening: Promise<SshSession> | null = null;
  /** -R: what to cancel on the session it was requested on. */
  private remoteBinding: {
    session: SshSession;
    host: string;
    requested: number;
    bound: number;
    path: string | null;
  } | null = null;
  private bytesTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private started = false;

  constructor(private readonly opts: TunnelOptions) {
    this.kind = opts.kind;
    this.spec = opts.spec;
    this.id = opts.id ?? `${opts.kind === "local" ? "L" : opts.kind === "remote" ? "R" : "D"}${nextId++}`;
  }

  /** `-L 1111:localhost:12345` */
  get description(): string {
    return describeSpec(this.kind, this.spec);
  }

  on(listener: TunnelEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stats(): TunnelStats {
    return {
      id: this.id,
      kind: this.kind,
      spec: this.description.slice(3),
      state: this.state,
      active: this.active,
      total: this.total,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      lastError: this.lastError,
      listening: this.listening(),
    };
  }

  connections(): ForwardedConnection[] {
    return [...this.live.values()].map(({ conn, from, to, since, bytesIn, bytesOut }) => ({
      conn,
      from,
      to,
      since,
      bytesIn,
      bytesOut,
    }));
  }

  /**
   * Binds the local listener (-L, -D) or asks the server to listen (-R). Rejects with a
   * JumpgateError (JG_FORWARD_BIND, JG_FORWARD_REMOTE, or the session's own) and leaves the tunnel
   * "failed" and closed; callers apply ExitOnForwardFailure.
   */
  async start(): Promise<void> {
    if (this.started) throw new JumpgateError("JG_INTERNAL", `tunnel ${this.id} started twice.`);
    this.started = true;
    try {
      if (this.kind === "remote") {
        await this.attachRemote(await this.currentSession());
      } else {
        const plan = bindPlan(this.spec, this.opts.listen?.gatewayPorts ?? false);
        this.listener = await listen(
          plan,
          this.spec.listenPort,
          this.opts.listen ?? { gatewayPorts: false },
          (s) => this.accept(s),
        );
        for (const warning of this.listener.warnings) this.opts.log?.error(warning);
      }
      this.setState("listening", null);
    } catch (error) {
      const e = toJumpgateError(error);
      this.lastError = e.message;
      this.emit({ kind: "tunnel-error", id: this.id, conn: null, code: e.code, error: e.message });
      this.setState("failed", e.message);
      await this.close();
      this.state = "failed";
      throw e;
    }
  }

  /**
   * Gets a session from open() again and, for -R, requests the forward on it. The gate calls this
   * for a manual reconnect; with `reconnect` it runs by itself after a loss.
   */
  async reattach(): Promise<void> {
    if (this.closed) return;
    this.setState("reconnecting", this.lastError);
    try {
      const session = await this.currentSession();
      if (this.kind === "remote") await this.attachRemote(session);
      this.setState("listening", null);
    } catch (error) {
      const e = toJumpgateError(error);
      this.lastError = e.message;
      this.emit({ kind: "tunnel-error", id: this.id, conn: null, code: e.code, error: e.message });
      this.setState("failed", e.message);
    }
  }

  /**
   * Stops listening (locally, or on the server for -R) and closes every forwarded connection.
   * With keepConnections (OpenSSH's `~C -KL`), the ones already open carry on until they end.
   */
  async close(opts: { keepConnections?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const listener = this.listener;
    this.listener = null;
    const binding = this.remoteBinding;
    this.remoteBinding = null;
    if (!opts.keepConnections) for (const c of this.live.values()) c.abort();
    await Promise.all([
      listener?.close(),
      binding && !binding.session.closed
        ? binding.path !== null
          ? binding.session.unforwardInStreamLocal(binding.path)
          : binding.session.unforwardIn(binding.host, binding.bound, binding.requested)
        : undefined,
    ]);
    this.flushBytes();
    if (this.state !== "failed") this.setState("closed", null);
    else this.state = "closed";
  }

  private listening(): string[] {
    if (this.listener) return [...this.listener.addresses];
    const b = this.remoteBinding;
    if (b === null) return [];
    if (b.path !== null) return [`remote ${b.path}`];
    const host = b.host === "" ? "*" : b.host;
    return [`remote ${host.includes(":") ? `[${host}]` : host}:${b.bound}`];
  }

  private emit(event: TunnelEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private setState(state: TunnelState, reason: string | null): void {
    if (this.state === state && state !== "failed") return;
    this.state = state;
    this.emit({ kind: "tunnel-state", id: this.id, state, reason });
  }

  /** The session to use now: the last one while it lives, else a new one from open(). */
  private currentSession(): Promise<SshSession> {
    if (this.session && !this.session.closed) return Promise.resolve(this.session);
    this.opening ??= Promise.resolve()
      .then(() => this.opts.open())
      .then((session) => {
        this.session = session;
        session.onClose((reason) => this.onSessionLost(session, reason));
        return session;
      })
      .finally(() => {
        this.opening = null;
      });
    return this.opening;
  }

  private onSessionLost(session: SshSession, reason: string): void {
    if (this.closed || this.session !== session) return;
    this.session = null;
    if (this.remoteBinding?.session === session) this.remoteBinding = null;
    this.lastError = `connection lost: ${reason}`;
    if (this.opts.reconnect) {
      void this.reattach();
    } else {
      this.setState("failed", this.lastError);
    }
  }

  // --- -R ------------------------------------------------------------------------------------

  private async attachRemote(session: SshSession): Promise<void> {
    const spec = this.spec;
    const handler: IncomingHandler = (info, accept, reject) =>
      this.acceptRemote(
        info.kind === "tcp" ? `${info.srcIP}:${info.srcPort}` : "unix socket",
        accept,
        reject,
      );
    if (spec.listenPath !== null) {
      await session.forwardInStreamLocal(spec.listenPath, handler);
      this.remoteBinding = { session, host: "", requested: 0, bound: 0, path: spec.listenPath };
      return;
    }
    const host = remoteBindHost(spec.listenHost);
    const bound = await session.forwardIn(host, spec.listenPort, handler);
    this.allocatedPort = bound;
    this.remoteBinding = { session, host, requested: spec.listenPort, bound, path: null };
  }

  private acceptRemote(from: string, accept: () => ChannelLike, reject: () => void): void {
    if (this.closed) {
      reject();
      return;
    }
    // Remote dynamic (-R port alone): the server's client speaks SOCKS to us; we connect locally.
    if (this.spec.connectHost === "socks" && this.spec.connectPath === null) {
      const channel = accept();
      const conn = this.begin(from, "socks", () => channel.destroy());
      socksHandshake(channel)
        .then((hs) => {
          const to = describeTarget(hs.target);
          this.rename(conn, to);
          const permits = this.opts.permitRemoteOpen ?? [];
          if ("host" in hs.target && !remoteOpenAllowed(permits, hs.target.host, hs.target.port)) {
            // As OpenSSH: the request is denied, the SOCKS client told so, the proxy keeps serving.
            hs.reply(false, "administratively prohibited");
            channel.end();
            this.failConn(
              conn,
              "JG_FORWARD_DENIED",
              `the server's client asked for ${to}, which PermitRemoteOpen (${permits.join(" ")}) does not allow; refused.`,
            );
            return;
          }
          return connectLocal(hs.target).then(
            (socket) => {
              hs.reply(true);
              this.run(conn, socket, channel, hs.head);
            },
            (error: Error) => {
              hs.reply(false, error.message);
              channel.end();
              this.failConn(conn, "JG_CHANNEL_OPEN", `connect to ${to} failed: ${error.message}`);
            },
          );
        })
        .catch((error: unknown) => this.failConn(conn, "JG_FORWARD_SOCKS", toJumpgateError(error).message));
      return;
    }
    const target = connectTarget(this.spec);
    const to = describeTarget(target);
    let aborted = false;
    const conn = this.begin(from, to, () => {
      aborted = true;
    });
    connectLocal(target).then(
      (socket) => {
        if (aborted) {
          socket.destroy();
          reject();
          return;
        }
        this.run(conn, socket, accept());
      },
      (error: Error) => {
        reject();
        this.failConn(conn, "JG_CHANNEL_OPEN", `connect to ${to} failed: ${error.message}`);
      },
    );
  }

  // --- -L and -D -----------------------------------------------------------------------------

  private accept(socket: Socket): void {
    const from = socket.remoteAddress
      ? `${socket.remoteAddress.includes(":") ? `[${socket.remoteAddress}]` : socket.remoteAddress}:${socket.remotePort}`
      : (this.spec.listenPath ?? "unix socket");
    if (this.closed) {
      socket.destroy();
      return;
    }
    socket.on("error", () => {
      // Reported through the pipe once it exists; before that the connection is just dropped.
    });
    if (this.kind === "dynamic") {
      const conn = this.begin(from, "socks", () => socket.destroy());
      socksHandshake(socket).then(
        (hs) => {
          this.rename(conn, describeTarget(hs.target));
          void this.openAndRun(conn, socket, hs.target, hs.head, (ok, why) => hs.reply(ok, why));
        },
        (error: unknown) => this.failConn(conn, "JG_FORWARD_SOCKS", toJumpgateError(error).message),
      );
      return;
    }
    const target = connectTarget(this.spec);
    const conn = this.begin(from, describeTarget(target), () => socket.destroy());
    void this.openAndRun(conn, socket, target, undefined, undefined, {
      address: socket.remoteAddress ?? "127.0.0.1",
      port: socket.remotePort ?? 0,
    });
  }

  private async openAndRun(
    conn: number,
    socket: Socket,
    target: Target,
    head: Buffer | undefined,
    reply: ((ok: boolean, why?: string) => void) | undefined,
    origin?: { address: string; port: number },
  ): Promise<void> {
    let channel: ChannelLike;
    try {
      const session = await this.currentSession();
      channel =
        "path" in target
          ? await session.forwardOutStreamLocal(target.path)
          : await session.forwardOut(target.host, target.port, origin);
    } catch (error) {
      const e = toJumpgateError(error);
      reply?.(false, e.message);
      if (reply) socket.end();
      else socket.destroy();
      this.failConn(conn, e.code, e.message);
      return;
    }
    const live = this.live.get(conn);
    if (live === undefined || socket.destroyed) {
      // Closed (Ctrl-C, cancel) or the client left while the channel was opening.
      channel.destroy();
      if (live) this.finish(conn, "the client closed the connection before the channel opened");
      return;
    }
    reply?.(true);
    this.run(conn, socket, channel, head);
  }

  // --- bookkeeping ---------------------------------------------------------------------------

  private begin(from: string, to: string, abort: () => void): number {
    const conn = ++this.connSeq;
    this.active++;
    this.total++;
    this.live.set(conn, { conn, from, to, since: Date.now(), bytesIn: 0, bytesOut: 0, pipe: null, abort });
    this.emit({ kind: "tunnel-open", id: this.id, conn, from, to });
    return conn;
  }

  private rename(conn: number, to: string): void {
    const live = this.live.get(conn);
    if (live) live.to = to;
  }

  private run(conn: number, local: Duplex, channel: ChannelLike, head?: Buffer): void {
    const live = this.live.get(conn);
    if (live === undefined) {
      local.destroy();
      channel.destroy();
      return;
    }
    const pipe = pipeStreams(
      local,
      channel,
      {
        onBytes: (direction, n) => {
          if (direction === "in") {
            live.bytesIn += n;
            this.bytesIn += n;
          } else {
            live.bytesOut += n;
            this.bytesOut += n;
          }
          this.scheduleBytes();
        },
      },
      head,
    );
    live.pipe = pipe;
    live.abort = () => pipe.destroy("tunnel closed");
    void pipe.done.then((result) => {
      if (result.error !== null && result.error !== "tunnel closed") {
        this.lastError = result.error;
        this.emit({
          kind: "tunnel-error",
          id: this.id,
          conn,
          code: "JG_CONNECTION_LOST",
          error: result.error,
        });
      }
      this.finish(conn, result.error);
    });
  }

  private failConn(conn: number, code: string, message: string): void {
    this.lastError = message;
    this.opts.log?.verbose(`${this.description}: ${message}`);
    this.emit({ kind: "tunnel-error", id: this.id, conn, code, error: message });
    this.finish(conn, message);
  }

  private finish(conn: number, error: string | null): void {
    const live = this.live.get(conn);
    if (live === undefined) return;
    this.live.delete(conn);
    this.active--;
    this.emit({
      kind: "tunnel-close",
      id: this.id,
      conn,
      bytesIn: live.bytesIn,
      bytesOut: live.bytesOut,
      error,
    });
  }

  private scheduleBytes(): void {
    if (this.bytesTimer !== null || this.listeners.size === 0) return;
    this.bytesTimer = setTimeout(() => this.flushBytes(), BYTES_EVENT_MS);
    this.bytesTimer.unref();
  }

  private flushBytes(): void {
    if (this.bytesTimer !== null) clearTimeout(this.bytesTimer);
    this.bytesTimer = null;
    this.emit({ kind: "tunnel-bytes", id: this.id, bytesIn: this.bytesIn, bytesOut: this.bytesOut });
  }
}

function toJumpgateError(error: unknown): JumpgateError {
  if (isJumpgateError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new JumpgateError("JG_CONNECTION_LOST", message, { cause: error });
}

/** `1111`, `127.0.0.1:1111`: what -L/-D listen on, for messages. */
export function listenText(spec: ForwardSpec): string {
  return describeListen(spec);
}
