/**
 * The dashboard's feed from a running gate (docs/gate-protocol.md): one "subscribe" request, whose
 * answer is the gate's status and whose events are the manager's typed events plus `stats`
 * snapshots (sent by the gate at most twice a second, and only when something changed). Tunnel
 * actions are requests on the same connection. When the gate goes away the feed says so and
 * tries again every couple of seconds; nothing here polls a live gate.
 *
 * Everything that arrives is checked field by field before the model sees it: a gate one version
 * apart, or a broken one, must not crash the dashboard.
 */
import type { GateClient } from "../gate/client.js";
import type { AddTunnelRequest, DashFeed } from "./feed.js";
import type {
  ConnectionInfo,
  DashInput,
  DashSnapshot,
  GateEvent,
  TransferInfo,
  TunnelInfo,
} from "./types.js";

/** How the gate's tunnel operations are called (names and arguments as the gate expects them). */
export interface TunnelOps {
  add(client: GateClient, request: AddTunnelRequest): Promise<unknown>;
  remove(client: GateClient, id: string): Promise<unknown>;
  reconnect(client: GateClient, id: string): Promise<unknown>;
}

export interface GateFeedOptions {
  /** Connects (and says hello); rejects with a JumpgateError when no gate answers. */
  connect(): Promise<GateClient>;
  /** An already connected client to start with (the CLI connected first to fail early). */
  client?: GateClient;
  ops: TunnelOps;
  now?: () => number;
  /** Between two attempts to reach a lost gate (default 2000 ms). */
  retryMs?: number;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown, fallback: string): string => (typeof v === "string" ? v : fallback);
const num = (v: unknown, fallback = 0): number =>
  typeof v === "number" && Number.isFinite(v) ? v : fallback;
const strOrNull = (v: unknown): string | null => (typeof v === "string" ? v : null);
const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];

function connectionOf(v: unknown): ConnectionInfo | null {
  if (!isObject(v) || typeof v.route !== "string") return null;
  const state =
    v.state === "ready" || v.state === "connecting" || v.state === "closed" ? v.state : "connecting";
  return {
    route: v.route,
    hops: strings(v.hops),
    state,
    since: num(v.since),
    refs: num(v.users, num(v.refs)),
    channels: num(v.channels),
    authMethod: strOrNull(v.authMethod),
    rttMs: typeof v.rttMs === "number" ? v.rttMs : null,
  };
}

function tunnelOf(v: unknown): TunnelInfo | null {
  if (!isObject(v) || (typeof v.id !== "string" && typeof v.id !== "number")) return null;
  const kind = v.kind === "local" || v.kind === "remote" || v.kind === "dynamic" ? v.kind : "local";
  const info: TunnelInfo = {
    id: String(v.id),
    kind,
    spec: str(v.spec, "?"),
    state: str(v.state, "?"),
    active: num(v.active),
    total: num(v.total),
    bytesIn: num(v.bytesIn),
    bytesOut: num(v.bytesOut),
    lastError: strOrNull(v.lastError),
  };
  if (Array.isArray(v.listening)) info.listening = strings(v.listening);
  if (typeof v.destination === "string") info.destination = v.destination;
  if (Array.isArray(v.hops)) info.hops = strings(v.hops);
  else if (typeof v.route === "string" && info.destination !== undefined) {
    // A route key (`user@host:port -> ...`) is not a list of names; the destination is.
    info.hops = [info.destination];
  }
  return info;
}

function transferOf(v: unknown): TransferInfo | null {
  if (!isObject(v) || (typeof v.id !== "string" && typeof v.id !== "number")) return null;
  return {
    id: String(v.id),
    label: str(v.label, str(v.op, "transfer")),
    bytesDone: num(v.bytesDone, num(v.bytes)),
    bytesTotal:
      typeof v.bytesTotal === "number"
        ? v.bytesTotal
        : typeof v.totalBytes === "number"
          ? v.totalBytes
          : null,
    filesDone: num(v.filesDone, num(v.files)),
    filesTotal:
      typeof v.filesTotal === "number"
        ? v.filesTotal
        : typeof v.totalFiles === "number"
          ? v.totalFiles
          : null,
  };
}

