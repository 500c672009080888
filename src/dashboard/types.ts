/**
 * What the dashboard reads: the inputs its model folds into view state. The shapes follow what the
 * gate streams (the manager's ConnectionStats and ConnectionEvent, the forwarders' tunnel stats,
 * transfer progress); the dashboard only imports their types, never the code that makes them, so
 * that `jumpgate dash` stays a light client of the gate.
 *
 * Fields the producers may not send yet (e.g. a connection's RTT) are optional: the panels show
 * "-" for them rather than failing.
 */
import type { ConnectionEvent, ConnectionStats, TunnelEvent, TunnelStats } from "../connection/events.js";

/** One connection as the gate reports it: the manager's snapshot plus what the gate adds. */
export interface ConnectionInfo extends Omit<ConnectionStats, "rttMs"> {
  /** Round-trip time from the last keepalive, in ms; null or absent when not measured yet. */
  rttMs?: number | null;
}

/**
 * One tunnel held by the gate: the forwarders' TunnelStats plus where it goes. `state` stays a
 * string (a newer gate may report a state this dashboard does not know: it is shown as is).
 */
export interface TunnelInfo extends Omit<TunnelStats, "state" | "listening"> {
  state: TunnelStats["state"] | (string & {});
  listening?: string[];
  destination?: string;
  /** The hops, as in ConnectionStats.hops (e.g. ["jaguar", "mcgonagall"]). */
  hops?: string[];
}

/** A copy in progress (cp, push, pull). */
export interface TransferInfo {
  id: string;
  /** What is copied, e.g. `report.pdf -> mcgonagall:/tmp/`. */
  label: string;
  bytesDone: number;
  /** Null while the size is not known yet (a tar stream being built). */
  bytesTotal: number | null;
  filesDone?: number;
  filesTotal?: number | null;
}

/** A key the agent holds (listed by the CLI side over SSH_AUTH_SOCK). */
export interface AgentKeyInfo {
  /** `SHA256:...` as ssh-add -l prints it. */
  fingerprint: string;
  comment: string;
  /** e.g. "ED25519", "RSA". */
  type: string;
  bits?: number;
}

/** The gate's periodic picture of everything it holds. */
export interface DashSnapshot {
  /** When the gate took it (ms since the epoch). Rates are computed from these times. */
  at: number;
  connections: ConnectionInfo[];
  tunnels: TunnelInfo[];
  transfers: TransferInfo[];
}

/** Any event the gate relays: the manager's and the tunnels' typed events, or others by kind. */
export type GateEvent = ConnectionEvent | TunnelEvent | { kind: string; [field: string]: unknown };

export type FeedState = "connecting" | "live" | "lost";

/** Everything that reaches the model from outside the keyboard. */
export type DashInput =
  | { type: "snapshot"; snapshot: DashSnapshot }
  | { type: "event"; at: number; event: GateEvent }
  /** `name`: which agent answers (e.g. "jumpgate agent", "ssh-agent"), when it can be told. */
  | { type: "agent"; keys: AgentKeyInfo[] | null; error?: string; name?: string }
  | { type: "feed"; state: FeedState; at: number; error?: string; where?: string }
  /** The clock: advances uptimes and lets rates decay to zero when no bytes move. */
  | { type: "tick"; at: number }
  /** How an action sent to the gate (add, drop, reconnect) ended. */
  | { type: "result"; at: number; ok: boolean; message: string; action?: DashAction };

/** What the user can ask the gate to do from the dashboard. */
export type DashAction = "add" | "drop" | "reconnect";
