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
}
