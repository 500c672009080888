/**
 * Proves the lab itself with OpenSSH's own client, before any jumpgate test relies on it: jaguar
 * answers, mcgonagall answers only through jaguar, the localhost-only service on mcgonagall works
 * through `ssh -W` with a half-close, and stop() leaves nothing behind.
 */
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  type BastionLab,
  describeE2E,
  requireNetns,
  runSsh,
  startBastionLab,
  startPlainServer,
} from "../support/lab.js";
import { commandLine, descendantsOf, isAlive, listPids } from "../support/proc.js";

const sha256 = (data: Buffer): string => createHash("sha256").update(data).digest("hex");
const serviceReply = (data: Buffer): string => `got ${data.length} bytes sha256 ${sha256(data)}\n`;
const connectionsIn = (log: string): number => log.match(/Connection from /g)?.length ?? 0;

/** Sends `payload`, half-closes, and collects the reply; reports an error instead of throwing. */
function exchange(host: string, port: number, payload: Buffer): Promise<{ reply?: string; error?: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    socket.setTimeout(5_000, () => socket.destroy(new Error("timeout")));
    socket.on("connect", () => socket.end(payload));
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    socket.on("close", () => resolve({ reply: Buffer.concat(chunks).toString("utf8") }));
  });
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function netnsNames(): string[] {
  return execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((line) => line.split(" ")[0] ?? "")
    .filter(Boolean);
}

