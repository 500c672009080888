/**
 * The dashboard's model: a PURE reducer from what the gate streams (snapshots, events), the clock
 * and action outcomes to the view state. No I/O, no timers, no Date.now(): every time comes in with
 * an input, so the tests replay any sequence exactly.
 *
 * Rates: a tunnel's byte counters (in + out) are cumulative; the model keeps per-second buckets of
 * the bytes that moved (the sparkline) and shows the rate over the last full second plus the current
 * partial one. The gate sends snapshots only while something changes, so "no snapshot" means "no
 * bytes": the clock ticks advance the buckets and the rate decays to zero on its own.
 *
 * Keys are handled in keys.ts (also pure); this file owns the state shape and the feed inputs.
 */
import { formatBytes } from "./format.js";
import type {
  AgentKeyInfo,
  ConnectionInfo,
  DashInput,
  DashSnapshot,
  FeedState,
  GateEvent,
  TransferInfo,
  TunnelInfo,
} from "./types.js";

/** Width of one sparkline bucket. */
export const BUCKET_MS = 1000;
/** How many buckets a tunnel remembers (the widest sparkline the view draws). */
export const HISTORY_LENGTH = 30;
/** Lines of the event log kept for the footer and the details dialog. */
export const LOG_LENGTH = 50;
/** How long an action's outcome stays in the footer. */
export const NOTICE_MS = 8000;

export interface TunnelView extends TunnelInfo {
  /** Bytes per second (in + out) over the last one to two seconds. */
  rate: number;
  /** Bytes moved per bucket, oldest first; the last element is the bucket in progress. */
  history: number[];
  /** Index (time / BUCKET_MS) of the last element of `history`. */
  bucket: number;
  /** bytesIn + bytesOut at the last snapshot, the base of the next delta. */
  counted: number;
}

export type Dialog =
  | { kind: "help" }
  | { kind: "details"; tunnelId: string }
  | { kind: "confirmDrop"; tunnelId: string; spec: string }
  | { kind: "add"; form: AddForm };

export interface AddForm {
  destination: string;
  /** `-L 1111:localhost:12345`, `-R ...`, `-D 1080`. */
  forward: string;
  /** The field being typed into: 0 destination, 1 forward. */
  field: 0 | 1;
  /** Why the last submission was refused, in words the user can act on. */
  error: string | null;
}

export interface Notice {
  level: "info" | "error";
  text: string;
  at: number;
}

export interface LogLine {
  at: number;
  level: "info" | "error";
  text: string;
}

export interface DashState {
  /** The latest time any input carried. */
  now: number;
  feed: { state: FeedState; error: string | null; where: string | null };
  connections: ConnectionInfo[];
  tunnels: TunnelView[];
  transfers: TransferInfo[];
  /** null keys: no agent answered (the panel is hidden). */
  agent: { keys: AgentKeyInfo[] | null; error: string | null; name: string | null };
  log: LogLine[];
  /** The selected tunnel's id. */
  selected: string | null;
  dialog: Dialog | null;
  notice: Notice | null;
  /** The last add submitted, reopened with the gate's error if the gate refuses it. */
  pendingAdd: AddForm | null;
  quitting: boolean;
}

export function initialState(now: number): DashState {
  return {
    now,
    feed: { state: "connecting", error: null, where: null },
    connections: [],
    tunnels: [],
    transfers: [],
    agent: { keys: null, error: null, name: null },
    log: [],
    selected: null,
    dialog: null,
    notice: null,
    pendingAdd: null,
    quitting: false,
  };
}

// ---------------------------------------------------------------------------------------------
// Rates and history

const bucketOf = (at: number): number => Math.floor(at / BUCKET_MS);

/** Shifts `history` forward to bucket `to`, with empty buckets for the time no bytes moved. */
export function advanceHistory(history: readonly number[], from: number, to: number): number[] {
  if (to <= from) return [...history];
  const gap = Math.min(to - from, HISTORY_LENGTH);
  const next = [...history, ...new Array<number>(gap).fill(0)];
  return next.slice(Math.max(0, next.length - HISTORY_LENGTH));
}

/** Bytes per second over the last full bucket and the part of the current one already elapsed. */
export function rateAt(history: readonly number[], bucket: number, now: number): number {
  const current = history[history.length - 1] ?? 0;
  const previous = history[history.length - 2] ?? 0;
  const elapsed = Math.min(BUCKET_MS, Math.max(0, now - bucket * BUCKET_MS));
  const window = BUCKET_MS + elapsed;
  return ((current + previous) * 1000) / window;
}

