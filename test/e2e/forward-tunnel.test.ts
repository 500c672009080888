/**
 * The Tunnel API on the real lab (what the gate builds on): stats, events through the manager, a
 * refused far side recorded while the tunnel keeps serving, the listener kept across a lost
 * session; plus memory under a slow consumer and rekeying on RekeyLimit.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { resolve, resolveHops } from "../../src/config/resolve.js";
import type { TunnelEvent } from "../../src/connection/events.js";
import { ConnectionManager } from "../../src/connection/manager.js";
import { createSecurity } from "../../src/connection/security.js";
import { Tunnel } from "../../src/forward/tunnel.js";
import { silentLogger } from "../../src/util/log.js";
import {
  exchange,
  expectedReply,
  freePort,
  inMcgonagall,
  peakRss,
  startJumpgate,
  waitFor,
} from "../support/forward-lab.js";
import { type BastionLab, describeE2E, startBastionLab } from "../support/lab.js";

const SOURCE = fileURLToPath(new URL("../support/forward-source.mjs", import.meta.url));
const GiB = 1024 ** 3;

function spec(listenPort: number, connectHost: string, connectPort: number) {
  return {
    listenHost: "127.0.0.1",
    listenPort,
    listenPath: null,
    connectHost,
    connectPort,
    connectPath: null,
  };
}

describeE2E("tunnels: stats, events, failures, memory, rekey", "netns", () => {
  let lab: BastionLab;
  let manager: ConnectionManager;
  let hops: ReturnType<typeof resolveHops>;

  beforeAll(async () => {
    lab = await startBastionLab();
    const request = {
      items: [{ kind: "destination" as const, value: "mcgonagall" }],
      configFile: lab.configPath,
    };
    hops = resolveHops(request, resolve(request));
    manager = new ConnectionManager({
      security: createSecurity({ log: silentLogger, batchMode: true }),
      log: silentLogger,
    });
  });

  afterAll(async () => {
    await manager?.close();
    await lab?.stop();
  });

  it("counts connections and bytes, records a refused far side and keeps serving, reports through the manager", async () => {
    const lease = await manager.acquire(hops);
    const events: TunnelEvent[] = [];
    const off = manager.onTunnel((e) => events.push(e));
    const refusedPort = await freePort();
    const refused = new Tunnel({
      id: "T-refused",
      kind: "local",
      spec: spec(refusedPort, "localhost", 1),
      open: () => lease.session,
    });
    const goodPort = await freePort();
    const good = new Tunnel({
      id: "T-good",
      kind: "local",
      spec: spec(goodPort, "localhost", lab.service.port),
      open: () => lease.session,
    });
    for (const t of [refused, good]) t.on((e) => manager.publishTunnel(e));
    await refused.start();
    await good.start();
    try {
      // Nothing listens on mcgonagall's port 1: this client is closed without data, the tunnel stays.
      expect(
        (await exchange({ host: "127.0.0.1", port: refusedPort }, "x", { allowReset: true })).length,
      ).toBe(0);
      const s1 = refused.stats();
      expect(s1).toMatchObject({
        id: "T-refused",
        kind: "local",
        spec: `127.0.0.1:${refusedPort}:localhost:1`,
        state: "listening",
        active: 0,
        total: 1,
      });
      expect(s1.lastError).toMatch(/open channel to localhost:1 failed: .*(refused|connect failed)/i);
      expect(events).toContainEqual(
        expect.objectContaining({ kind: "tunnel-error", id: "T-refused", code: "JG_CHANNEL_OPEN" }),
      );
      // Still serving: a second attempt is handled (and refused) the same way.
      expect(
        (await exchange({ host: "127.0.0.1", port: refusedPort }, "y", { allowReset: true })).length,
      ).toBe(0);
      expect(refused.stats().total).toBe(2);

      const payload = Buffer.from("counted bytes");
      const reply = await exchange({ host: "127.0.0.1", port: goodPort }, payload);
      expect(reply.toString()).toBe(await expectedReply(payload));
      await waitFor("close event", () =>
        events.some((e) => e.kind === "tunnel-close" && e.id === "T-good") ? true : null,
      );
      expect(good.stats()).toMatchObject({
        active: 0,
        total: 1,
        bytesOut: payload.length,
        bytesIn: reply.length,
        lastError: null,
      });
      const open = events.find((e) => e.kind === "tunnel-open" && e.id === "T-good");
      expect(open).toMatchObject({ to: `localhost:${lab.service.port}` });
      expect(events).toContainEqual(
        expect.objectContaining({
          kind: "tunnel-close",
          id: "T-good",
          bytesOut: payload.length,
          bytesIn: reply.length,
          error: null,
        }),
      );
    } finally {
      await refused.close();
      await good.close();
      off();
      lease.release();
    }
    expect(good.stats().state).toBe("closed");
    expect(events).toContainEqual({ kind: "tunnel-state", id: "T-good", state: "closed", reason: null });
  });

  it("keeps its listener while the session is lost and serves again once open() yields a new one", async () => {
    const events: TunnelEvent[] = [];
    let leases = 0;
    const port = await freePort();
    const tunnel = new Tunnel({
      kind: "local",
      spec: spec(port, "localhost", lab.service.port),
      open: async () => {
        leases++;
        return (await manager.acquire(hops)).session;
      },
      reconnect: true,
    });
    tunnel.on((e) => events.push(e));
    await tunnel.start();
    try {
      const p = Buffer.from("before");
      expect((await exchange({ host: "127.0.0.1", port }, p)).toString()).toBe(await expectedReply(p));
      // Lose the connection under the tunnel.
      for (const s of manager.stats()) expect(s.state).toBe("ready");
      const first = leases;
      (await manager.acquire(hops)).session.close("test: hop lost");
      await waitFor("reconnected", () =>
        leases > first && tunnel.stats().state === "listening" ? true : null,
      );
      expect(events.map((e) => (e.kind === "tunnel-state" ? e.state : null)).filter(Boolean)).toContain(
        "reconnecting",
      );
      const q = Buffer.from("after");
      expect((await exchange({ host: "127.0.0.1", port }, q)).toString()).toBe(await expectedReply(q));
    } finally {
      await tunnel.close();
    }
  });

  it("-R asks the new session to listen again after a loss (port 0: the new port is reported)", async () => {
    const { startReplyService, run } = await import("../support/forward-lab.js");
    const local = await startReplyService({});
    const tunnel = new Tunnel({
      kind: "remote",
      spec: {
        listenHost: null,
        listenPort: 0,
        listenPath: null,
        connectHost: "127.0.0.1",
        connectPort: local.port,
        connectPath: null,
      },
      open: async () => (await manager.acquire(hops)).session,
      reconnect: true,
    });
    const fromMcgonagall = async (port: number) => {
      const script = `const s=require("net").connect(${port},"127.0.0.1",()=>s.end("ping"));s.pipe(process.stdout);s.on("error",()=>{})`;
      const [cmd, args] = inMcgonagall(lab, process.execPath, ["-e", script]);
      return (await run(cmd, args)).stdout;
    };
    try {
      await tunnel.start();
      const first = tunnel.allocatedPort as number;
      expect(first).toBeGreaterThan(0);
      expect(tunnel.stats().listening).toEqual([`remote localhost:${first}`]);
      expect(await fromMcgonagall(first)).toBe(await expectedReply(Buffer.from("ping")));
      const states: string[] = [];
      tunnel.on((e) => {
        if (e.kind === "tunnel-state") states.push(e.state);
      });
      (await manager.acquire(hops)).session.close("test: hop lost");
      await waitFor("reattached", () => (states.join(",") === "reconnecting,listening" ? true : null));
      expect(tunnel.stats().listening).toEqual([`remote localhost:${tunnel.allocatedPort}`]);
      expect(await fromMcgonagall(tunnel.allocatedPort as number)).toBe(
        await expectedReply(Buffer.from("ping")),
      );
    } finally {
      await tunnel.close();
      local.server.close();
    }
  });

  it("a slow consumer receiving 1 GiB through -L keeps jumpgate's RSS under 150 MB (and the data arrives whole)", async () => {
    const [cmd, args] = inMcgonagall(lab, process.execPath, [SOURCE, "127.0.0.1", "0", String(GiB)]);
    const source: ChildProcess = spawn(cmd, args, { stdio: ["ignore", "pipe", "inherit"] });
    try {
      const sourcePort = await new Promise<number>((resolvePort, reject) => {
        source.stdout?.on("data", (d: Buffer) => {
          const m = /listening on [^:]+:(\d+)/.exec(d.toString());
          if (m) resolvePort(Number(m[1]));
        });
        source.once("exit", () => reject(new Error("source exited")));
      });
      const port = await freePort();
      const jg = startJumpgate([
        "ssh",
        "-F",
        lab.configPath,
        "-N",
        "-L",
        `${port}:127.0.0.1:${sourcePort}`,
        "mcgonagall",
      ]);
      try {
        const { connect } = await import("node:net");
        await waitFor("listener", async () => {
          const ok = await new Promise<boolean>((r) => {
            const s = connect(port, "127.0.0.1", () => {
              s.destroy();
              r(true);
            });
            s.once("error", () => r(false));
          });
          return ok ? true : null;
        });
        // The probe above opened (and dropped) one forwarded connection; this is the real one.
        const received = await new Promise<{ bytes: number; patternOk: boolean }>((resolveRead, reject) => {
          const s = connect(port, "127.0.0.1");
          let bytes = 0;
          let patternOk = true;
          let sinceNap = 0;
          s.on("data", (c: Buffer) => {
            // The source's pattern is byte i = i mod 256 from the start of the stream.
            if (c[0] !== (bytes & 255) || c[c.length - 1] !== ((bytes + c.length - 1) & 255))
              patternOk = false;
            bytes += c.length;
            sinceNap += c.length;
            // Slow: a nap after every 8 MiB keeps the reader well behind the producer.
            if (sinceNap >= 8 * 1024 * 1024) {
              sinceNap = 0;
              s.pause();
              setTimeout(() => s.resume(), 25);
            }
          });
          s.once("end", () => resolveRead({ bytes, patternOk }));
          s.once("error", reject);
        });
        expect(received.bytes).toBe(GiB);
        expect(received.patternOk).toBe(true);
        const rss = peakRss(jg.child.pid as number);
        expect(rss).toBeLessThan(150 * 1024 * 1024);
      } finally {
        await jg.stop();
      }
    } finally {
      source.kill("SIGKILL");
    }
  }, 180_000);

  it("rekeys on RekeyLimit and the data stays intact", async () => {
    const port = await freePort();
    const jg = startJumpgate([
      "ssh",
      "-v",
      "-F",
      lab.configPath,
      "-o",
      "RekeyLimit=1M",
      "-N",
      "-L",
      `${port}:localhost:${lab.service.port}`,
      "mcgonagall",
    ]);
    try {
      await waitFor("listening", () => (/listening on/.test(jg.stderr()) ? true : null));
      const { randomBytes } = await import("node:crypto");
      const payload = randomBytes(8 * 1024 * 1024);
      const reply = await exchange({ host: "127.0.0.1", port }, payload).catch((e: Error) => {
        throw new Error(
          `${e.message}; jumpgate said:\n${jg
            .stderr()
            .split("\n")
            .filter((l) => !/Offering|Will attempt|Found key|Host '|Authentications|Next auth/.test(l))
            .join("\n")}`,
        );
      });
      expect(reply.toString()).toBe(await expectedReply(payload));
      expect(jg.stderr()).toMatch(/mcgonagall: rekeying \(RekeyLimit 1048576 bytes reached\)/);
    } finally {
      await jg.stop();
    }
  });
});
