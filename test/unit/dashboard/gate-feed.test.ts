/**
 * The gate feed: what a gate sends (status, `stats` events, manager events) checked and turned into
 * the model's inputs; the subscription; losing the gate and finding it again; tunnel actions. The
 * client is a stand-in with GateClient's surface (the real gate is in test/e2e/dash.test.ts).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { gateFeed, inputOf, snapshotOf, type TunnelOps } from "../../../src/dashboard/gate-feed.js";
import type { DashInput } from "../../../src/dashboard/types.js";
import { JumpgateError } from "../../../src/errors.js";
import type { GateClient } from "../../../src/gate/client.js";
import { T0 } from "./fixtures.js";

class StubClient {
  path = "/run/user/0/jumpgate/gate.sock";
  onClose: (error: JumpgateError) => void = () => {};
  requests: { op: string; args: unknown }[] = [];
  onEvent: ((event: unknown) => void) | null = null;
  closed = 0;
  answer: (op: string) => Promise<unknown> = async () => ({ connections: [], tunnels: [] });
  request(op: string, args?: unknown, opts: { onEvent?: (event: unknown) => void } = {}): Promise<unknown> {
    this.requests.push({ op, args });
    if (opts.onEvent) this.onEvent = opts.onEvent;
    return this.answer(op);
  }
  close(): void {
    this.closed++;
  }
}

const asClient = (s: StubClient) => s as unknown as GateClient;

const ops: TunnelOps = {
  add: (c, r) => c.request("add", r),
  remove: (c, id) => c.request("rm", { id }),
  reconnect: (c, id) => c.request("reconnect", { id }),
};

describe("gate feed: parsing what the gate sends", () => {
  it("turns a status or stats event into a snapshot, with defaults for missing fields", () => {
    const snap = snapshotOf(
      {
        kind: "stats",
        at: T0,
        connections: [
          {
            route: "r1",
            hops: ["jaguar"],
            state: "ready",
            since: T0 - 5,
            uptimeMs: 5,
            rttMs: 0.7,
            authMethod: "publickey",
            channels: 2,
            users: 3,
          },
          { route: "r2", hops: ["jaguar", 7, "mcgonagall"], state: "weird" },
          "garbage",
          { hops: [] },
        ],
        tunnels: [
          {
            id: 4,
            kind: "local",
            spec: "1111:localhost:12345",
            state: "listening",
            active: 1,
            total: 2,
            bytesIn: 10,
            bytesOut: 20,
            lastError: null,
            listening: ["127.0.0.1:1111"],
            destination: "mcgonagall",
            hops: ["jaguar", "mcgonagall"],
          },
          { id: "5", kind: "bogus", bytesIn: "many" },
          null,
        ],
      },
      0,
    );
    expect(snap).not.toBeNull();
    expect(snap!.at).toBe(T0);
    expect(snap!.connections).toEqual([
      {
        route: "r1",
        hops: ["jaguar"],
        state: "ready",
        since: T0 - 5,
        refs: 3,
        channels: 2,
        authMethod: "publickey",
        rttMs: 0.7,
      },
      {
        route: "r2",
        hops: ["jaguar", "mcgonagall"],
        state: "connecting",
        since: 0,
        refs: 0,
        channels: 0,
        authMethod: null,
        rttMs: null,
      },
    ]);
    expect(snap!.tunnels).toEqual([
      {
        id: "4",
        kind: "local",
        spec: "1111:localhost:12345",
        state: "listening",
        active: 1,
        total: 2,
        bytesIn: 10,
        bytesOut: 20,
        lastError: null,
        listening: ["127.0.0.1:1111"],
        destination: "mcgonagall",
        hops: ["jaguar", "mcgonagall"],
      },
      {
        id: "5",
        kind: "local",
        spec: "?",
        state: "?",
        active: 0,
        total: 0,
        bytesIn: 0,
        bytesOut: 0,
        lastError: null,
      },
    ]);
    expect(snap!.transfers).toEqual([]);
    expect(snapshotOf({ tunnels: [] }, 0)).toBeNull();
    expect(snapshotOf([], 0)).toBeNull();
  });

  it("reads transfers in either naming (bytesDone/bytesTotal or bytes/totalBytes)", () => {
    const snap = snapshotOf(
      {
        connections: [],
        transfers: [{ id: 1, op: "cp", bytes: 5, totalBytes: 10, files: 1, totalFiles: 2 }],
      },
      T0,
    );
    expect(snap!.transfers).toEqual([
      { id: "1", label: "cp", bytesDone: 5, bytesTotal: 10, filesDone: 1, filesTotal: 2 },
    ]);
  });

  it("passes other events on as events, and drops what has no kind", () => {
    const event = { kind: "ready", route: "r", hop: "jaguar", reused: false };
    expect(inputOf(event, T0)).toEqual({ type: "event", at: T0, event });
    expect(inputOf({ kind: "tunnel-state", id: "1", state: "reconnecting", at: T0 + 5 }, T0)).toMatchObject({
      at: T0 + 5,
    });
    expect(inputOf({ nokind: 1 }, T0)).toBeNull();
    expect(inputOf("text", T0)).toBeNull();
    expect(inputOf({ kind: "stats" }, T0)).toBeNull();
  });
});

describe("gate feed: subscription and actions", () => {
  let inputs: DashInput[];
  beforeEach(() => {
    vi.useFakeTimers();
    inputs = [];
  });
  afterEach(() => vi.useRealTimers());

  it("subscribes once, goes live with the status as the first snapshot, then relays events", async () => {
    const stub = new StubClient();
    stub.answer = async () => ({
      connections: [{ route: "r", hops: ["jaguar"], state: "ready", since: 1 }],
      tunnels: [],
    });
    const feed = gateFeed({
      client: asClient(stub),
      connect: () => Promise.reject(new Error("unused")),
      ops,
      now: () => T0,
    });
    feed.start((i) => inputs.push(i));
    await vi.advanceTimersByTimeAsync(0);
    expect(stub.requests).toEqual([{ op: "subscribe", args: undefined }]);
    expect(inputs[0]).toEqual({ type: "feed", state: "live", at: T0, where: stub.path });
    expect(inputs[1]).toMatchObject({
      type: "snapshot",
      snapshot: { at: T0, connections: [{ route: "r" }] },
    });
    stub.onEvent!({ kind: "stats", at: T0 + 500, connections: [], tunnels: [] });
    stub.onEvent!({ kind: "closed", route: "r", hop: "jaguar", reason: "idle" });
    expect(inputs.slice(2)).toEqual([
      { type: "snapshot", snapshot: { at: T0 + 500, connections: [], tunnels: [], transfers: [] } },
      { type: "event", at: T0, event: { kind: "closed", route: "r", hop: "jaguar", reason: "idle" } },
    ]);
    feed.stop();
    expect(stub.closed).toBe(1);
  });

  it("says the gate is lost, retries every retryMs, and subscribes again when it is back", async () => {
    const first = new StubClient();
    const second = new StubClient();
    let attempts = 0;
    const connect = async () => {
      attempts++;
      if (attempts === 1) throw new JumpgateError("JG_GATE_NOT_RUNNING", "No gate is running.");
      return asClient(second);
    };
    const feed = gateFeed({ client: asClient(first), connect, ops, now: () => T0, retryMs: 1000 });
    feed.start((i) => inputs.push(i));
    await vi.advanceTimersByTimeAsync(0);
    first.onClose(new JumpgateError("JG_GATE_LOST", "The gate closed the connection."));
    expect(inputs.at(-1)).toEqual({
      type: "feed",
      state: "lost",
      at: T0,
      error: "JG_GATE_LOST: The gate closed the connection.",
    });
    await expect(feed.removeTunnel("1")).rejects.toThrow(/not reachable/);
    await vi.advanceTimersByTimeAsync(1000);
    expect(attempts).toBe(1);
    expect(inputs.at(-1)).toMatchObject({
      type: "feed",
      state: "lost",
      error: "JG_GATE_NOT_RUNNING: No gate is running.",
    });
    await vi.advanceTimersByTimeAsync(1000);
    expect(attempts).toBe(2);
    expect(second.requests.map((r) => r.op)).toEqual(["subscribe"]);
    expect(inputs.some((i) => i.type === "feed" && i.state === "live")).toBe(true);
    feed.stop();
    await vi.advanceTimersByTimeAsync(5000);
    expect(attempts).toBe(2);
  });

  it("sends tunnel actions through the ops and words their results", async () => {
    const stub = new StubClient();
    stub.answer = async (op) =>
      op === "add" ? { id: 7 } : op === "rm" ? { message: "tunnel 7 closed" } : undefined;
    const feed = gateFeed({
      client: asClient(stub),
      connect: () => Promise.reject(new Error("unused")),
      ops,
    });
    feed.start(() => {});
    expect(
      await feed.addTunnel({ destination: "mcgonagall", kind: "local", spec: "1111:localhost:12345" }),
    ).toBe("added 1111:localhost:12345 to mcgonagall (tunnel 7)");
    expect(await feed.removeTunnel("7")).toBe("tunnel 7 closed");
    expect(await feed.reconnect("7")).toBe("tunnel 7 reconnecting");
    expect(stub.requests.slice(1)).toEqual([
      { op: "add", args: { destination: "mcgonagall", kind: "local", spec: "1111:localhost:12345" } },
      { op: "rm", args: { id: "7" } },
      { op: "reconnect", args: { id: "7" } },
    ]);
    stub.answer = async () => {
      throw new JumpgateError("JG_FORWARD_BIND", "port in use");
    };
    await expect(feed.addTunnel({ destination: "m", kind: "dynamic", spec: "1080" })).rejects.toThrow(
      "port in use",
    );
    feed.stop();
  });
});
