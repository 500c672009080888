/**
 * The gate: one long-lived process that owns a ConnectionManager and lends its connections to
 * every jumpgate command through a Unix socket (docs/gate-protocol.md). Each CLI is one socket;
 * whatever a CLI does (garbage, a wrong version, dying mid-stream) ends only that CLI's streams.
 */
import { linkSync, lstatSync, unlinkSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { type ConfigEnvironment, nodeEnvironment } from "../config/environment.js";
import type { ConnectionEvent } from "../connection/events.js";
import { ConnectionManager } from "../connection/manager.js";
import { PromptError, type Prompter } from "../connection/prompt.js";
import { JumpgateError } from "../errors.js";
import type { Logger } from "../util/log.js";
import { errorFromWire, GateClient } from "./client.js";
import { ensureGateDir, socketPath } from "./paths.js";
import {
  type ControlMessage,
  encodeControl,
  type Frame,
  FrameDecoder,
  PROTOCOL_VERSION,
  ProtocolError,
  type WireError,
} from "./protocol.js";
import { GateSecurity, type RequestContext } from "./security.js";
import { checkSessionArgs, type GateStream, openSession } from "./session.js";
import { checkTransferArgs, GateTransfers, type TransferRow, toWire } from "./transfer.js";
import { GateTunnels, type TunnelRow } from "./tunnels.js";

export interface GateOptions {
  dir: string;
  /** How long an unused connection stays open, in ms (ControlPersist-like). */
  persistMs: number;
  /** Exit after this long with no client, no connection and no tunnel; null: only on `gate stop`. */
  idleExitMs: number | null;
  log: Logger;
  version: string;
  /** How often open connections' round-trip time is measured, in ms. */
  rttIntervalMs?: number;
  /** Unsent bytes above which a subscriber's events are dropped until it reads (default 4 MiB). */
  eventBacklogBytes?: number;
}

export interface ConnectionStatus {
  route: string;
  hops: string[];
  state: string;
  since: number;
  uptimeMs: number;
  rttMs: number | null;
  authMethod: string | null;
  channels: number;
  users: number;
}

export interface GateStatus {
  gate: {
    pid: number;
    version: string;
    protocol: number;
    socket: string;
    startedAt: number;
    uptimeMs: number;
    clients: number;
    persistMs: number;
    idleExitMs: number | null;
  };
  connections: ConnectionStatus[];
  tunnels: TunnelRow[];
  /** cp, push and pull running through the gate (added within version 1: older gates omit it). */
  transfers: TransferRow[];
}

/** A gate already listens on the socket: `gate start` reports it instead of failing. */
export class GateAlreadyRunning extends JumpgateError {
  constructor(
    readonly socket: string,
    readonly pid: number,
  ) {
    super("JG_GATE_START", `A gate is already running (pid ${pid}) at ${socket}.`);
  }
}

function wireError(error: unknown): WireError {
  if (error instanceof JumpgateError) return toWire(error);
  const message = error instanceof Error ? error.message : String(error);
  return { code: "JG_INTERNAL", message: `gate: unexpected failure: ${message}` };
}

/** The client's environment from a request's args, for `~`, `${VAR}` and the agent. */
function envOf(args: unknown): ConfigEnvironment {
  const raw = (args as { env?: unknown } | undefined)?.env;
  const env: Record<string, string> = {};
  if (typeof raw === "object" && raw !== null) {
    for (const [k, v] of Object.entries(raw)) if (typeof v === "string") env[k] = v;
  }
  return nodeEnvironment(env);
}

/** A subscriber's unsent output above which its events are dropped (see ClientConn.event). */
const EVENT_BACKLOG_BYTES = 4 * 1024 * 1024;

/** Stats snapshots go out at most this often, and only when they changed. */
const STATS_INTERVAL_MS = 500;

export class GateServer {
  readonly manager: ConnectionManager;
  readonly security: GateSecurity;
  readonly tunnels: GateTunnels;
  readonly transfers: GateTransfers;
  readonly socket: string;
  private server: Server | null = null;
  private readonly clients = new Set<ClientConn>();
  private readonly startedAt = Date.now();
  private lastActive = Date.now();
  private timers: NodeJS.Timeout[] = [];
  private socketIno: number | null = null;
  private stopping: Promise<void> | null = null;
  private lastStats = "";
  private stopListeners: Array<(reason: string) => void> = [];

  constructor(readonly opts: GateOptions) {
    this.security = new GateSecurity(opts.log);
    this.manager = new ConnectionManager({
      security: this.security,
      log: opts.log,
      idleTimeout: opts.persistMs,
    });
    this.socket = socketPath(opts.dir);
    this.manager.on((event) => this.onManagerEvent(event));
    this.tunnels = new GateTunnels(this.manager, this.security, opts.log);
    this.manager.onTunnel((event) => {
      if (event.kind === "tunnel-state")
        this.opts.log.info(
          `gate: tunnel ${event.id}: ${event.state}${event.reason ? ` (${event.reason})` : ""}`,
        );
      for (const client of this.clients) client.event(event);
    });
    this.transfers = new GateTransfers(this.manager, this.security);
    this.transfers.onNotice((notice) => {
      if (notice.kind === "transfer-end")
        this.opts.log.info(
          `gate: transfer ${notice.id} (${notice.op}): ${notice.state}, ${notice.files} file(s), ${notice.bytes} bytes`,
        );
      for (const client of this.clients) client.event(notice);
    });
  }

  /** Listens on the socket (0600 in a checked 0700 directory); replaces a stale socket. */
  async listen(): Promise<void> {
    ensureGateDir(this.opts.dir);
    // Bound under a private name, then hard-linked into place: link() fails when the name exists,
    // so two gates starting at once cannot both take the socket.
    const temp = `${this.socket}.${process.pid}`;
    try {
      unlinkSync(temp);
    } catch {
      // Not there: the usual case.
    }
    const server = createServer((socket) => this.accept(socket));
    const oldMask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(temp, () => {
          server.off("error", reject);
          resolve();
        });
      });
    } finally {
      process.umask(oldMask);
    }
    try {
      await this.claim(temp);
    } catch (error) {
      server.close();
      throw error;
    } finally {
      try {
        unlinkSync(temp);
      } catch {
        // Already gone.
      }
    }
    this.socketIno = lstatSync(this.socket).ino;
    this.server = server;
    const rtt = setInterval(() => void this.manager.measureRtt(), this.opts.rttIntervalMs ?? 5000);
    const idle = setInterval(() => this.checkIdle(), 1000);
    const stats = setInterval(() => this.publishStats(), STATS_INTERVAL_MS);
    this.timers.push(rtt, idle, stats);
    this.opts.log.info(`gate: listening on ${this.socket} (pid ${process.pid})`);
  }

  private async claim(temp: string): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        linkSync(temp, this.socket);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
          throw new JumpgateError(
            "JG_GATE_START",
            `Cannot create the gate socket ${this.socket}: ${String(error)}`,
          );
        }
      }
      // What is there now, before asking it: only that very socket may be removed below.
      const seen = lstatSync(this.socket, { throwIfNoEntry: false });
      if (seen !== undefined && !seen.isSocket()) {
        throw new JumpgateError(
          "JG_GATE_START",
          `${this.socket} exists and is not a socket; jumpgate does not remove it. Move it away and start the gate again.`,
        );
      }
      const pid = await this.probe();
      if (pid !== null) throw new GateAlreadyRunning(this.socket, pid);
      // Nobody answers: a gate that died without cleaning up. Its socket is ours to replace, but
      // only if it is still the one probed: another gate starting at the same moment may have
      // replaced it with its live socket meanwhile (then our link fails again and we probe that).
      const now = lstatSync(this.socket, { throwIfNoEntry: false });
      if (seen !== undefined && now !== undefined && now.ino === seen.ino && now.dev === seen.dev) {
        this.opts.log.info(`gate: removing the stale socket ${this.socket}`);
        try {
          unlinkSync(this.socket);
        } catch {
          // Someone else removed it first; link again.
        }
      }
    }
    throw new JumpgateError("JG_GATE_START", `Cannot take over ${this.socket}: another gate is starting.`);
  }

  /** The pid of a gate answering on the socket, or null. */
  private async probe(): Promise<number | null> {
    try {
      const { client, hello } = await GateClient.connect(this.socket, { timeoutMs: 2000 });
      client.close();
      return hello.pid;
    } catch (error) {
      // A gate that answers with another protocol version is still a live gate.
      if (error instanceof JumpgateError && error.code === "JG_GATE_VERSION") return -1;
      return null;
    }
  }

  onStop(listener: (reason: string) => void): void {
    this.stopListeners.push(listener);
  }

  stop(reason = "stopped"): Promise<void> {
    this.stopping ??= (async () => {
      this.opts.log.info(`gate: stopping (${reason})`);
      for (const t of this.timers) clearInterval(t);
      this.server?.close();
      for (const client of [...this.clients]) client.drop("the gate is stopping");
      await this.tunnels.closeAll();
      await this.manager.close("the gate stopped");
      // Only our own socket: a newer gate may have replaced a stale one of ours.
      try {
        if (this.socketIno !== null && lstatSync(this.socket).ino === this.socketIno) unlinkSync(this.socket);
      } catch {
        // Already gone.
      }
      for (const listener of this.stopListeners) listener(reason);
    })();
    return this.stopping;
  }

  status(): GateStatus {
    const now = Date.now();
    return {
      gate: {
        pid: process.pid,
        version: this.opts.version,
        protocol: PROTOCOL_VERSION,
        socket: this.socket,
        startedAt: this.startedAt,
        uptimeMs: now - this.startedAt,
        clients: this.clients.size,
        persistMs: this.opts.persistMs,
        idleExitMs: this.opts.idleExitMs,
      },
      connections: this.manager.stats().map((s) => ({
        route: s.route,
        hops: s.hops,
        state: s.state,
        since: s.since,
        uptimeMs: now - s.since,
        rttMs: s.rttMs === null ? null : Math.round(s.rttMs * 1000) / 1000,
        authMethod: s.authMethod,
        channels: s.channels,
        users: s.refs,
      })),
      tunnels: this.tunnels.list(),
      transfers: this.transfers.list(),
    };
  }

  private accept(socket: Socket): void {
    const client = new ClientConn(this, socket);
    this.clients.add(client);
    socket.once("close", () => {
      this.clients.delete(client);
      client.closed();
    });
  }

  private onManagerEvent(event: ConnectionEvent): void {
    if (event.kind === "ready" && !event.reused) {
      this.opts.log.info(`gate: connected: ${event.route}`);
      void this.manager.measureRtt();
    } else if (event.kind === "closed") this.opts.log.info(`gate: closed: ${event.route} (${event.reason})`);
    for (const client of this.clients) client.event(event);
  }

  /** A snapshot to subscribers when anything changed since the last one (never a polling storm). */
  private publishStats(): void {
    const subscribed = [...this.clients].filter((c) => c.subscribed());
    if (subscribed.length === 0) return;
    const { connections, tunnels, transfers } = this.status();
    // Uptime always changes; subscribers have `since` to compute it.
    const comparable = JSON.stringify({
      connections: connections.map((c) => ({ ...c, uptimeMs: 0 })),
      tunnels,
      transfers,
    });
    if (comparable === this.lastStats) return;
    this.lastStats = comparable;
    for (const client of subscribed)
      client.event({ kind: "stats", at: Date.now(), connections, tunnels, transfers });
  }

  /** Forces the next publishStats() to send (a new subscriber wants its first snapshot). */
  statsChanged(): void {
    this.lastStats = "";
  }

  private checkIdle(): void {
    if (this.opts.idleExitMs === null) return;
    // A client that only asks for status is not a use: `gate status` in a loop must not keep it.
    const busy =
      [...this.clients].some((c) => c.busy()) ||
      this.manager.stats().length > 0 ||
      this.tunnels.list().length > 0 ||
      this.transfers.size > 0;
    const now = Date.now();
    if (busy) this.lastActive = now;
    else if (now - this.lastActive >= this.opts.idleExitMs) void this.stop("idle");
  }
}

