/**
 * The connection manager: one SSH connection per route (user@host:port and the hops before it),
 * shared by every command, tunnel and copy that needs it. Hops are connections too: two
 * destinations behind jaguar share one jaguar connection. Leases are reference counted; what
 * nobody uses closes after an idle time; a hop's loss closes everything built on it, with a reason.
 */
import type { ResolvedHop } from "../config/resolve.js";
import { JumpgateError } from "../errors.js";
import type { Logger } from "../util/log.js";
import { ssh2Algorithms } from "./algorithms.js";
import { dialJump, dialProxyCommand, dialTcp } from "./dial.js";
import type {
  ConnectionEvent,
  ConnectionEventListener,
  ConnectionStats,
  TransportKind,
  TunnelEvent,
  TunnelEventListener,
} from "./events.js";
import { preferredHostKeyAlgorithms } from "./hostkey.js";
import { type AuthHandler, type HostKey, SshSession } from "./session.js";

/** How one hop proves who it is and who we are; injected so policies stay in their own modules. */
export interface HopSecurity {
  /**
   * Throws a JumpgateError to refuse the key; resolves with whether the key was newly recorded.
   * `address` is the peer's numeric address for direct TCP (absent through a proxy or a jump).
   */
  verifyHostKey(
    hop: ResolvedHop,
    key: HostKey,
    address?: string,
  ): Promise<{ recorded: boolean; fingerprint: string; keyType: string }>;
  auth(hop: ResolvedHop): HopAuth;
}

export interface HopAuth {
  handler: AuthHandler;
  /** The error for an authentication that failed for good. */
  failure(): JumpgateError;
  /** "ignore": a key could not be used, ssh2 carries on; "failed": nothing left; "other": not auth. */
  classifyError(error: unknown): "ignore" | "failed" | "other";
  /** The method that succeeded, once authenticated. */
  method(): string | null;
}

export interface ManagerOptions {
  security: HopSecurity;
  log: Logger;
  /** How long an unused connection stays open, in ms (ControlPersist-like). 0 closes at once. */
  idleTimeout?: number;
  /** Request agent forwarding on sessions of the destination hop. */
  forwardAgent?: boolean;
}

export interface Lease {
  readonly session: SshSession;
  readonly route: string;
  /** Whether this lease reused a live connection (no new handshake). */
  readonly reused: boolean;
  release(): void;
}

/** What the pool knows about one connection while it is being opened and afterwards. */
interface EntryState {
  key: string;
  hopName: string;
  hops: string[];
  parent: Entry | null;
  session: SshSession | null;
  refs: number;
  idleTimer: NodeJS.Timeout | null;
  since: number;
  authMethod: string | null;
  /** Round trip of the last keepalive request (measureRtt()), in ms. */
  rttMs: number | null;
}

interface Entry extends EntryState {
  /** Settles once the connection is ready (or failed); shared by concurrent acquirers. */
  promise: Promise<SshSession>;
}

/** The identity of a hop in a route key: who, where, and how it is reached. */
function hopKey(h: ResolvedHop): string {
  const host = h.hop.hostname.includes(":") ? `[${h.hop.hostname}]` : h.hop.hostname;
  const via = h.hop.transport === "proxycommand" ? `{${h.hop.proxyCommand}}` : "";
  return `${via}${h.hop.user}@${host}:${h.hop.port}`;
}

export function routeKey(hops: readonly ResolvedHop[]): string {
  return hops.map(hopKey).join(" -> ");
}

/**
 * The round trip of one keepalive@openssh.com global request, the one ServerAliveInterval sends
 * (servers always reply, usually with a failure). ssh2 has no public call for a global request
 * with a reply; its own keepalive does exactly this: queue a callback for the next global-request
 * reply (replies arrive in order) and send the request. Null on timeout or a closed connection.
 */
export function keepaliveRoundTrip(session: SshSession, timeoutMs = 10_000): Promise<number | null> {
  const internals = session.client as unknown as {
    _callbacks?: Array<(failed?: unknown) => void>;
    _protocol?: { ping(): void };
  };
  const callbacks = internals._callbacks;
  const protocol = internals._protocol;
  if (session.closed || !Array.isArray(callbacks) || typeof protocol?.ping !== "function") {
    return Promise.resolve(null);
  }
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    let settled = false;
    const settle = (value: number | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(value);
    };
    const timer = setTimeout(() => settle(null), timeoutMs);
    timer.unref();
    callbacks.push(() => settle(Number(process.hrtime.bigint() - start) / 1e6));
    try {
      protocol.ping();
    } catch {
      settle(null);
    }
  });
}

export class ConnectionManager {
  private readonly pool = new Map<string, Entry>();
  private readonly listeners = new Set<ConnectionEventListener>();
  private readonly tunnelListeners = new Set<TunnelEventListener>();
  private readonly idleTimeout: number;

