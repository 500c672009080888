/**
 * The dashboard's loop with a fake feed and a fake view: coalesced redraws, the local clock,
 * actions sent to the feed and their outcomes, quitting. Also the plain-text mode.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { startApp } from "../../../src/dashboard/app.js";
import type { AddTunnelRequest, DashFeed } from "../../../src/dashboard/feed.js";
import type { KeyDeps } from "../../../src/dashboard/keys.js";
import type { DashState } from "../../../src/dashboard/model.js";
import { startPlain } from "../../../src/dashboard/plain.js";
import type { DashInput } from "../../../src/dashboard/types.js";
import type { DashView } from "../../../src/dashboard/view.js";
import { JumpgateError } from "../../../src/errors.js";
import { snapshot, T0, tunnel } from "./fixtures.js";

class FakeFeed implements DashFeed {
  dispatch: (input: DashInput) => void = () => {
    throw new Error("not started");
  };
  started = 0;
  stopped = 0;
  added: AddTunnelRequest[] = [];
  removed: string[] = [];
  reconnected: string[] = [];
  addResult: () => Promise<string> = async () => "tunnel 9 added";
  start(dispatch: (input: DashInput) => void): void {
    this.started++;
    this.dispatch = dispatch;
  }
  addTunnel(request: AddTunnelRequest): Promise<string> {
    this.added.push(request);
    return this.addResult();
  }
  async removeTunnel(id: string): Promise<string> {
    this.removed.push(id);
    return `tunnel ${id} removed`;
  }
  async reconnect(id: string): Promise<string> {
    this.reconnected.push(id);
    throw new JumpgateError("JG_INTERNAL", "reconnect is not supported by this gate");
  }
  stop(): void {
    this.stopped++;
  }
}

class FakeView implements DashView {
  states: DashState[] = [];
  destroyed = 0;
  update(state: DashState): void {
    this.states.push(state);
  }
  renders(): number {
    return this.states.length;
  }
  destroy(): void {
    this.destroyed++;
  }
  last(): DashState {
    return this.states[this.states.length - 1]!;
  }
}

const deps: KeyDeps = { validateForward: () => null };

describe("dashboard app loop", () => {
  let clock = T0;
  beforeEach(() => {
    vi.useFakeTimers();
    clock = T0;
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function start() {
    const feed = new FakeFeed();
    const view = new FakeView();
    const app = startApp({
      feed,
      deps,
      createView: () => view,
      now: () => clock,
      tickMs: 500,
      coalesceMs: 40,
    });
    return { feed, view, app };
  }

  it("draws once at start, then once per burst of feed inputs", async () => {
    const { feed, view } = start();
    expect(feed.started).toBe(1);
    expect(view.states).toHaveLength(1);
    for (let i = 0; i < 20; i++)
      feed.dispatch({
        type: "event",
        at: T0 + i,
        event: { kind: "ready", route: "r", hop: "h", reused: false },
      });
    feed.dispatch({ type: "snapshot", snapshot: snapshot(T0 + 20, [tunnel()]) });
    expect(view.states).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(40);
    expect(view.states).toHaveLength(2);
    expect(view.last().log).toHaveLength(20);
    expect(view.last().tunnels).toHaveLength(1);
  });

  it("ticks the local clock twice a second (uptimes move, rates decay) without asking the feed", async () => {
    const { feed, view } = start();
    feed.dispatch({ type: "snapshot", snapshot: snapshot(T0, [tunnel()]) });
    clock = T0 + 500;
    // The tick at 500 ms, drawn with the next coalesced redraw.
    await vi.advanceTimersByTimeAsync(540);
    expect(view.last().now).toBe(T0 + 500);
    clock = T0 + 1000;
    await vi.advanceTimersByTimeAsync(500);
    expect(view.last().now).toBe(T0 + 1000);
    expect(feed.added).toEqual([]);
  });

  it("sends the add form to the feed and shows the outcome", async () => {
    const { feed, view, app } = start();
    app.key({ name: "a" });
    for (const ch of "mcgonagall") app.key({ name: ch, ch });
    app.key({ name: "enter" });
    for (const ch of "-L 1111:localhost:12345") app.key({ name: ch === " " ? "space" : ch, ch });
    app.key({ name: "enter" });
    expect(feed.added).toEqual([{ destination: "mcgonagall", kind: "local", spec: "1111:localhost:12345" }]);
    await vi.advanceTimersByTimeAsync(40);
    expect(view.last().notice?.text).toBe("tunnel 9 added");
  });

  it("reopens the form with the gate's code and message when the gate refuses", async () => {
    const { feed, view, app } = start();
    feed.addResult = async () => {
      throw new JumpgateError("JG_FORWARD_SPEC", "port 99999 is not a port");
    };
    app.key({ name: "a" });
    app.key({ name: "m", ch: "m" });
    app.key({ name: "tab" });
    for (const ch of "-D1080") app.key({ name: ch, ch });
    app.key({ name: "enter" });
    await vi.advanceTimersByTimeAsync(40);
    const dialog = view.last().dialog;
    expect(dialog?.kind).toBe("add");
    expect(dialog?.kind === "add" && dialog.form.error).toBe("JG_FORWARD_SPEC: port 99999 is not a port");
  });

  it("drops the selected tunnel after y, and reports a failed reconnect", async () => {
    const { feed, view, app } = start();
    feed.dispatch({ type: "snapshot", snapshot: snapshot(T0, [tunnel({ id: "a" }), tunnel({ id: "b" })]) });
    await vi.advanceTimersByTimeAsync(40);
    app.key({ name: "down" });
    app.key({ name: "d", ch: "d" });
    expect(feed.removed).toEqual([]);
    app.key({ name: "y", ch: "y" });
    expect(feed.removed).toEqual(["b"]);
    app.key({ name: "r", ch: "r" });
    expect(feed.reconnected).toEqual(["b"]);
    await vi.advanceTimersByTimeAsync(40);
    expect(view.last().notice).toMatchObject({
      level: "error",
      text: "JG_INTERNAL: reconnect is not supported by this gate",
    });
  });

  it("q stops the feed, the clock and the view, and resolves done", async () => {
    const { feed, view, app } = start();
    app.key({ name: "q", ch: "q" });
    await app.done;
    expect(feed.stopped).toBe(1);
    expect(view.destroyed).toBe(1);
    const count = view.states.length;
    feed.dispatch({ type: "snapshot", snapshot: snapshot(T0 + 1, [tunnel()]) });
    await vi.advanceTimersByTimeAsync(2000);
    expect(view.states).toHaveLength(count);
    app.quit();
    expect(feed.stopped).toBe(1);
  });
});

describe("dashboard plain mode", () => {
  it("with once: prints one ASCII picture after the first snapshot and stops", async () => {
    const feed = new FakeFeed();
    const out: string[] = [];
    const run = startPlain({ feed, once: true, write: (t) => out.push(t), now: () => T0 });
    feed.dispatch({
      type: "event",
      at: T0,
      event: { kind: "ready", route: "r", hop: "jaguar", reused: false },
    });
    expect(out).toEqual([]);
    feed.dispatch({ type: "snapshot", snapshot: snapshot(T0, [tunnel()]) });
    await run.done;
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(out[0]).toContain("-L 1111:localhost:12345");
    expect(out[0]).toMatch(/^[\x20-\x7e\n]*$/);
    expect(feed.stopped).toBe(1);
  });

  it("with once: fails when the gate is lost before it said anything", async () => {
    const feed = new FakeFeed();
    const run = startPlain({ feed, once: true, write: () => {}, now: () => T0 });
    feed.dispatch({ type: "feed", state: "lost", at: T0, error: "JG_GATE_LOST: gone" });
    await expect(run.done).rejects.toThrow("JG_GATE_LOST: gone");
  });

  it("without once: prints when the picture changed, at most every interval", async () => {
    vi.useFakeTimers();
    try {
      const feed = new FakeFeed();
      const out: string[] = [];
      let clock = T0;
      const run = startPlain({
        feed,
        once: false,
        intervalMs: 2000,
        write: (t) => out.push(t),
        now: () => clock,
      });
      feed.dispatch({ type: "snapshot", snapshot: snapshot(T0, [tunnel({ total: 1 })]) });
      expect(out).toHaveLength(1);
      feed.dispatch({ type: "snapshot", snapshot: snapshot(T0 + 100, [tunnel({ total: 2 })]) });
      expect(out).toHaveLength(1);
      clock = T0 + 2000;
      await vi.advanceTimersByTimeAsync(2000);
      expect(out).toHaveLength(2);
      expect(out[1]).toMatch(/0\/2/);
      run.stop();
      await run.done;
      expect(feed.stopped).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });
});
