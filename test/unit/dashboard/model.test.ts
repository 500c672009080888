import { describe, expect, it } from "vitest";
import {
  advanceHistory,
  type DashState,
  describeEvent,
  HISTORY_LENGTH,
  initialState,
  LOG_LENGTH,
  moveSelection,
  NOTICE_MS,
  rateAt,
  reduce,
  selectedTunnel,
  tunnelSpec,
} from "../../../src/dashboard/model.js";
import type { DashInput } from "../../../src/dashboard/types.js";
import { connection, deepFreeze, snapshot, T0, tunnel } from "./fixtures.js";

function run(inputs: DashInput[], start: DashState = initialState(T0)): DashState {
  return inputs.reduce((s, input) => reduce(deepFreeze(s), deepFreeze(input)), start);
}

const snap = (at: number, ...tunnels: ReturnType<typeof tunnel>[]): DashInput => ({
  type: "snapshot",
  snapshot: snapshot(at, tunnels),
});

describe("dashboard model: snapshots", () => {
  it("starts empty, waiting for the gate", () => {
    const s = initialState(T0);
    expect(s.feed.state).toBe("connecting");
    expect(s.tunnels).toEqual([]);
    expect(s.selected).toBeNull();
    expect(s.dialog).toBeNull();
  });

  it("takes connections and tunnels from a snapshot, goes live and selects the first tunnel", () => {
    const s = run([snap(T0, tunnel({ id: "a" }), tunnel({ id: "b" }))]);
    expect(s.feed.state).toBe("live");
    expect(s.connections).toEqual([connection()]);
    expect(s.tunnels.map((t) => t.id)).toEqual(["a", "b"]);
    expect(s.selected).toBe("a");
    expect(s.now).toBe(T0);
  });

  it("does not count the bytes a tunnel moved before the dashboard saw it as a rate", () => {
    const s = run([snap(T0, tunnel({ bytesIn: 10_000_000, bytesOut: 5 }))]);
    expect(s.tunnels[0]!.rate).toBe(0);
    expect(s.tunnels[0]!.history).toEqual([0]);
  });

  it("computes the rate from the byte counters over time, in and out together", () => {
    const s1 = run([
      snap(T0, tunnel({ bytesIn: 1000 })),
      snap(T0 + 500, tunnel({ bytesIn: 41_000, bytesOut: 10_000 })),
    ]);
    // 50 000 bytes in the current second, half of it elapsed: over a 1.5 s window.
    expect(s1.tunnels[0]!.rate).toBeCloseTo((50_000 * 1000) / 1500, 6);
    expect(s1.tunnels[0]!.history).toEqual([50_000]);
    const s2 = run([snap(T0 + 1000, tunnel({ bytesIn: 91_000, bytesOut: 10_000 }))], s1);
    // A new second starts: last full second (50 000) + the current one (50 000) over 1 s.
    expect(s2.tunnels[0]!.history).toEqual([50_000, 50_000]);
    expect(s2.tunnels[0]!.rate).toBe(100_000);
  });

  it("lets the rate fall to zero on clock ticks when no snapshot says bytes moved", () => {
    const busy = run([snap(T0, tunnel()), snap(T0 + 900, tunnel({ bytesIn: 90_000 }))]);
    expect(busy.tunnels[0]!.rate).toBeGreaterThan(0);
    const later = run([{ type: "tick", at: T0 + 1000 }], busy);
    expect(later.tunnels[0]!.rate).toBe(90_000);
    const idle = run([{ type: "tick", at: T0 + 2000 }], later);
    expect(idle.tunnels[0]!.rate).toBe(0);
    expect(idle.tunnels[0]!.history).toEqual([90_000, 0, 0]);
  });

  it("restarts counting when a tunnel's counters go backwards (a restarted tunnel)", () => {
    const s = run([
      snap(T0, tunnel({ bytesIn: 5000 })),
      snap(T0 + 200, tunnel({ bytesIn: 100 })),
      snap(T0 + 400, tunnel({ bytesIn: 600 })),
    ]);
    expect(s.tunnels[0]!.history).toEqual([500]);
    expect(s.tunnels[0]!.counted).toBe(600);
  });

  it("keeps at most HISTORY_LENGTH buckets, whatever the gap", () => {
    let s = run([snap(T0, tunnel())]);
    for (let i = 1; i <= HISTORY_LENGTH + 10; i++)
      s = run([snap(T0 + i * 1000, tunnel({ bytesIn: i * 10 }))], s);
    expect(s.tunnels[0]!.history).toHaveLength(HISTORY_LENGTH);
    expect(s.tunnels[0]!.history.every((v) => v === 10)).toBe(true);
    const far = run([{ type: "tick", at: T0 + 10_000_000 }], s);
    expect(far.tunnels[0]!.history).toEqual(new Array(HISTORY_LENGTH).fill(0));
  });

  it("advanceHistory and rateAt: the helpers behind it", () => {
    expect(advanceHistory([1, 2], 5, 5)).toEqual([1, 2]);
    expect(advanceHistory([1, 2], 5, 7)).toEqual([1, 2, 0, 0]);
    expect(advanceHistory([1], 9, 3)).toEqual([1]);
    expect(rateAt([], 0, 0)).toBe(0);
    expect(rateAt([1000, 1000], 10, 10_000)).toBe(2000);
  });

  it("ignores a tick from the past (the state object stays the same)", () => {
    const s = run([snap(T0 + 5000, tunnel())]);
    expect(reduce(s, { type: "tick", at: T0 })).toBe(s);
  });

  it("keeps the selection on its tunnel, or moves it to the neighbour when the tunnel goes", () => {
    let s = run([snap(T0, tunnel({ id: "a" }), tunnel({ id: "b" }), tunnel({ id: "c" }))]);
    s = moveSelection(s, 1);
    expect(s.selected).toBe("b");
    s = run([snap(T0 + 1, tunnel({ id: "c" }), tunnel({ id: "a" }), tunnel({ id: "b" }))], s);
    expect(s.selected).toBe("b");
    s = run([snap(T0 + 2, tunnel({ id: "c" }), tunnel({ id: "a" }))], s);
    expect(s.selected).toBe("a");
    s = run([snap(T0 + 3)], s);
    expect(s.selected).toBeNull();
    expect(selectedTunnel(s)).toBeNull();
  });

  it("moveSelection clamps at both ends and returns the same state when nothing moves", () => {
    const s = run([snap(T0, tunnel({ id: "a" }), tunnel({ id: "b" }))]);
    expect(moveSelection(s, -5)).toBe(s);
    expect(moveSelection(s, 99).selected).toBe("b");
    const empty = initialState(T0);
    expect(moveSelection(empty, 1)).toBe(empty);
  });

  it("closes a details or drop dialog whose tunnel went away, and says so", () => {
    const base = run([snap(T0, tunnel({ id: "a" }))]);
    for (const dialog of [
      { kind: "details" as const, tunnelId: "a" },
      { kind: "confirmDrop" as const, tunnelId: "a", spec: "-L x" },
    ]) {
      const s = run([snap(T0 + 10)], { ...base, dialog });
      expect(s.dialog).toBeNull();
      expect(s.notice?.text).toBe("tunnel a is gone");
    }
    const help = run([snap(T0 + 10)], { ...base, dialog: { kind: "help" } });
    expect(help.dialog).toEqual({ kind: "help" });
  });

  it("tunnelSpec writes the flag the user would type", () => {
    expect(tunnelSpec(tunnel({ kind: "remote", spec: "0:localhost:80" }))).toBe("-R 0:localhost:80");
    expect(tunnelSpec(tunnel({ kind: "dynamic", spec: "1080" }))).toBe("-D 1080");
  });
});