  constructor(private readonly opts: ManagerOptions) {
    this.idleTimeout = opts.idleTimeout ?? 0;
  }

  on(listener: ConnectionEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: ConnectionEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  /** Tunnels (src/forward) report through the manager, so one subscription sees everything. */
  onTunnel(listener: TunnelEventListener): () => void {
    this.tunnelListeners.add(listener);
    return () => this.tunnelListeners.delete(listener);
  }

  publishTunnel(event: TunnelEvent): void {
    for (const listener of this.tunnelListeners) listener(event);
  }

  /** A connection to the last hop of `hops`, opening (or reusing) every hop before it. */
  async acquire(hops: readonly ResolvedHop[]): Promise<Lease> {
    if (hops.length === 0) throw new JumpgateError("JG_INTERNAL", "acquire() needs at least one hop.");
    const existing = this.pool.get(routeKey(hops));
    const reused = existing?.session !== null && existing?.session !== undefined && !existing.session.closed;
    const entry = await this.ensure(hops, hops.length - 1);
    const session = await entry.promise;
    this.retain(entry);
    if (reused) this.emit({ kind: "ready", route: entry.key, hop: entry.hopName, reused: true });
    let released = false;
    return {
      session,
      route: entry.key,
      reused,
      release: () => {
        if (released) return;
        released = true;
        this.releaseEntry(entry);
      },
    };
  }

  stats(): ConnectionStats[] {
    return [...this.pool.values()].map((e) => ({
      route: e.key,
      hops: e.hops,
      state: e.session === null ? "connecting" : e.session.closed ? "closed" : "ready",
      since: e.since,
      refs: e.refs,
      channels: e.session?.channels ?? 0,
      authMethod: e.authMethod,
      rttMs: e.rttMs,
    }));
  }

  /** Measures every open connection's round-trip time (one keepalive request each), for stats(). */
  async measureRtt(): Promise<void> {
    await Promise.all(
      [...this.pool.values()].map(async (e) => {
        if (e.session === null || e.session.closed) return;
        const rtt = await keepaliveRoundTrip(e.session);
        if (rtt !== null) e.rttMs = rtt;
      }),
    );
  }

  /** Closes every connection (children first so their hops are not reported lost). */
  async close(reason = "closed by jumpgate"): Promise<void> {
    const entries = [...this.pool.values()].sort((a, b) => b.hops.length - a.hops.length);
    for (const entry of entries) {
      const session = entry.session ?? (await entry.promise.catch(() => null));
      session?.close(reason);
    }
  }

  private retain(entry: EntryState): void {
    entry.refs++;
    if (entry.idleTimer) {
      clearTimeout(entry.idleTimer);
      entry.idleTimer = null;
    }
  }

  private releaseEntry(entry: EntryState): void {
    entry.refs = Math.max(0, entry.refs - 1);
    if (entry.refs > 0 || entry.session === null) return;
    const session = entry.session;
    if (this.idleTimeout <= 0) {
      session.close("idle");
      return;
    }
    entry.idleTimer = setTimeout(() => session.close("idle"), this.idleTimeout);
    entry.idleTimer.unref();
  }

  private ensure(hops: readonly ResolvedHop[], index: number): Promise<Entry> {
    const prefix = hops.slice(0, index + 1);
    const key = routeKey(prefix);
    const found = this.pool.get(key);
    if (found && !found.session?.closed) return found.promise.then(() => found);
    const hop = hops[index] as ResolvedHop;
    const state: EntryState = {
      key,
      hopName: hop.hop.name,
      hops: prefix.map((h) => h.hop.name),
      parent: null,
      session: null,
      refs: 0,
      idleTimer: null,
      since: Date.now(),
      authMethod: null,
      rttMs: null,
    };
    // The entry is the state object itself, so what open() records is what the pool sees.
    const entry: Entry = Object.assign(state, { promise: this.open(state, hops, index) });
    this.pool.set(key, entry);
    entry.promise.catch(() => {
      if (this.pool.get(key) === entry) this.pool.delete(key);
    });
    return entry.promise.then(() => entry);
  }

  private async open(entry: EntryState, hops: readonly ResolvedHop[], index: number): Promise<SshSession> {
    const hop = hops[index] as ResolvedHop;
    const o = hop.resolved.options;
    const log = this.opts.log;
    let parent: Entry | null = null;
    if (index > 0) {
      parent = await this.ensure(hops, index - 1);
      // A hop stays open while something is built on it.
      this.retain(parent);
      entry.parent = parent;
    }
    try {
      const transport: TransportKind =
        index > 0 ? "jump" : hop.hop.transport === "proxycommand" ? "proxycommand" : "tcp";
      const address = `${hop.hop.hostname}:${hop.hop.port}`;
      this.emit({ kind: "connecting", route: entry.key, hop: hop.hop.name, transport, address });
      log.debug(`Connecting to ${hop.hop.name} (${address}) via ${transport}.`);
      const algorithms = ssh2Algorithms(o);
      // Offer the host key types known_hosts already holds first, as ssh does, so that a host
      // known by its RSA key is not reported "changed" because ssh2 preferred ED25519.
      algorithms.serverHostKey = preferredHostKeyAlgorithms({
        options: o,
        hostname: hop.hop.hostname,
        port: hop.hop.port,
        algorithms: algorithms.serverHostKey,
      });
      const sock = await this.dial(hop, transport, parent);
      const peerAddress =
        "remoteAddress" in sock && typeof sock.remoteAddress === "string" ? sock.remoteAddress : undefined;
      const auth = this.opts.security.auth(hop);
      const isDestination = index === hops.length - 1;
      let fingerprint = "";
      let keyType = "";
      let recorded = false;
      const session = await SshSession.open({
        sock,
        username: hop.hop.user,
        hopName: hop.hop.name,
        algorithms,
        keepaliveInterval: o.serverAliveInterval,
        keepaliveCountMax: o.serverAliveCountMax,
        // RekeyLimit: bytes (0 = default budget) and seconds (0 = none).
        rekey: {
          bytes: Number(o.rekeyLimit > 0n ? o.rekeyLimit : 0n),
          seconds: Math.max(o.rekeyInterval, 0),
        },
        readyTimeout: o.connectionTimeout,
        verifyHostKey: async (key) => {
          const verdict = await this.opts.security.verifyHostKey(hop, key, peerAddress);
          fingerprint = verdict.fingerprint;
          keyType = verdict.keyType;
          recorded = verdict.recorded;
        },
        auth,
        ...this.agentForwarding(hop, isDestination),
        log,
      });
      entry.session = session;
      entry.authMethod = auth.method();
      this.emit({ kind: "hostkey", route: entry.key, hop: hop.hop.name, keyType, fingerprint, recorded });
      this.emit({
        kind: "authenticated",
        route: entry.key,
        hop: hop.hop.name,
        method: entry.authMethod ?? "unknown",
      });
      this.emit({ kind: "ready", route: entry.key, hop: hop.hop.name, reused: false });
      log.debug(`Authenticated to ${hop.hop.name} using "${entry.authMethod ?? "unknown"}".`);
      session.onClose((reason) => this.onClosed(entry, reason));
      return session;
    } catch (error) {
      if (parent) this.releaseEntry(parent);
      throw error;
    }
  }

  /** -A / ForwardAgent: the destination (only) gets $SSH_AUTH_SOCK, or ForwardAgent's socket path. */
  private agentForwarding(
    hop: ResolvedHop,
    isDestination: boolean,
  ): { agent?: string; agentForward: boolean } {
    const o = hop.resolved.options;
    const wanted = isDestination && (this.opts.forwardAgent ?? o.forwardAgent === 1);
    const socket = o.forwardAgentSockPath ?? process.env.SSH_AUTH_SOCK;
    if (!wanted || !socket) return { agentForward: false };
    return { agent: socket, agentForward: true };
  }

  private async dial(hop: ResolvedHop, transport: TransportKind, parent: Entry | null) {
    const o = hop.resolved.options;
    if (transport === "jump") {
      const through = parent?.session;
      if (!through) throw new JumpgateError("JG_INTERNAL", "jump hop without a parent connection.");
      return dialJump(
        through,
        hop.hop.hostname,
        hop.hop.port,
        hop.hop.name,
        parent?.hopName ?? "the previous hop",
      );
    }
    if (transport === "proxycommand") {
      const { stream } = await dialProxyCommand({
        command: hop.hop.proxyCommand ?? "",
        host: hop.hop.hostname,
        hostArg: o.hostArg ?? hop.hop.name,
        port: hop.hop.port,
        user: hop.hop.user,
        hostKeyAlias: o.hostKeyAlias,
        hopName: hop.hop.name,
        log: this.opts.log,
      });
      return stream;
    }
    return dialTcp({
      host: hop.hop.hostname,
      port: hop.hop.port,
      connectTimeout: o.connectionTimeout,
      attempts: o.connectionAttempts,
      addressFamily: o.addressFamily,
      log: this.opts.log,
      hopName: hop.hop.name,
    });
  }

  private onClosed(entry: EntryState, reason: string): void {
    if (entry.idleTimer) clearTimeout(entry.idleTimer);
    if (this.pool.get(entry.key) === entry) this.pool.delete(entry.key);
    this.emit({ kind: "closed", route: entry.key, hop: entry.hopName, reason });
    this.opts.log.debug(`Connection to ${entry.hopName} closed: ${reason}.`);
    // Everything built on this hop goes with it, and says why.
    for (const child of [...this.pool.values()]) {
      if (child.parent === entry) child.session?.close(`hop ${entry.hopName} was lost: ${reason}`);
    }
    if (entry.parent) this.releaseEntry(entry.parent);
  }
}
