/**
 * A subscriber that stops reading (a dashboard suspended with Ctrl-Z) must not make the gate keep
 * every event for it: past the backlog its events are dropped, and when it reads again a fresh
 * stats snapshot brings it up to date. An in-process gate with a small backlog; the events are
 * pushed straight to its clients (a tunnel or transfer would need an SSH server for each).
 */
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeControl, FrameDecoder, PROTOCOL_VERSION } from "../../../src/gate/protocol.js";
import { GateServer } from "../../../src/gate/server.js";
import { silentLogger } from "../../../src/util/log.js";
import { useTempDirs } from "../../support/tmp.js";

const tempDir = useTempDirs();
const BACKLOG = 64 * 1024;

/** What the test reaches inside the gate: its clients and their unsent bytes (private in src). */
interface GateInside {
  clients: Set<{ event(event: unknown): void; subscribed(): boolean; socket: Socket }>;
}

describe("gate: a subscriber that does not read", () => {
  let gate: GateServer;
  beforeAll(async () => {
    const dir = tempDir("jg-gate-backlog-");
    gate = new GateServer({
      dir: `${dir}/jumpgate`,
      persistMs: 60_000,
      idleExitMs: null,
      log: silentLogger,
      version: "test",
      eventBacklogBytes: BACKLOG,
    });
    await gate.listen();
  });
  afterAll(async () => {
    await gate?.stop();
  });

  it("has its events dropped past the backlog, and gets a fresh snapshot once it reads again", async () => {
    const socket = connect(gate.socket);
    await new Promise<void>((r) => socket.once("connect", () => r()));
    socket.write(encodeControl({ t: "hello", version: PROTOCOL_VERSION }));
    socket.write(encodeControl({ t: "req", id: 1, op: "subscribe" }));
    const inside = gate as unknown as GateInside;
    const client = () => [...inside.clients][0] as GateInside["clients"] extends Set<infer C> ? C : never;
    // Wait until the gate has the subscription (its answer is on its way).
    for (let i = 0; i < 200 && !(inside.clients.size > 0 && client().subscribed()); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(client().subscribed()).toBe(true);
    socket.pause(); // the dashboard stops reading
    const big = { kind: "tunnel-stats", pad: "x".repeat(4096) };
    for (let i = 0; i < 2000; i++) client().event(big); // ~8 MiB if nothing were dropped
    const unsent = client().socket.writableLength;
    expect(unsent).toBeLessThan(BACKLOG + 16 * 1024);
    // Reading again: the backlog drains, then a stats snapshot comes.
    const decoder = new FrameDecoder();
    const kinds: string[] = [];
    socket.on("data", (chunk: Buffer) => {
      for (const f of decoder.push(chunk)) {
        if (f.type === "control" && f.message.t === "event") {
          kinds.push(String((f.message.event as { kind?: unknown }).kind));
        }
      }
    });
    socket.resume();
    for (let i = 0; i < 100 && !kinds.includes("stats"); i++) await new Promise((r) => setTimeout(r, 20));
    expect(kinds.filter((k) => k === "tunnel-stats").length).toBeLessThan(2000);
    expect(kinds).toContain("stats");
    socket.destroy();
  });
});
