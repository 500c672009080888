/**
 * The connection manager in-process against the real lab: one jaguar connection shared by two
 * destinations behind it, and a hop's loss closing what was built on it, with the reason.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { resolveHops } from "../../src/config/resolve.js";
import type { ConnectionEvent } from "../../src/connection/events.js";
import { ConnectionManager } from "../../src/connection/manager.js";
import { createSecurity } from "../../src/connection/security.js";
import { silentLogger } from "../../src/util/log.js";
import { type BastionLab, describeE2E, startBastionLab } from "../support/lab.js";
import { useTempDirs } from "../support/tmp.js";

const tempDir = useTempDirs();

function connectionsAccepted(log: string): number {
  return log.split("\n").filter((l) => /Connection from .* port \d+ on/.test(l)).length;
}

describeE2E("connection manager on the lab", "netns", () => {
  let lab: BastionLab;
  let cfg: string;

  beforeAll(async () => {
    lab = await startBastionLab();
    const dir = tempDir("jg-manager-e2e-");
    cfg = join(dir, "config");
    writeFileSync(
      cfg,
      `Host mcg2\n  HostName ${lab.mcgonagall.host}\n  Port ${lab.mcgonagall.port}\n  HostKeyAlias ${lab.mcgonagall.host}\n  ProxyJump jaguar\nMatch all\nInclude ${lab.configPath}\n`,
    );
  });

  afterAll(async () => {
    await lab?.stop();
  });

  /** The sshd processes serving connections on jaguar (not its listener). */
  function jaguarConnectionPids(): string[] {
    const pids = spawnSync("pgrep", ["-f", "sshd: .*@notty|sshd: [a-z]+ \\[priv\\]|sshd: [a-z]+$"], {
      encoding: "utf8",
    })
      .stdout.trim()
      .split("\n")
      .filter(Boolean);
    return pids.filter((pid) => {
      const ns = spawnSync("ip", ["netns", "identify", pid], { encoding: "utf8" }).stdout.trim();
      return ns.endsWith("jaguar") || (lab.mode === "loopback" && ns === "");
    });
  }

  const hopsFor = (destination: string) =>
    resolveHops({ items: [{ kind: "destination", value: destination }], configFile: cfg });

  async function run(manager: ConnectionManager, destination: string, command: string): Promise<string> {
    const lease = await manager.acquire(hopsFor(destination));
    try {
      const { channel, done } = await lease.session.exec(command);
      let out = "";
      channel.on("data", (d: Buffer) => {
        out += d.toString();
      });
      await done;
      return out;
    } finally {
      lease.release();
    }
  }

  it("shares one jaguar connection between two destinations behind it", async () => {
    const before = connectionsAccepted(lab.jaguar.sshdLog());
    const manager = new ConnectionManager({
      security: createSecurity({ log: silentLogger, batchMode: true }),
      log: silentLogger,
      idleTimeout: 10_000,
    });
    const events: ConnectionEvent[] = [];
    manager.on((e) => events.push(e));
    try {
      const [a, b] = await Promise.all([
        run(manager, "mcgonagall", "echo $JG_LAB_HOST"),
        run(manager, "mcg2", "echo $JG_LAB_HOST"),
      ]);
      expect(a).toBe("mcgonagall\n");
      expect(b).toBe("mcgonagall\n");
      // A second command reuses the connection: no new handshake anywhere.
      const lease = await manager.acquire(hopsFor("mcgonagall"));
      expect(lease.reused).toBe(true);
      lease.release();
      expect(connectionsAccepted(lab.jaguar.sshdLog()) - before).toBe(1);
      const jaguarReady = events.filter((e) => e.kind === "ready" && e.hop === "jaguar" && !e.reused);
      expect(jaguarReady).toHaveLength(1);
      expect(events.some((e) => e.kind === "authenticated" && e.method === "publickey")).toBe(true);
    } finally {
      await manager.close();
    }
  });

  it("detects a peer that stops answering (ServerAliveInterval/ServerAliveCountMax)", async () => {
    const manager = new ConnectionManager({
      security: createSecurity({ log: silentLogger, batchMode: true }),
      log: silentLogger,
      idleTimeout: 10_000,
    });
    const hops = resolveHops({
      items: [
        { kind: "option", value: "ServerAliveInterval=1" },
        { kind: "option", value: "ServerAliveCountMax=2" },
        { kind: "destination", value: "jaguar" },
      ],
      configFile: cfg,
    });
    const lease = await manager.acquire(hops);
    const lost = new Promise<string>((r) => lease.session.onClose(r));
    const stopped = jaguarConnectionPids();
    expect(stopped.length).toBeGreaterThan(0);
    // Freeze jaguar's side of our connection: TCP stays up, SSH stops answering.
    for (const pid of stopped) spawnSync("kill", ["-STOP", pid]);
    try {
      const reason = await lost;
      expect(reason).toMatch(/keepalive/i);
    } finally {
      for (const pid of stopped) spawnSync("kill", ["-KILL", pid]);
      lease.release();
      await manager.close();
    }
  }, 30_000);

  it("closes mcgonagall's connection with a clear reason when jaguar's is killed", async () => {
    const manager = new ConnectionManager({
      security: createSecurity({ log: silentLogger, batchMode: true }),
      log: silentLogger,
      idleTimeout: 10_000,
    });
    const closed: ConnectionEvent[] = [];
    manager.on((e) => {
      if (e.kind === "closed") closed.push(e);
    });
    const lease = await manager.acquire(hopsFor("mcgonagall"));
    const lost = new Promise<string>((r) => lease.session.onClose(r));
    // Kill the sshd process serving our connection on jaguar (not the listener).
    const pids = spawnSync("pgrep", ["-f", "sshd: .*@notty|sshd: [a-z]+ \\[priv\\]|sshd: [a-z]+$"], {
      encoding: "utf8",
    })
      .stdout.trim()
      .split("\n")
      .filter(Boolean);
    const jaguarPids = pids.filter((pid) => {
      const ns = spawnSync("ip", ["netns", "identify", pid], { encoding: "utf8" }).stdout.trim();
      return ns.endsWith("jaguar") || (lab.mode === "loopback" && ns === "");
    });
    expect(jaguarPids.length).toBeGreaterThan(0);
    for (const pid of jaguarPids) spawnSync("kill", ["-KILL", pid]);
    const reason = await lost;
    expect(reason).toMatch(/hop jaguar was lost/);
    expect(closed.some((e) => e.hop === "jaguar")).toBe(true);
    expect(closed.some((e) => e.kind === "closed" && e.hop === "mcgonagall" && /jaguar/.test(e.reason))).toBe(
      true,
    );
    lease.release();
    await manager.close();
  });
});
