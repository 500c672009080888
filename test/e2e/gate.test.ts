/**
 * The gate against the real lab (you -> jaguar -> mcgonagall): `jumpgate gate start|stop|status`,
 * `jumpgate ssh` through it with no new handshake (counted in the sshd logs), exit status, stdin,
 * stderr, a pty, a CLI killed mid-stream, `jumpgate status --json`, prompts relayed to the CLI,
 * and ControlMaster auto starting a gate on demand. Every test uses its own XDG_RUNTIME_DIR, so
 * no gate here is seen by other tests (or by the user's own jumpgate).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type BastionLab, describeE2E, startBastionLab } from "../support/lab.js";
import { useTempDirs } from "../support/tmp.js";

const tempDir = useTempDirs();

const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const bin = join(repo, "bin/jumpgate.js");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runtimeDir(): string {
  const dir = tempDir("jg-gate-rt-");
  chmodSync(dir, 0o700);
  return dir;
}

function jumpgate(
  runtime: string,
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {},
): Run {
  const r = spawnSync(process.execPath, [bin, ...args], {
    input: opts.input ?? "",
    env: { ...process.env, XDG_RUNTIME_DIR: runtime, JUMPGATE_NO_GATE: "", ...opts.env },
    timeout: opts.timeout ?? 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

const logins = (log: string) => (log.match(/Accepted publickey/g) ?? []).length;

function waitFor<T>(what: string, probe: () => T | null | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolvePromise, reject) => {
    const tick = () => {
      const value = probe();
      if (value) resolvePromise(value);
      else if (Date.now() > deadline) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 100);
    };
    tick();
  });
}

describeE2E("the gate on the lab", "netns", () => {
  let lab: BastionLab;
  let cfg: string;
  let runtime: string;
  const status = () => JSON.parse(jumpgate(runtime, ["status", "--json"]).stdout);

  beforeAll(async () => {
    lab = await startBastionLab();
    const work = tempDir("jg-gate-e2e-");
    cfg = join(work, "config");
    writeFileSync(cfg, `Host *\n  ServerAliveInterval 0\nMatch all\nInclude ${lab.configPath}\n`);
    runtime = runtimeDir();
    const r = jumpgate(runtime, ["gate", "start"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^jumpgate gate: started \(pid \d+\), socket .*gate\.sock\n$/);
  }, 60_000);

  afterAll(async () => {
    if (runtime) jumpgate(runtime, ["gate", "stop"]);
    await lab?.stop();
  });

  it("keeps its socket 0600 in a 0700 directory, and a second start finds it running", () => {
    const dir = join(runtime, "jumpgate");
    expect(lstatSync(dir).mode & 0o777).toBe(0o700);
    const sock = lstatSync(join(dir, "gate.sock"));
    expect(sock.isSocket()).toBe(true);
    expect(sock.mode & 0o777).toBe(0o600);
    const again = jumpgate(runtime, ["gate", "start"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already running/);
    const st = jumpgate(runtime, ["gate", "status"]);
    expect(st.code).toBe(0);
    expect(st.stdout).toMatch(/^gate: running, pid \d+/);
  });

  it("runs ssh through the gate: the second command makes no new handshake on jaguar or mcgonagall", () => {
    const first = jumpgate(runtime, ["ssh", "-F", cfg, "mcgonagall", "echo $JG_LAB_HOST"]);
    expect(first.stderr).toBe("");
    expect(first.stdout).toBe("mcgonagall\n");
    expect(first.code).toBe(0);
    const before = [logins(lab.jaguar.sshdLog()), logins(lab.mcgonagall.sshdLog())];
    const second = jumpgate(runtime, ["ssh", "-F", cfg, "mcgonagall", "true"]);
    expect(second.code).toBe(0);
    const third = jumpgate(runtime, ["ssh", "-F", cfg, "mcgonagall", "echo", "again"]);
    expect(third.stdout).toBe("again\n");
    expect([logins(lab.jaguar.sshdLog()), logins(lab.mcgonagall.sshdLog())]).toEqual(before);
    // And the direct path really does handshake (the count above could not move otherwise).
    const direct = jumpgate(runtime, ["ssh", "-F", cfg, "mcgonagall", "true"], {
      env: { JUMPGATE_NO_GATE: "1" },
    });
    expect(direct.code).toBe(0);
    expect(logins(lab.mcgonagall.sshdLog())).toBe((before[1] ?? 0) + 1);
  });

  it("carries stdin, stdout, stderr and the exit status like the direct path", () => {
    const data = "line one\nline two ~. not an escape\n".repeat(2000);
    const cat = jumpgate(runtime, ["ssh", "-F", cfg, "mcgonagall", "cat"], { input: data });
    expect(cat.code).toBe(0);
    expect(cat.stdout).toBe(data);
    const mixed = jumpgate(runtime, ["ssh", "-F", cfg, "mcgonagall", "echo out; echo err >&2; exit 7"]);
    expect(mixed.stdout).toBe("out\n");
    expect(mixed.stderr).toBe("err\n");
    expect(mixed.code).toBe(7);
    const killed = jumpgate(runtime, ["ssh", "-F", cfg, "mcgonagall", "kill -TERM $$"]);
    expect(killed.code).toBe(255);
    expect(killed.stderr).toMatch(/remote command killed by signal SIGTERM/);
  });

  it("allocates a pty with -tt, as ssh does", () => {
    const r = jumpgate(runtime, ["ssh", "-F", cfg, "-tt", "mcgonagall", "tty; stty size"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\/dev\/pts\/\d+\r\n\d+ \d+\r\n$/);
    const noPty = jumpgate(runtime, ["ssh", "-F", cfg, "-t", "mcgonagall", "tty"]);
    expect(noPty.stdout).toBe("not a tty\n");
    expect(noPty.stderr).toMatch(/Pseudo-terminal will not be allocated because stdin is not a terminal/);
  });

  it("gives an interactive shell in a real terminal: raw mode, resize as window change, ~. ends only the session", async () => {
    if (spawnSync("tmux", ["-V"]).status !== 0)
      throw new Error("tmux is needed (Debian: apt-get install tmux)");
    const session = `jg-gate-${process.pid}`;
    const tmux = (...args: string[]) => {
      const r = spawnSync("tmux", args, { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`tmux ${args.join(" ")}: ${r.stderr}`);
      return r.stdout;
    };
    const screen = (pattern: RegExp) =>
      waitFor(`${pattern} on the screen`, () => {
        const text = tmux("capture-pane", "-p", "-t", session);
        return pattern.test(text) ? text : null;
      });
    expect(jumpgate(runtime, ["ssh", "-F", cfg, "mcgonagall", "true"]).code).toBe(0);
    const before = logins(lab.mcgonagall.sshdLog());
    const command = `XDG_RUNTIME_DIR=${runtime} ${process.execPath} ${bin} ssh -F ${cfg} mcgonagall; echo "EXIT=$?"; stty -a | tr ' ' '\\n' | grep -x -e echo -e -echo -e icanon -e -icanon | tr '\\n' ' '; echo; sleep 60`;
    tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", command);
    try {
      await screen(/:~[#$]\s*$/m);
      tmux("send-keys", "-t", session, "echo host=$JG_LAB_HOST sum=$((6*7))", "Enter");
      await screen(/host=mcgonagall sum=42/);
      tmux("resize-window", "-t", session, "-x", "120", "-y", "40");
      await new Promise((r) => setTimeout(r, 300));
      tmux("send-keys", "-t", session, "stty size", "Enter");
      await screen(/^40 120\s*$/m);
      tmux("send-keys", "-t", session, "Enter");
      tmux("send-keys", "-t", session, "-l", "~.");
      const text = await screen(/EXIT=\d+[\s\S]*(echo|-echo)/);
      expect(text).toMatch(/Connection to mcgonagall closed\./);
      expect(text).toMatch(/EXIT=255/);
      const modes = (/EXIT=255\s*\n(.*)/.exec(text)?.[1] ?? "").trim().split(/\s+/);
      expect(modes.sort()).toEqual(["echo", "icanon"]);
    } finally {
      spawnSync("tmux", ["kill-session", "-t", session]);
    }
    // Through the gate: no new login, and ~. left the shared connection up.
    expect(logins(lab.mcgonagall.sshdLog())).toBe(before);
    expect(jumpgate(runtime, ["ssh", "-F", cfg, "mcgonagall", "echo still"]).stdout).toBe("still\n");
  }, 60_000);

  it("reports errors from the gate with their codes", () => {
    const r = jumpgate(runtime, [
      "ssh",
      "-F",
      cfg,
      "-o",
      "ProxyJump=none",
      "-o",
      "ConnectTimeout=3",
      "mcgonagall",
      "true",
    ]);
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/^jumpgate: JG_CONNECT_(REFUSED|TIMEOUT): mcgonagall/);
  });

  it("forwards (-L, or LocalForward in the config) are set up on a direct connection, never dropped", async () => {
    // A port already taken: with ExitOnForwardFailure the direct path must fail to bind it; had the
    // gate run the session, the forward would have been silently ignored and `true` exited 0.
    const busy = createServer();
    await new Promise<void>((ok) => busy.listen(0, "127.0.0.1", ok));
    const port = (busy.address() as AddressInfo).port;
    try {
      const flag = jumpgate(runtime, [
        "ssh",
        "-F",
        cfg,
        "-o",
        "ExitOnForwardFailure=yes",
        "-L",
        `127.0.0.1:${port}:localhost:12345`,
        "mcgonagall",
        "true",
      ]);
      expect(flag.code).toBe(255);
      expect(flag.stderr).toMatch(/JG_FORWARD_BIND/);
      const withForward = join(tempDir("jg-gate-fwd-"), "config");
      writeFileSync(
        withForward,
        `Host mcgonagall\n  LocalForward 127.0.0.1:${port} localhost:12345\n  ExitOnForwardFailure yes\nMatch all\nInclude ${cfg}\n`,
      );
      const config = jumpgate(runtime, ["ssh", "-F", withForward, "mcgonagall", "true"]);
      expect(config.code).toBe(255);
      expect(config.stderr).toMatch(/JG_FORWARD_BIND/);
      expect(config.stderr).not.toMatch(/JG_GATE_DIRECT/);
    } finally {
      busy.close();
    }
  });

  it("a CLI killed mid-stream affects nothing else: its channel closes, another session goes on", async () => {
    const env = { ...process.env, XDG_RUNTIME_DIR: runtime };
    const spawnSsh = (command: string): ChildProcess =>
      spawn(process.execPath, [bin, "ssh", "-F", cfg, "mcgonagall", command], {
        env,
        stdio: ["pipe", "pipe", "pipe"],
      });
    // A command that reads its input: a dead client means end of input for it (as with ssh).
    const victim = spawnSsh("echo started; cat > /dev/null");
    const survivor = spawnSsh("echo ready; read line; echo got $line");
    let victimOut = "";
    let survivorOut = "";
    victim.stdout?.on("data", (d: Buffer) => {
      victimOut += d.toString();
    });
    survivor.stdout?.on("data", (d: Buffer) => {
      survivorOut += d.toString();
    });
    await waitFor("both sessions", () => victimOut.includes("started") && survivorOut.includes("ready"));
    const channelsBefore = status().connections.find((c: { hops: string[] }) => c.hops.length === 2).channels;
    expect(channelsBefore).toBe(2);
    victim.kill("SIGKILL");
    await waitFor(
      "the victim's channel to close",
      () => status().connections.find((c: { hops: string[] }) => c.hops.length === 2)?.channels === 1,
    );
    const survived = new Promise<number | null>((r) => survivor.once("exit", r));
    survivor.stdin?.end("hello\n");
    expect(await survived).toBe(0);
    expect(survivorOut).toBe("ready\ngot hello\n");
  }, 60_000);

  it("jumpgate status --json: routes, state, uptime, RTT from keepalives, auth method, channels", async () => {
    jumpgate(runtime, ["ssh", "-F", cfg, "mcgonagall", "true"]);
    const s = await waitFor("an RTT", () => {
      const st = status();
      return st.connections.every((c: { rttMs: number | null }) => typeof c.rttMs === "number") ? st : null;
    });
    expect(s.gate.pid).toBeGreaterThan(0);
    const routes = s.connections.map((c: { hops: string[] }) => c.hops.join(" -> ")).sort();
    expect(routes).toEqual(["jaguar", "jaguar -> mcgonagall"]);
    for (const c of s.connections) {
      expect(c.state).toBe("ready");
      expect(c.authMethod).toBe("publickey");
      expect(c.rttMs).toBeGreaterThan(0);
      expect(c.uptimeMs).toBeGreaterThanOrEqual(0);
      expect(typeof c.channels).toBe("number");
    }
    const text = jumpgate(runtime, ["status"]);
    expect(text.stdout).toMatch(/you -> jaguar -> mcgonagall\s+ready/);
    expect(s.tunnels).toEqual([]);
  });

  it("relays a host key question to the CLI (askpass here), since the gate has no terminal", () => {
    const work = tempDir("jg-gate-ask-");
    const knownHosts = join(work, "known_hosts");
    writeFileSync(knownHosts, "");
    const askpass = join(work, "askpass.sh");
    const asked = join(work, "asked");
    writeFileSync(askpass, `#!/bin/sh\nprintf '%s\\n' "$1" >> ${asked}\necho yes\n`, { mode: 0o700 });
    const r = jumpgate(
      runtime,
      [
        "ssh",
        "-F",
        cfg,
        // A route of its own (through a ProxyCommand), so that the gate opens a new connection and
        // checks mcgonagall's key against an empty known_hosts.
        "-o",
        `ProxyCommand=ssh -F ${lab.configPath} -W %h:%p jaguar`,
        "-o",
        `UserKnownHostsFile=${knownHosts}`,
        "-o",
        "StrictHostKeyChecking=ask",
        "-o",
        "BatchMode=no",
        "mcgonagall",
        "echo ok",
      ],
      { env: { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: "force", DISPLAY: "" } },
    );
    expect(r.stdout).toBe("ok\n");
    expect(r.code).toBe(0);
    expect(readFileSync(asked, "utf8")).toMatch(/authenticity of host .* can't be established/);
    expect(readFileSync(knownHosts, "utf8")).toMatch(/ssh-ed25519/);
  });

  it("gate status and stop without a gate: JG_GATE_NOT_RUNNING; status says so and exits 0", () => {
    const empty = runtimeDir();
    const st = jumpgate(empty, ["gate", "status"]);
    expect(st.code).toBe(1);
    expect(st.stderr).toMatch(/^jumpgate: JG_GATE_NOT_RUNNING: No gate is running/);
    expect(jumpgate(empty, ["gate", "stop"]).stderr).toMatch(/JG_GATE_NOT_RUNNING/);
    const s = jumpgate(empty, ["status", "--json"]);
    expect(s.code).toBe(0);
    expect(JSON.parse(s.stdout)).toEqual({ gate: null, connections: [], tunnels: [] });
  });

  it("refuses a gate directory other users can enter (JG_GATE_DIR_UNSAFE)", () => {
    const rt = runtimeDir();
    mkdirSync(join(rt, "jumpgate"), { mode: 0o755 });
    chmodSync(join(rt, "jumpgate"), 0o755);
    const r = jumpgate(rt, ["gate", "start"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^jumpgate: JG_GATE_DIR_UNSAFE: .* accessible to other users \(mode 755\)/);
    // jumpgate ssh refuses too rather than talk to a socket there.
    const s = jumpgate(rt, ["ssh", "-F", cfg, "jaguar", "true"]);
    expect(s.stderr).toMatch(/JG_GATE_DIR_UNSAFE/);
  });

  it("replaces a stale socket left by a gate that died", async () => {
    const rt = runtimeDir();
    const dir = join(rt, "jumpgate");
    mkdirSync(dir, { mode: 0o700 });
    // A socket file nobody listens on: what a gate killed with SIGKILL leaves behind.
    const path = join(dir, "gate.sock");
    const listener = spawnSync(process.execPath, [
      "-e",
      `require("node:net").createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, "SIGKILL"))`,
    ]);
    expect(listener.signal).toBe("SIGKILL");
    expect(lstatSync(path).isSocket()).toBe(true);
    const r = jumpgate(rt, ["gate", "start"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/started/);
    expect(jumpgate(rt, ["ssh", "-F", cfg, "jaguar", "echo $JG_LAB_HOST"]).stdout).toBe("jaguar\n");
    expect(jumpgate(rt, ["gate", "stop"]).stdout).toMatch(/stopped/);
    expect(() => lstatSync(path)).toThrow();
  });

  it("leaves a file that is not a socket where the socket goes, and says so", () => {
    const rt = runtimeDir();
    const dir = join(rt, "jumpgate");
    mkdirSync(dir, { mode: 0o700 });
    const path = join(dir, "gate.sock");
    writeFileSync(path, "not a socket\n");
    const r = jumpgate(rt, ["gate", "start"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /JG_GATE_START: .*gate\.sock exists and is not a socket; jumpgate does not remove it/,
    );
    expect(readFileSync(path, "utf8")).toBe("not a socket\n");
  });

  it("ControlMaster auto starts a gate on demand, which stops after ControlPersist with nothing open", async () => {
    const rt = runtimeDir();
    const work = tempDir("jg-gate-auto-");
    const autoCfg = join(work, "config");
    writeFileSync(
      autoCfg,
      `Host *\n  ControlMaster auto\n  ControlPersist 2s\nMatch all\nInclude ${lab.configPath}\n`,
    );
    const before = logins(lab.jaguar.sshdLog());
    const first = jumpgate(rt, ["ssh", "-F", autoCfg, "mcgonagall", "echo one"]);
    expect(first.stdout).toBe("one\n");
    expect(first.code).toBe(0);
    expect(jumpgate(rt, ["gate", "status"]).code).toBe(0);
    const second = jumpgate(rt, ["ssh", "-F", autoCfg, "mcgonagall", "echo two"]);
    expect(second.stdout).toBe("two\n");
    expect(logins(lab.jaguar.sshdLog()) - before).toBe(1);
    await waitFor("the on-demand gate to stop", () => jumpgate(rt, ["gate", "status"]).code === 1, 30_000);
  }, 60_000);
});
