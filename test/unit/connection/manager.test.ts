/**
 * The manager's sharing rules on the embedded demo lab (in-process ssh2 servers, no sshd needed):
 * concurrent acquires share one handshake, released connections close after the idle time and not
 * before, and stats report what is open.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveHops } from "../../../src/config/resolve.js";
import type { ConnectionEvent } from "../../../src/connection/events.js";
import { ConnectionManager } from "../../../src/connection/manager.js";
import { createSecurity } from "../../../src/connection/security.js";
import { type DemoLab, startDemoLab } from "../../../src/demo/lab.js";
import { silentLogger } from "../../../src/util/log.js";

describe("ConnectionManager (embedded lab)", () => {
  let lab: DemoLab;

  beforeAll(async () => {
    lab = await startDemoLab();
  });

  afterAll(async () => {
    await lab?.stop();
  });

  const hops = () =>
    resolveHops({ items: [{ kind: "destination", value: "mcgonagall" }], configFile: lab.configPath });
  const newManager = (idleTimeout: number) =>
    new ConnectionManager({
      security: createSecurity({ log: silentLogger, batchMode: true }),
      log: silentLogger,
      idleTimeout,
    });

  it("opens each hop once for concurrent acquires", async () => {
    const before = lab.stats().connections;
    const manager = newManager(5_000);
    const [a, b, c] = await Promise.all([
      manager.acquire(hops()),
      manager.acquire(hops()),
      manager.acquire(hops()),
    ]);
    expect(a.session).toBe(b.session);
    expect(b.session).toBe(c.session);
    const after = lab.stats().connections;
    expect(after.jaguar - before.jaguar).toBe(1);
    expect(after.mcgonagall - before.mcgonagall).toBe(1);
    const stats = manager.stats();
    expect(stats.map((s) => s.hops.join(">")).sort()).toEqual(["jaguar", "jaguar>mcgonagall"]);
    expect(stats.find((s) => s.hops.length === 2)?.refs).toBe(3);
    for (const lease of [a, b, c]) lease.release();
    await manager.close();
  });

  it("keeps a released connection for the idle time, then closes it and its hops", async () => {
    const manager = newManager(300);
    const closed: ConnectionEvent[] = [];
    manager.on((e) => {
      if (e.kind === "closed") closed.push(e);
    });
    const first = await manager.acquire(hops());
    first.release();
    // Within the idle time the connection is reused: no new handshake.
    const second = await manager.acquire(hops());
    expect(second.reused).toBe(true);
    expect(second.session).toBe(first.session);
    second.release();
    await new Promise((r) => setTimeout(r, 1_000));
    expect(first.session.closed).toBe(true);
    expect(closed.map((e) => e.hop).sort()).toEqual(["jaguar", "mcgonagall"]);
    expect(manager.stats()).toEqual([]);
    await manager.close();
  });

  it("closes at once when the idle time is 0 (one-shot commands)", async () => {
    const manager = newManager(0);
    const lease = await manager.acquire(hops());
    lease.release();
    await new Promise((r) => setTimeout(r, 200));
    expect(lease.session.closed).toBe(true);
    await manager.close();
  });
});