function listOf<T>(v: unknown, of: (x: unknown) => T | null): T[] {
  return Array.isArray(v) ? v.map(of).filter((x): x is T => x !== null) : [];
}

/** A gate status or `stats` event as a snapshot; null when it is not one. */
export function snapshotOf(v: unknown, fallbackAt: number): DashSnapshot | null {
  if (!isObject(v) || !Array.isArray(v.connections)) return null;
  return {
    at: num(v.at, fallbackAt),
    connections: listOf(v.connections, connectionOf),
    tunnels: listOf(v.tunnels, tunnelOf),
    transfers: listOf(v.transfers, transferOf),
  };
}

/** A subscription event as the model's input. */
export function inputOf(event: unknown, now: number): DashInput | null {
  if (!isObject(event) || typeof event.kind !== "string") return null;
  if (event.kind === "stats") {
    const snapshot = snapshotOf(event, now);
    return snapshot === null ? null : { type: "snapshot", snapshot };
  }
  return { type: "event", at: num(event.at, now), event: event as GateEvent };
}

function messageOf(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

export function gateFeed(opts: GateFeedOptions): DashFeed {
  const now = opts.now ?? Date.now;
  let client: GateClient | null = opts.client ?? null;
  let dispatch: (input: DashInput) => void = () => {};
  let stopped = false;
  let retry: NodeJS.Timeout | null = null;

  const lost = (error: unknown): void => {
    if (stopped) return;
    client = null;
    dispatch({ type: "feed", state: "lost", at: now(), error: messageOf(error) });
    retry ??= setTimeout(() => {
      retry = null;
      void attach();
    }, opts.retryMs ?? 2000);
  };

  const subscribe = (c: GateClient): void => {
    c.onClose = (error) => lost(error);
    c.request("subscribe", undefined, {
      onEvent: (event) => {
        if (stopped) return;
        const input = inputOf(event, now());
        if (input !== null) dispatch(input);
      },
    }).then(
      (status) => {
        if (stopped) return;
        dispatch({ type: "feed", state: "live", at: now(), where: c.path });
        const snapshot = snapshotOf(status, now());
        if (snapshot !== null) dispatch({ type: "snapshot", snapshot });
      },
      (error: unknown) => lost(error),
    );
  };

  const attach = async (): Promise<void> => {
    if (stopped) return;
    try {
      const c = await opts.connect();
      if (stopped) {
        c.close();
        return;
      }
      client = c;
      subscribe(c);
    } catch (error) {
      lost(error);
    }
  };

  const withClient = async <T>(action: (c: GateClient) => Promise<T>): Promise<T> => {
    if (client === null) throw new Error("the gate is not reachable right now; try again when it is back");
    return action(client);
  };

  /** The gate's own message if it sent one; else ours, naming a new tunnel's id. */
  const describe = (result: unknown, fallback: string, nameId = false): string => {
    if (isObject(result) && typeof result.message === "string") return result.message;
    if (nameId && isObject(result) && (typeof result.id === "string" || typeof result.id === "number")) {
      return `${fallback} (tunnel ${String(result.id)})`;
    }
    return fallback;
  };

  return {
    start(d) {
      dispatch = d;
      if (client !== null) subscribe(client);
      else void attach();
    },
    addTunnel: async (request) =>
      describe(
        await withClient((c) => opts.ops.add(c, request)),
        `added ${request.spec} to ${request.destination}`,
        true,
      ),
    removeTunnel: async (id) =>
      describe(await withClient((c) => opts.ops.remove(c, id)), `tunnel ${id} dropped`),
    reconnect: async (id) =>
      describe(await withClient((c) => opts.ops.reconnect(c, id)), `tunnel ${id} reconnecting`),
    stop() {
      stopped = true;
      if (retry !== null) clearTimeout(retry);
      if (client !== null) {
        client.onClose = () => {};
        client.close();
      }
      client = null;
    },
  };
}