function tunnelFrom(info: TunnelInfo, prev: TunnelView | undefined, at: number): TunnelView {
  const total = info.bytesIn + info.bytesOut;
  const bucket = bucketOf(at);
  if (prev === undefined) {
    // Bytes that moved before the dashboard watched are not a rate.
    return { ...info, rate: 0, history: [0], bucket, counted: total };
  }
  const history = advanceHistory(prev.history, prev.bucket, bucket);
  const newBucket = Math.max(bucket, prev.bucket);
  // A counter that went backwards belongs to a restarted tunnel: start counting again from it.
  const delta = total >= prev.counted ? total - prev.counted : 0;
  history[history.length - 1] = (history[history.length - 1] ?? 0) + delta;
  return { ...info, rate: rateAt(history, newBucket, at), history, bucket: newBucket, counted: total };
}

function tickTunnel(t: TunnelView, at: number): TunnelView {
  const bucket = bucketOf(at);
  if (bucket <= t.bucket) {
    const rate = rateAt(t.history, t.bucket, at);
    return rate === t.rate ? t : { ...t, rate };
  }
  const history = advanceHistory(t.history, t.bucket, bucket);
  return { ...t, history, bucket, rate: rateAt(history, bucket, at) };
}

// ---------------------------------------------------------------------------------------------
// Selection

/** Keeps the selection on the same tunnel, or on its neighbour when it went away. */
function reselect(
  prev: readonly TunnelView[],
  next: readonly TunnelView[],
  selected: string | null,
): string | null {
  if (next.length === 0) return null;
  if (selected !== null && next.some((t) => t.id === selected)) return selected;
  if (selected === null) return next[0]!.id;
  const oldIndex = prev.findIndex((t) => t.id === selected);
  const index = Math.min(Math.max(0, oldIndex), next.length - 1);
  return next[index]!.id;
}

/** Moves the selection by `delta` rows, clamped to the list. */
export function moveSelection(state: DashState, delta: number): DashState {
  if (state.tunnels.length === 0) return state;
  const index = state.tunnels.findIndex((t) => t.id === state.selected);
  const next = Math.min(state.tunnels.length - 1, Math.max(0, Math.max(index, 0) + delta));
  const id = state.tunnels[next]!.id;
  return id === state.selected ? state : { ...state, selected: id };
}

const FLAGS = { local: "-L", remote: "-R", dynamic: "-D" } as const;

/** A tunnel as the user would type it: `-L 1111:localhost:12345`. */
export function tunnelSpec(t: Pick<TunnelInfo, "kind" | "spec">): string {
  return `${FLAGS[t.kind] ?? "-?"} ${t.spec}`;
}

export function selectedTunnel(state: DashState): TunnelView | null {
  return state.tunnels.find((t) => t.id === state.selected) ?? null;
}

// ---------------------------------------------------------------------------------------------
// Events

function field(event: GateEvent, name: string): string | null {
  const value = (event as Record<string, unknown>)[name];
  return typeof value === "string" || typeof value === "number" ? String(value) : null;
}

/**
 * Events too frequent or too small for the log: a tunnel's byte counts and each forwarded
 * connection opening and closing cleanly. The tunnel's row shows them (active/total, bytes).
 */
function routine(event: GateEvent): boolean {
  if (event.kind === "tunnel-bytes" || event.kind === "tunnel-open") return true;
  return event.kind === "tunnel-close" && field(event, "error") === null;
}

/**
 * One line for the footer and the log; errors are marked so the view can colour them. Null for
 * routine events (see routine()).
 */
export function describeEvent(event: GateEvent): { level: "info" | "error"; text: string } | null {
  if (routine(event)) return null;
  const hop = field(event, "hop");
  const id = field(event, "id");
  switch (event.kind) {
    case "connecting":
      return {
        level: "info",
        text: `connecting to ${hop} (${field(event, "transport")} ${field(event, "address")})`,
      };
    case "hostkey": {
      const recorded = (event as { recorded?: boolean }).recorded === true ? " (recorded)" : "";
      return {
        level: "info",
        text: `${hop}: host key ${field(event, "keyType")} ${field(event, "fingerprint")}${recorded}`,
      };
    }
    case "authenticated":
      return { level: "info", text: `${hop}: authenticated (${field(event, "method")})` };
    case "ready":
      return {
        level: "info",
        text: `${hop}: ready${(event as { reused?: boolean }).reused === true ? " (reused)" : ""}`,
      };
    case "closed":
      return { level: "info", text: `${hop}: closed (${field(event, "reason")})` };
    case "tunnel-state": {
      const state = field(event, "state");
      const reason = field(event, "reason");
      const level = state === "failed" ? "error" : "info";
      return { level, text: `tunnel ${id}: ${state}${reason === null ? "" : ` (${reason})`}` };
    }
    case "tunnel-error":
      return { level: "error", text: `tunnel ${id}: ${field(event, "error")}` };
    case "tunnel-close":
      return {
        level: "error",
        text: `tunnel ${id}: connection ${field(event, "conn")} failed: ${field(event, "error")}`,
      };
    // The outcome before the label: labels (two paths) are long and the footer cuts at the width.
    case "transfer-start":
      return { level: "info", text: `${field(event, "op")} started: ${field(event, "label")}` };
    case "transfer-end": {
      const state = field(event, "state");
      const op = field(event, "op");
      const label = field(event, "label");
      if (state === "done") {
        const files = Number(field(event, "files") ?? 0);
        const size = formatBytes(Number(field(event, "bytes") ?? 0));
        return {
          level: "info",
          text: `${op} done, ${files} file${files === 1 ? "" : "s"}, ${size}: ${label}`,
        };
      }
      const error = field(event, "error");
      return { level: "error", text: `${op} ${state}${error === null ? "" : ` (${error})`}: ${label}` };
    }
    default: {
      // Events this dashboard does not know by name: say what they are about and any error.
      const subject = id ?? field(event, "tunnel") ?? hop ?? field(event, "route");
      const error = field(event, "error") ?? field(event, "lastError");
      const message = field(event, "message") ?? field(event, "state") ?? field(event, "reason");
      const parts = [subject === null ? event.kind : `${event.kind} ${subject}`];
      if (message !== null) parts.push(message);
      if (error !== null) parts.push(error);
      const isError = error !== null || /error|fail/i.test(event.kind);
      return { level: isError ? "error" : "info", text: parts.join(": ") };
    }
  }
}

