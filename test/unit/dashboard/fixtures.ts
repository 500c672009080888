/** Builders for the dashboard's inputs, so each test states only what it is about. */
import type { ConnectionInfo, DashSnapshot, TunnelInfo } from "../../../src/dashboard/types.js";

export const T0 = 1_700_000_000_000; // a multiple of 1000: bucket boundaries fall on whole seconds

export function tunnel(over: Partial<TunnelInfo> = {}): TunnelInfo {
  return {
    id: "1",
    kind: "local",
    spec: "1111:localhost:12345",
    state: "listening",
    active: 0,
    total: 0,
    bytesIn: 0,
    bytesOut: 0,
    lastError: null,
    destination: "mcgonagall",
    hops: ["jaguar", "mcgonagall"],
    ...over,
  };
}

export function connection(over: Partial<ConnectionInfo> = {}): ConnectionInfo {
  return {
    route: "me@10.0.0.1:22 -> me@10.0.0.2:22",
    hops: ["jaguar", "mcgonagall"],
    state: "ready",
    since: T0 - 65_000,
    refs: 1,
    channels: 2,
    authMethod: "publickey",
    rttMs: 1.5,
    ...over,
  };
}

export function snapshot(
  at: number,
  tunnels: TunnelInfo[] = [],
  over: Partial<DashSnapshot> = {},
): DashSnapshot {
  return { at, connections: [connection()], tunnels, transfers: [], ...over };
}

/** Freezes a value and everything inside it, so a reducer that mutates its input throws. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