describeE2E("lab: bastion topology (jaguar -> mcgonagall)", "netns", () => {
  let lab: BastionLab;

  beforeAll(async () => {
    lab = await startBastionLab();
  });
  afterAll(async () => {
    await lab?.stop();
  });

  it("ssh jaguar runs a command on jaguar", async () => {
    const r = await runSsh(lab.configPath, ["jaguar", 'echo "$JG_LAB_HOST"']);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe("jaguar\n");
  });

  it("ssh mcgonagall goes through jaguar (ProxyJump) and runs on mcgonagall", async () => {
    const jaguarBefore = connectionsIn(lab.jaguar.sshdLog());
    const script = 'echo "$JG_LAB_HOST $SSH_CONNECTION"; ip netns identify 2>/dev/null || true';
    const r = await runSsh(lab.configPath, ["mcgonagall", script]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const [first = "", netns = ""] = r.stdout.toString().split("\n");
    const [marker, , , serverIp, serverPort] = first.split(" ");
    expect(marker).toBe("mcgonagall");
    // The jump really used jaguar: its sshd logged one more accepted TCP connection.
    expect(connectionsIn(lab.jaguar.sshdLog())).toBe(jaguarBefore + 1);
    if (lab.mode === "netns") {
      // Inside mcgonagall's namespace sshd listens on its own 127.0.0.1:22.
      expect(`${serverIp}:${serverPort}`).toBe("127.0.0.1:22");
      expect(netns).toBe(lab.namespaces.find((ns) => ns.endsWith("-mcg")));
    } else {
      expect(Number(serverPort)).toBe(lab.mcgonagall.port);
    }
  });

  it("mcgonagall refuses a direct connection (ProxyJump=none)", async () => {
    if (!requireNetns(lab, "mcgonagall is unreachable without jaguar")) return;
    const mcgBefore = connectionsIn(lab.mcgonagall.sshdLog());
    const r = await runSsh(lab.configPath, ["-o", "ProxyJump=none", "mcgonagall", "true"]);
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/Connection refused/);
    expect(connectionsIn(lab.mcgonagall.sshdLog())).toBe(mcgBefore);
  });

  it("the service on mcgonagall's localhost answers through ssh -W after the client's EOF", async () => {
    const payload = randomBytes(300_000);
    const r = await runSsh(lab.configPath, ["-W", `${lab.service.host}:${lab.service.port}`, "mcgonagall"], {
      input: payload,
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe(serviceReply(payload));
  });

  it("the service is not reachable from the client's namespace", async () => {
    if (!requireNetns(lab, "mcgonagall's service is unreachable from the root namespace")) return;
    const payload = Buffer.from("hello");
    const outcome = await exchange(lab.service.host, lab.service.port, payload);
    // Refused, normally; whatever else might listen there, it is not our service.
    expect(outcome.reply).not.toBe(serviceReply(payload));
  });
});

/** Tests that each start their own lab: independent, so they run concurrently to keep the file fast. */
describeE2E("lab: independent labs", "sshd", () => {
  /** Every process the lab owns right now, including sshd's per-connection children. */
  const processTree = (pids: number[]): number[] => [...pids, ...descendantsOf(pids)];
  const mentioning = (dir: string): string[] =>
    listPids()
      .filter((pid) => pid !== process.pid && isAlive(pid))
      .map(commandLine)
      .filter((cmd) => cmd.includes(dir));

  it.concurrent("plain server: ssh -F <lab config> <host> echo hi prints hi", async ({ expect }) => {
    const server = await startPlainServer();
    try {
      for (const host of [server.host, server.alias]) {
        const r = await runSsh(server.configPath, [host, "echo", "hi"]);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(r.stdout.toString()).toBe("hi\n");
      }
      expect(server.sshdLog()).toMatch(/Accepted publickey for /);
    } finally {
      await server.stop();
    }
  });

  it.concurrent("loopback mode (the non-root fallback) routes mcgonagall through jaguar", async ({
    expect,
  }) => {
    const loop = await startBastionLab({ mode: "loopback" });
    try {
      expect(loop.mode).toBe("loopback");
      expect(loop.namespaces).toEqual([]);
      const r = await runSsh(loop.configPath, ["mcgonagall", 'echo "$JG_LAB_HOST"']);
      expect(r.stderr).toBe("");
      expect(r.stdout.toString()).toBe("mcgonagall\n");
      expect(connectionsIn(loop.jaguar.sshdLog())).toBe(1);
      const payload = randomBytes(1000);
      const w = await runSsh(loop.configPath, ["-W", `127.0.0.1:${loop.service.port}`, "mcgonagall"], {
        input: payload,
      });
      expect(w.stdout.toString()).toBe(serviceReply(payload));
    } finally {
      await loop.stop();
    }
  });

  it.concurrent("bastion lab: stop() ends live sessions, sshd, socat, the service and the namespaces", async ({
    expect,
  }) => {
    const lab = await startBastionLab();
    // A session held open through both hops: its processes are in other sessions and namespaces.
    const session = runSsh(lab.configPath, ["mcgonagall", "sleep 60"], { timeoutMs: 30_000 });
    await waitFor("the session on mcgonagall", () => /Starting session/.test(lab.mcgonagall.sshdLog()));
    const tree = processTree(lab.pids());
    expect(tree.length).toBeGreaterThan(lab.pids().length);

    await lab.stop();

    expect(tree.filter(isAlive)).toEqual([]);
    if (lab.namespaces.length > 0) {
      expect(netnsNames().filter((ns) => lab.namespaces.includes(ns))).toEqual([]);
    }
    expect(existsSync(lab.dir)).toBe(false);
    expect(mentioning(lab.dir)).toEqual([]);
    // The client notices its route is gone instead of hanging until the timeout.
    const r = await session;
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(255);
    expect(lab.jaguar.sshdLog()).toMatch(/Server listening/); // logs stay readable after stop()
  });

  it.concurrent("plain server: stop() ends sshd and its sessions", async ({ expect }) => {
    const server = await startPlainServer();
    const session = runSsh(server.configPath, [server.host, "sleep 60"], { timeoutMs: 30_000 });
    await waitFor("the session", () => /Starting session/.test(server.sshdLog()));
    const tree = processTree(server.pids());
    await server.stop();
    await server.stop(); // idempotent
    expect(tree.filter(isAlive)).toEqual([]);
    expect(existsSync(server.dir)).toBe(false);
    expect((await session).code).toBe(255);
  });
});
