/**
 * What the connection manager reports, as one typed union: the CLI's -v output, `--json` and the
 * dashboard all read these same events.
 */

export type TransportKind = "tcp" | "proxycommand" | "jump";

export type ConnectionEvent =
  | { kind: "connecting"; route: string; hop: string; transport: TransportKind; address: string }
  | { kind: "hostkey"; route: string; hop: string; keyType: string; fingerprint: string; recorded: boolean }
  | { kind: "authenticated"; route: string; hop: string; method: string }
  | { kind: "ready"; route: string; hop: string; reused: boolean }
  | { kind: "closed"; route: string; hop: string; reason: string };

export type ConnectionEventListener = (event: ConnectionEvent) => void;

/** A snapshot for `jumpgate status` and the dashboard. */
export interface ConnectionStats {
  route: string;
  hops: string[];
  state: "connecting" | "ready" | "closed";
  since: number;
  refs: number;
  channels: number;
  authMethod: string | null;
  /** Round-trip time of the last keepalive request, in ms (null until measured). */
  rttMs: number | null;
}

/**
 * Port forwarding (src/forward/tunnel.ts): a tunnel's life and its forwarded connections. Defined
 * here, next to the connection events, so the manager can relay them and the dashboard can import
 * both from one place. `id` names the tunnel, `conn` one forwarded connection within it.
 */
export type TunnelState = "listening" | "reconnecting" | "failed" | "closed";

export type TunnelEvent =
  | { kind: "tunnel-state"; id: string; state: TunnelState; reason: string | null }
  | { kind: "tunnel-open"; id: string; conn: number; from: string; to: string }
  | {
      kind: "tunnel-close";
      id: string;
      conn: number;
      bytesIn: number;
      bytesOut: number;
      error: string | null;
    }
  /** Cumulative byte counters of the whole tunnel, at most every 250 ms while data moves. */
  | { kind: "tunnel-bytes"; id: string; bytesIn: number; bytesOut: number }
  | { kind: "tunnel-error"; id: string; conn: number | null; code: string; error: string };

export type TunnelEventListener = (event: TunnelEvent) => void;

/** A tunnel's snapshot (Tunnel.stats()); the gate's `tunnels ls` and the dashboard show these. */
export interface TunnelStats {
  id: string;
  kind: "local" | "remote" | "dynamic";
  /** As written after the flag, e.g. `1111:localhost:12345`, `0:localhost:80`, `1080`. */
  spec: string;
  state: TunnelState;
  /** Forwarded connections open now, and since the tunnel started. */
  active: number;
  total: number;
  /** Bytes towards the local client (in) and towards the far side (out). */
  bytesIn: number;
  bytesOut: number;
  lastError: string | null;
  /** Where it listens: `127.0.0.1:1111`, `[::1]:1111`, a socket path, `remote 127.0.0.1:40123`. */
  listening: string[];
}