function appendLog(log: readonly LogLine[], line: LogLine): LogLine[] {
  const next = [...log, line];
  return next.length > LOG_LENGTH ? next.slice(next.length - LOG_LENGTH) : next;
}

// ---------------------------------------------------------------------------------------------
// The reducer

function applySnapshot(state: DashState, snap: DashSnapshot): DashState {
  const byId = new Map(state.tunnels.map((t) => [t.id, t]));
  const tunnels = snap.tunnels.map((info) => tunnelFrom(info, byId.get(info.id), snap.at));
  const selected = reselect(state.tunnels, tunnels, state.selected);
  let dialog = state.dialog;
  let notice = state.notice;
  // A dialog about a tunnel that went away would act on nothing: close it and say so.
  if (dialog !== null && (dialog.kind === "details" || dialog.kind === "confirmDrop")) {
    const id = dialog.tunnelId;
    if (!tunnels.some((t) => t.id === id)) {
      notice = { level: "info", text: `tunnel ${id} is gone`, at: snap.at };
      dialog = null;
    }
  }
  const feed =
    state.feed.state === "live" ? state.feed : { ...state.feed, state: "live" as const, error: null };
  return {
    ...state,
    now: Math.max(state.now, snap.at),
    feed,
    connections: snap.connections,
    tunnels,
    transfers: snap.transfers,
    selected,
    dialog,
    notice,
  };
}

export function reduce(state: DashState, input: DashInput): DashState {
  switch (input.type) {
    case "snapshot":
      return applySnapshot(state, input.snapshot);
    case "tick": {
      if (input.at <= state.now) return state;
      const tunnels = state.tunnels.map((t) => tickTunnel(t, input.at));
      const notice = state.notice !== null && input.at - state.notice.at > NOTICE_MS ? null : state.notice;
      return { ...state, now: input.at, tunnels, notice };
    }
    case "event": {
      const line = describeEvent(input.event);
      if (line === null) return input.at > state.now ? { ...state, now: input.at } : state;
      return {
        ...state,
        now: Math.max(state.now, input.at),
        log: appendLog(state.log, { at: input.at, ...line }),
      };
    }
    case "agent":
      return { ...state, agent: { keys: input.keys, error: input.error ?? null, name: input.name ?? null } };
    case "feed": {
      const feed = { state: input.state, error: input.error ?? null, where: input.where ?? state.feed.where };
      const log =
        input.state === "lost" && state.feed.state !== "lost"
          ? appendLog(state.log, {
              at: input.at,
              level: "error",
              text: `gate lost: ${input.error ?? "connection closed"}`,
            })
          : state.log;
      return { ...state, now: Math.max(state.now, input.at), feed, log };
    }
    case "result": {
      const notice: Notice = { level: input.ok ? "info" : "error", text: input.message, at: input.at };
      const log = appendLog(state.log, { at: input.at, level: notice.level, text: input.message });
      // A refused add comes back as the form with the gate's reason, so the user can fix it.
      if (!input.ok && input.action === "add" && state.pendingAdd !== null && state.dialog === null) {
        const form: AddForm = { ...state.pendingAdd, error: input.message };
        return {
          ...state,
          now: Math.max(state.now, input.at),
          notice,
          log,
          dialog: { kind: "add", form },
          pendingAdd: null,
        };
      }
      const pendingAdd = input.action === "add" ? null : state.pendingAdd;
      return { ...state, now: Math.max(state.now, input.at), notice, log, pendingAdd };
    }
  }
}
