/**
 * Tunnels held by the gate, on the lab: `jumpgate tunnels add mcgonagall -L ...` reaches
 * mcgonagall's localhost-only service after the command returned; `tunnels ls --json` counts its
 * connections and bytes; when jaguar's sshd connection is killed the tunnel goes "reconnecting",
 * keeps its listener, comes back and serves again; `tunnels up` starts a config LocalForward;
 * `tunnels rm` frees the port.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { GateClient } from "../../src/gate/client.js";
import { type BastionLab, describeE2E, startBastionLab } from "../support/lab.js";
import { useTempDirs } from "../support/tmp.js";

const tempDir = useTempDirs();

const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const bin = join(repo, "bin/jumpgate.js");

function freePort(): Promise<number> {
  return new Promise((r) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => r(port));
    });
  });
}

/** The lab's reply-after-EOF service: send, half-close, read its answer. */
function askService(port: number, text: string): Promise<string> {
  return new Promise((r, reject) => {
    const s = connect(port, "127.0.0.1", () => s.end(text));
    let out = "";
    s.on("data", (d: Buffer) => {
      out += d.toString();
    });
    s.on("close", () => r(out));
    s.on("error", reject);
  });
}

async function waitFor<T>(
  what: string,
  probe: () => T | null | undefined | false,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describeE2E("tunnels held by the gate", "netns", () => {
  let lab: BastionLab;
  let runtime: string;
  let cfg: string;
  const env = () => ({ ...process.env, XDG_RUNTIME_DIR: runtime });
  const jumpgate = (args: string[]) => {
    const r = spawnSync(process.execPath, [bin, ...args], { env: env(), encoding: "utf8", timeout: 60_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const rows = () =>
    JSON.parse(jumpgate(["tunnels", "ls", "--json"]).stdout) as Array<Record<string, unknown>>;

  beforeAll(async () => {
    lab = await startBastionLab();
    const work = tempDir("jg-gate-tun-");
    cfg = join(work, "config");
    writeFileSync(cfg, `Match all\nInclude ${lab.configPath}\n`);
    runtime = tempDir("jg-gate-rt-");
    chmodSync(runtime, 0o700);
  }, 60_000);

  afterAll(async () => {
    if (runtime) jumpgate(["gate", "stop"]);
    await lab?.stop();
  });

  /** sshd processes serving connections on jaguar (not its listener), as test/e2e/manager.test.ts finds them. */
  function jaguarConnectionPids(): string[] {
    const pids = spawnSync("pgrep", ["-f", "sshd: .*@notty|sshd: [a-z]+ \\[priv\\]|sshd: [a-z]+$"], {
      encoding: "utf8",
    })
      .stdout.trim()
      .split("\n")
      .filter(Boolean);
    return pids.filter((pid) => {
      const ns = spawnSync("ip", ["netns", "identify", pid], { encoding: "utf8" }).stdout.trim();
      // This lab's jaguar only: other test files run labs of their own at the same time.
      const ours = lab.namespaces.find((n) => n.endsWith("jaguar"));
      return (ours !== undefined && ns === ours) || (lab.mode === "loopback" && ns === "");
    });
  }

  it("adds a -L tunnel that outlives the command, counts its traffic, and survives jaguar's connection being killed", async () => {
    const port = await freePort();
    const added = jumpgate([
      "tunnels",
      "add",
      "-F",
      cfg,
      "mcgonagall",
      "-L",
      `127.0.0.1:${port}:${lab.service.host}:${lab.service.port}`,
    ]);
    expect(added.stderr).toMatch(/started the gate/);
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(
      /^L\d+ {2}-L .* via mcgonagall: listening, listening on 127\.0\.0\.1:\d+\n$/,
    );
    const id = /^(L\d+)/.exec(added.stdout)?.[1] as string;
    // The command has exited; the gate holds the listener.
    const reply = await askService(port, "ping\n");
    expect(reply).toMatch(/^got 5 bytes/);
    const row = rows().find((r) => r.id === id) as Record<string, unknown>;
    expect(row).toMatchObject({
      state: "listening",
      total: 1,
      active: 0,
      destination: "mcgonagall",
      hops: ["jaguar", "mcgonagall"],
    });
    expect(row.bytesOut).toBe(5);
    expect(row.bytesIn as number).toBeGreaterThan(0);

    // Watch the tunnel's states through a subscription while jaguar's side goes away.
    const sock = join(runtime, "jumpgate", "gate.sock");
    const { client } = await GateClient.connect(sock);
    const states: string[] = [];
    await client.request("subscribe", undefined, {
      onEvent: (e) => {
        const ev = e as { kind: string; id?: string; state?: string };
        if (ev.kind === "tunnel-state" && ev.id === id && ev.state) states.push(ev.state);
      },
    });
    const victims = jaguarConnectionPids();
    expect(victims.length).toBeGreaterThan(0);
    for (const pid of victims) spawnSync("kill", ["-KILL", pid]);
    await waitFor("reconnecting, then listening", () => {
      const at = states.indexOf("reconnecting");
      return at >= 0 && states.indexOf("listening", at) > at;
    });
    client.close();
    const after = rows().find((r) => r.id === id) as Record<string, unknown>;
    expect(after.state).toBe("listening");
    expect(after.listening).toEqual([`127.0.0.1:${port}`]);
    expect(String(after.lastError)).toMatch(/lost/);
    // Same port, served again.
    expect(await askService(port, "pong!\n")).toMatch(/^got 6 bytes/);
    expect((rows().find((r) => r.id === id) as Record<string, unknown>).total).toBe(2);

    const rm = jumpgate(["tunnels", "rm", id]);
    expect(rm.stdout).toBe(`${id} removed\n`);
    expect(rows().some((r) => r.id === id)).toBe(false);
    await expect(askService(port, "x")).rejects.toThrow(/ECONNREFUSED/);
  }, 90_000);

  it("tunnels up starts a destination's LocalForward; rm of an unknown id is JG_TUNNEL_NOT_FOUND", async () => {
    const port = await freePort();
    const upCfg = join(tempDir("jg-gate-up-"), "config");
    writeFileSync(
      upCfg,
      `Host mcgonagall\n  LocalForward 127.0.0.1:${port} ${lab.service.host}:${lab.service.port}\nMatch all\nInclude ${lab.configPath}\n`,
    );
    const up = jumpgate(["tunnels", "up", "-F", upCfg, "mcgonagall"]);
    expect(up.code).toBe(0);
    expect(up.stdout).toMatch(new RegExp(`-L 127\\.0\\.0\\.1:${port}:`));
    expect(await askService(port, "abc\n")).toMatch(/^got 4 bytes/);
    const text = jumpgate(["tunnels", "ls"]);
    expect(text.stdout).toMatch(/you -> jaguar -> mcgonagall/);
    const status = JSON.parse(jumpgate(["status", "--json"]).stdout);
    expect(status.tunnels.length).toBeGreaterThan(0);
    const missing = jumpgate(["tunnels", "rm", "L999"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^jumpgate: JG_TUNNEL_NOT_FOUND: /);
    const none = jumpgate(["tunnels", "up", "-F", cfg, "jaguar"]);
    expect(none.stderr).toMatch(/JG_FORWARD_SPEC: jaguar has no LocalForward/);
  }, 60_000);
});