/** One CLI connected to the gate. */
class ClientConn {
  private readonly decoder = new FrameDecoder();
  private hello = false;
  private readonly streams = new Map<number, GateStream>();
  /** Transfers this client asked for, by request id: its going away aborts them (and only them). */
  private readonly transfers = new Map<number, { abort: AbortController; op: string }>();
  /** The pid the client gave in its hello (for the dashboard's transfers panel). */
  private pid: number | null = null;
  private readonly subscriptions = new Set<number>();
  private readonly prompts = new Map<
    number,
    { resolve(answer: string): void; reject(error: unknown): void }
  >();
  private nextStream = 1;
  private nextPrompt = 1;
  private gone = false;
  private blockedInputs = 0;
  private outputPaused = false;
  private eventsDropped = false;

  constructor(
    private readonly gate: GateServer,
    private readonly socket: Socket,
  ) {
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (error) => gate.opts.log.debug(`gate: client socket error: ${error.message}`));
    socket.on("drain", () => this.resumeOutput());
  }

  private onData(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (error) {
      this.protocolError(error instanceof ProtocolError ? error.message : String(error));
      return;
    }
    for (const frame of frames) {
      if (this.gone) return;
      try {
        this.handle(frame);
      } catch (error) {
        this.protocolError(error instanceof Error ? error.message : String(error));
        return;
      }
    }
  }

  /** Garbage from this client: tell it why, drop it, keep serving the others. */
  private protocolError(message: string): void {
    this.gate.opts.log.info(`gate: dropping a client: ${message}`);
    this.sendControl({
      t: "error",
      error: { code: "JG_GATE_PROTOCOL", message: `gate protocol error: ${message}` },
    });
    this.drop(message);
  }

  drop(reason: string): void {
    if (this.gone) return;
    this.socket.end();
    // end() lets the error message out; a client that does not read gets destroyed soon after.
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.closed(reason);
  }

  /** The socket is gone (or being dropped): every stream of this client ends, nothing else. */
  closed(reason = "the client went away"): void {
    if (this.gone) return;
    this.gone = true;
    for (const stream of this.streams.values()) stream.abort(reason);
    this.streams.clear();
    for (const transfer of this.transfers.values()) transfer.abort.abort(new Error(reason));
    this.transfers.clear();
    const cancelled = new PromptError("cancelled", "The client that was asked went away.");
    for (const p of this.prompts.values()) p.reject(cancelled);
    this.prompts.clear();
    this.subscriptions.clear();
  }

  busy(): boolean {
    return (
      this.streams.size > 0 || this.transfers.size > 0 || this.subscriptions.size > 0 || this.prompts.size > 0
    );
  }

  subscribed(): boolean {
    return this.subscriptions.size > 0;
  }

  event(event: unknown): void {
    if (this.subscriptions.size === 0) return;
    // A subscriber that stops reading (a dashboard suspended with Ctrl-Z) must not make the
    // long-lived gate buffer every event for it: past the backlog its events are dropped, and
    // once it reads again a fresh stats snapshot (the whole picture) brings it up to date.
    if (this.socket.writableLength > (this.gate.opts.eventBacklogBytes ?? EVENT_BACKLOG_BYTES)) {
      this.eventsDropped = true;
      return;
    }
    for (const id of this.subscriptions) this.sendControl({ t: "event", id, event });
  }

  private sendControl(message: ControlMessage): boolean {
    return this.send(encodeControl(message));
  }

  private send(frame: Buffer): boolean {
    if (this.socket.destroyed || !this.socket.writable) return false;
    const ok = this.socket.write(frame);
    if (!ok && !this.outputPaused) {
      this.outputPaused = true;
      for (const s of this.streams.values()) s.pauseOutput();
    }
    return ok;
  }

  private resumeOutput(): void {
    if (this.eventsDropped) {
      this.eventsDropped = false;
      this.gate.statsChanged();
    }
    if (!this.outputPaused) return;
    this.outputPaused = false;
    for (const s of this.streams.values()) s.resumeOutput();
  }

  private handle(frame: Frame): void {
    if (!this.hello) {
      if (frame.type !== "control" || frame.message.t !== "hello")
        throw new Error("the first frame must be a hello");
      const version = frame.message.version;
      if (version !== PROTOCOL_VERSION) {
        this.sendControl({
          t: "error",
          error: {
            code: "JG_GATE_VERSION",
            message: `The gate speaks protocol version ${PROTOCOL_VERSION}, this client ${String(version)}: restart the gate ('jumpgate gate stop; jumpgate gate start') after upgrading jumpgate.`,
          },
        });
        this.gate.opts.log.info(`gate: refused a client speaking protocol version ${String(version)}`);
        this.drop("wrong protocol version");
        return;
      }
      this.hello = true;
      if (typeof frame.message.pid === "number") this.pid = frame.message.pid;
      this.sendControl({
        t: "hello",
        version: PROTOCOL_VERSION,
        pid: process.pid,
        gateVersion: this.gate.opts.version,
      });
      return;
    }
    switch (frame.type) {
      case "control":
        this.control(frame.message);
        return;
      case "data": {
        const stream = this.streams.get(frame.stream);
        if (stream && !stream.input(frame.fd, frame.data)) {
          // The channel is full: stop reading this client until it drains.
          this.blockedInputs++;
          this.socket.pause();
          stream.onInputDrain(() => {
            this.blockedInputs--;
            if (this.blockedInputs === 0 && !this.gone) this.socket.resume();
          });
        }
        return;
      }
      case "eof":
        this.streams.get(frame.stream)?.inputEnd(frame.fd);
        return;
      case "window":
        this.streams.get(frame.stream)?.window(frame.rows, frame.cols);
        return;
      case "close": {
        const stream = this.streams.get(frame.stream);
        this.streams.delete(frame.stream);
        stream?.abort("closed by the client");
        return;
      }
      case "exit":
        throw new Error("EXIT frames go from the gate to clients only");
    }
  }

  private control(m: ControlMessage): void {
    switch (m.t) {
      case "req":
        if (typeof m.id !== "number" || typeof m.op !== "string")
          throw new Error("a request needs a numeric id and an op");
        void this.request(m.id, m.op, m.args);
        return;
      case "answer": {
        const p = this.prompts.get(m.id);
        if (!p) return;
        this.prompts.delete(m.id);
        if (typeof m.answer === "string") p.resolve(m.answer);
        else {
          const reason = (["batch", "unavailable", "cancelled", "interrupted"] as const).find(
            (r) => r === m.refused,
          );
          p.reject(new PromptError(reason ?? "unavailable", m.message ?? "The client could not ask."));
        }
        return;
      }
      default:
        throw new Error(`unexpected control message '${m.t}'`);
    }
  }

  private respond(id: number, result: unknown): void {
    this.sendControl({ t: "res", id, ok: true, ...(result === undefined ? {} : { result }) });
  }

  private async request(id: number, op: string, args: unknown): Promise<void> {
    try {
      switch (op) {
        case "status":
          this.respond(id, this.gate.status());
          return;
        case "stop":
          this.respond(id, { pid: process.pid });
          setImmediate(() => void this.gate.stop("jumpgate gate stop"));
          return;
        case "subscribe":
          this.subscriptions.add(id);
          this.respond(id, this.gate.status());
          this.gate.statsChanged();
          return;
        case "unsubscribe": {
          const target = (args as { id?: unknown } | undefined)?.id;
          if (typeof target === "number") this.subscriptions.delete(target);
          this.respond(id, undefined);
          return;
        }
        case "session":
          await this.session(id, args);
          return;
        case "transfer":
          await this.transfer(id, args);
          return;
        case "transfer.cancel":
          this.cancelTransfer(args);
          this.respond(id, undefined);
          return;
        case "tunnels.add":
          this.respond(id, await this.gate.tunnels.add(args, this.context(id, envOf(args))));
          return;
        case "tunnels.up":
          this.respond(id, await this.gate.tunnels.up(args, this.context(id, envOf(args))));
          return;
        case "tunnels.ls":
          this.respond(id, this.gate.tunnels.list());
          return;
        case "tunnels.rm":
          this.respond(id, await this.gate.tunnels.remove((args as { id?: unknown } | undefined)?.id));
          return;
        case "tunnels.reconnect":
          this.respond(id, await this.gate.tunnels.reconnect((args as { id?: unknown } | undefined)?.id));
          return;
        default:
          throw new JumpgateError("JG_GATE_PROTOCOL", `Unknown gate operation '${op}'.`);
      }
    } catch (error) {
      if (!this.gone) this.sendControl({ t: "res", id, ok: false, error: wireError(error) });
    }
  }

  /** Relays a question to this client for request `req` (the gate has no terminal). */
  private context(req: number, env: ConfigEnvironment): RequestContext {
    const prompter: Prompter = {
      available: () => !this.gone,
      ask: (question, { echo }) =>
        new Promise<string>((resolve, reject) => {
          if (this.gone) {
            reject(new PromptError("unavailable", "The client that asked went away."));
            return;
          }
          const id = this.nextPrompt++;
          this.prompts.set(id, { resolve, reject });
          this.sendControl({ t: "prompt", id, req, question, echo });
        }),
    };
    return {
      prompter,
      warn: (text) => this.sendControl({ t: "message", req, text }),
      env,
    };
  }

  /** cp / push / pull with this gate's connections; progress goes out as events of request `id`. */
  private async transfer(id: number, raw: unknown): Promise<void> {
    const args = checkTransferArgs(raw);
    if (this.transfers.has(id)) throw new JumpgateError("JG_GATE_PROTOCOL", `Request id ${id} is in use.`);
    const abort = new AbortController();
    this.transfers.set(id, { abort, op: args.op });
    try {
      const result = await this.gate.transfers.run(args, {
        context: this.context(id, nodeEnvironment(args.env)),
        signal: abort.signal,
        pid: this.pid,
        send: (event) => {
          this.sendControl({ t: "event", id, event });
        },
      });
      if (!this.gone) this.respond(id, result);
    } finally {
      this.transfers.delete(id);
    }
  }

  /** The CLI's Ctrl-C: abort its transfer `id` with the error it wants reported (tar's wording). */
  private cancelTransfer(raw: unknown): void {
    const v = raw as { id?: unknown; error?: { code?: unknown; message?: unknown } } | undefined;
    if (typeof v?.id !== "number") throw new JumpgateError("JG_GATE_PROTOCOL", "transfer.cancel needs {id}.");
    const transfer = this.transfers.get(v.id);
    if (transfer === undefined) return;
    const e = v.error;
    const reason =
      typeof e?.code === "string" && typeof e.message === "string"
        ? errorFromWire({ code: e.code, message: e.message })
        : new JumpgateError(
            transfer.op === "cp" ? "JG_CP_INTERRUPTED" : "JG_TAR_INTERRUPTED",
            `${transfer.op} interrupted.`,
          );
    transfer.abort.abort(reason);
  }

  private async session(id: number, raw: unknown): Promise<void> {
    const args = checkSessionArgs(raw);
    const streamId = this.nextStream++;
    const context = this.context(id, nodeEnvironment(args.env));
    const opened = await openSession(args, streamId, {
      manager: this.gate.manager,
      security: this.gate.security,
      peer: {
        context,
        message: (text) => this.sendControl({ t: "message", req: id, text }),
        send: (frame) => this.send(frame),
      },
    });
    if (this.gone) {
      opened.stream.abort("the client went away");
      return;
    }
    this.streams.set(streamId, opened.stream);
    this.respond(id, opened.result);
    opened.start();
    if (this.outputPaused) opened.stream.pauseOutput();
    void opened.stream.finished.then(() => this.streams.delete(streamId));
  }
}