describe("dashboard model: events, feed, results, agent", () => {
  it("logs the manager's events in words", () => {
    expect(
      describeEvent({
        kind: "connecting",
        route: "r",
        hop: "jaguar",
        transport: "tcp",
        address: "127.0.0.1:22",
      })?.text,
    ).toBe("connecting to jaguar (tcp 127.0.0.1:22)");
    expect(
      describeEvent({
        kind: "hostkey",
        route: "r",
        hop: "jaguar",
        keyType: "ssh-ed25519",
        fingerprint: "SHA256:x",
        recorded: true,
      })?.text,
    ).toBe("jaguar: host key ssh-ed25519 SHA256:x (recorded)");
    expect(
      describeEvent({ kind: "authenticated", route: "r", hop: "jaguar", method: "publickey" })?.text,
    ).toBe("jaguar: authenticated (publickey)");
    expect(describeEvent({ kind: "ready", route: "r", hop: "mcgonagall", reused: true })?.text).toBe(
      "mcgonagall: ready (reused)",
    );
    expect(describeEvent({ kind: "closed", route: "r", hop: "jaguar", reason: "idle" })).toEqual({
      level: "info",
      text: "jaguar: closed (idle)",
    });
  });

  it("logs tunnel events, and marks their errors", () => {
    expect(
      describeEvent({ kind: "tunnel-state", id: "3", state: "reconnecting", reason: "hop jaguar lost" }),
    ).toEqual({
      level: "info",
      text: "tunnel 3: reconnecting (hop jaguar lost)",
    });
    expect(describeEvent({ kind: "tunnel-state", id: "3", state: "failed", reason: null })).toEqual({
      level: "error",
      text: "tunnel 3: failed",
    });
    expect(
      describeEvent({ kind: "tunnel-error", id: "3", conn: 7, code: "JG_CHANNEL_OPEN", error: "refused" }),
    ).toEqual({
      level: "error",
      text: "tunnel 3: refused",
    });
    expect(
      describeEvent({
        kind: "tunnel-close",
        id: "3",
        conn: 7,
        bytesIn: 1,
        bytesOut: 2,
        error: "reset by peer",
      }),
    ).toEqual({ level: "error", text: "tunnel 3: connection 7 failed: reset by peer" });
    expect(describeEvent({ kind: "something-new", message: "hi" })?.text).toBe("something-new: hi");
    expect(describeEvent({ kind: "demo-failure" })?.level).toBe("error");
  });

  it("words the start and end of copies the gate runs", () => {
    const base = { at: T0, id: "3", op: "cp", label: "/tmp/a -> mcgonagall:/tmp/" };
    expect(describeEvent({ kind: "transfer-start", ...base })).toEqual({
      level: "info",
      text: "cp started: /tmp/a -> mcgonagall:/tmp/",
    });
    expect(describeEvent({ kind: "transfer-end", ...base, state: "done", files: 1, bytes: 2048 })).toEqual({
      level: "info",
      text: "cp done, 1 file, 2.0K: /tmp/a -> mcgonagall:/tmp/",
    });
    expect(
      describeEvent({
        kind: "transfer-end",
        ...base,
        state: "failed",
        files: 0,
        bytes: 0,
        error: "JG_CP_X: no",
      }),
    ).toEqual({
      level: "error",
      text: "cp failed (JG_CP_X: no): /tmp/a -> mcgonagall:/tmp/",
    });
    expect(
      describeEvent({ kind: "transfer-end", ...base, state: "aborted", files: 2, bytes: 1 })?.level,
    ).toBe("error");
  });

  it("keeps routine tunnel traffic out of the log (the row shows it)", () => {
    const routine = [
      { kind: "tunnel-open", id: "3", conn: 1, from: "127.0.0.1:5000", to: "localhost:80" },
      { kind: "tunnel-close", id: "3", conn: 1, bytesIn: 10, bytesOut: 20, error: null },
      { kind: "tunnel-bytes", id: "3", bytesIn: 10, bytesOut: 20 },
    ] as const;
    for (const event of routine) expect(describeEvent(event)).toBeNull();
    const s = run(routine.map((event, i) => ({ type: "event" as const, at: T0 + i + 1, event })));
    expect(s.log).toEqual([]);
    expect(s.now).toBe(T0 + 3);
  });

  it("keeps the last LOG_LENGTH lines", () => {
    const inputs: DashInput[] = [];
    for (let i = 0; i < LOG_LENGTH + 5; i++) {
      inputs.push({
        type: "event",
        at: T0 + i,
        event: { kind: "ready", route: "r", hop: `h${i}`, reused: false },
      });
    }
    const s = run(inputs);
    expect(s.log).toHaveLength(LOG_LENGTH);
    expect(s.log[s.log.length - 1]!.text).toBe(`h${LOG_LENGTH + 4}: ready`);
    expect(s.now).toBe(T0 + LOG_LENGTH + 4);
  });

  it("says once that the gate was lost, and is live again with the next snapshot", () => {
    const lost = run([
      snap(T0),
      { type: "feed", state: "lost", at: T0 + 1, error: "JG_GATE_LOST: stopped", where: "/run/jg.sock" },
      { type: "feed", state: "lost", at: T0 + 2, error: "JG_GATE_LOST: stopped" },
    ]);
    expect(lost.feed).toEqual({ state: "lost", error: "JG_GATE_LOST: stopped", where: "/run/jg.sock" });
    expect(lost.log.filter((l) => l.text.startsWith("gate lost"))).toHaveLength(1);
    expect(lost.log[0]!.level).toBe("error");
    const back = run([snap(T0 + 3)], lost);
    expect(back.feed.state).toBe("live");
    expect(back.feed.error).toBeNull();
  });

  it("shows an action's outcome as a notice that expires", () => {
    const s = run([{ type: "result", at: T0, ok: true, message: "tunnel 4 added", action: "add" }]);
    expect(s.notice).toEqual({ level: "info", text: "tunnel 4 added", at: T0 });
    expect(run([{ type: "tick", at: T0 + NOTICE_MS }], s).notice).not.toBeNull();
    expect(run([{ type: "tick", at: T0 + NOTICE_MS + 1 }], s).notice).toBeNull();
  });

  it("reopens the add form with the gate's reason when the gate refuses the tunnel", () => {
    const pendingAdd = {
      destination: "mcgonagall",
      forward: "-L 22:localhost:1",
      field: 1 as const,
      error: null,
    };
    const s = run(
      [{ type: "result", at: T0, ok: false, message: "JG_FORWARD_BIND: port 22 is in use", action: "add" }],
      {
        ...initialState(T0),
        pendingAdd,
      },
    );
    expect(s.dialog).toEqual({
      kind: "add",
      form: { ...pendingAdd, error: "JG_FORWARD_BIND: port 22 is in use" },
    });
    expect(s.pendingAdd).toBeNull();
    expect(s.notice?.level).toBe("error");
  });

  it("a refused drop is a notice, not a form", () => {
    const s = run([{ type: "result", at: T0, ok: false, message: "no such tunnel", action: "drop" }]);
    expect(s.dialog).toBeNull();
    expect(s.notice).toEqual({ level: "error", text: "no such tunnel", at: T0 });
    expect(s.log[0]).toEqual({ at: T0, level: "error", text: "no such tunnel" });
  });

  it("a successful add forgets the pending form", () => {
    const pendingAdd = { destination: "m", forward: "-D 1080", field: 1 as const, error: null };
    const s = run([{ type: "result", at: T0, ok: true, message: "ok", action: "add" }], {
      ...initialState(T0),
      pendingAdd,
    });
    expect(s.pendingAdd).toBeNull();
    expect(s.dialog).toBeNull();
  });

  it("takes the agent's keys, or none", () => {
    const key = { fingerprint: "SHA256:k", comment: "me", type: "ED25519", bits: 256 };
    expect(run([{ type: "agent", keys: [key] }]).agent).toEqual({ keys: [key], error: null, name: null });
    expect(run([{ type: "agent", keys: [key], name: "jumpgate agent" }]).agent.name).toBe("jumpgate agent");
    expect(run([{ type: "agent", keys: null, error: "no agent" }]).agent).toEqual({
      keys: null,
      error: "no agent",
      name: null,
    });
  });
});
