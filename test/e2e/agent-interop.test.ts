/**
 * jumpgate's agent against OpenSSH's own clients: the real `ssh-add` manages keys in it, and the real
 * `ssh` logs into a real sshd with only the agent's keys.
 */
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import { Keyring } from "../../src/agent/keyring.js";
import { type AgentListener, listenAgent } from "../../src/agent/server.js";
import { describeE2E, type PlainServer, startPlainServer } from "../support/lab.js";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { env: { ...process.env, ...env }, timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 255) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    child.stdin?.end();
  });
}

describeE2E("agent interop with OpenSSH ssh-add and ssh", "sshd", () => {
  let server: PlainServer;
  let agent: AgentListener;
  let keyring: Keyring;
  let dir: string;
  const signFlags: number[] = [];
  const keys: Record<string, string> = {};
  let askYes: string;
  let askNo: string;
  let confirmYes: string;
  let askLock: string;
  let askWrong: string;
  let sshConfig: string;

  const env = (askpass = askYes): NodeJS.ProcessEnv => ({
    SSH_AUTH_SOCK: agent.path,
    SSH_ASKPASS: askpass,
    SSH_ASKPASS_REQUIRE: "force",
    DISPLAY: ":0",
  });
  const sshAdd = (args: string[], askpass?: string) => run("ssh-add", args, env(askpass));
  const pub = (k: string) => readFileSync(`${k}.pub`, "utf8").trim();
  const fp = (k: string) =>
    execFileSync("ssh-keygen", ["-lf", `${k}.pub`], { encoding: "utf8" }).split(" ")[1]!;
  const listedFingerprints = async () => {
    const r = await sshAdd(["-l"]);
    if (r.code !== 0) return [];
    return r.stdout
      .trim()
      .split("\n")
      .map((l) => l.split(" ")[1]!);
  };
  const login = (extra: string[] = []) =>
    run("ssh", [
      "-F",
      sshConfig,
      "-o",
      `IdentityAgent=${agent.path}`,
      "-o",
      "IdentitiesOnly=no",
      "-o",
      "IdentityFile=none",
      ...extra,
      server.alias,
      "true",
    ]);

  beforeAll(async () => {
    server = await startPlainServer();
    dir = mkdtempSync(path.join(tmpdir(), "jg-agent-e2e-"));
    const script = (name: string, body: string) => {
      const p = path.join(dir, name);
      writeFileSync(p, `#!/bin/sh\n${body}\n`, { mode: 0o700 });
      return p;
    };
    askYes = script("ask-yes", "echo secret-pass");
    // The agent's confirm askpass: yes only when asked as a confirm prompt and the yes-file exists.
    confirmYes = path.join(dir, "confirm-yes");
    askNo = script(
      "ask-confirm",
      `[ "$SSH_ASKPASS_PROMPT" = confirm ] && [ -n "$1" ] && [ -f '${confirmYes}' ]`,
    );
    askLock = script("ask-lock", "echo lock-pass");
    askWrong = script("ask-wrong", "echo not-the-pass");
    const gen = (name: string, args: string[], pass = "") => {
      const p = path.join(dir, name);
      execFileSync("ssh-keygen", ["-q", ...args, "-N", pass, "-C", `jg-${name}`, "-f", p]);
      keys[name] = p;
    };
    gen("ed25519", ["-t", "ed25519"]);
    gen("ecdsa256", ["-t", "ecdsa", "-b", "256"]);
    gen("ecdsa384", ["-t", "ecdsa", "-b", "384"]);
    gen("ecdsa521", ["-t", "ecdsa", "-b", "521"]);
    gen("rsa", ["-t", "rsa", "-b", "2048"]);
    gen("protected", ["-t", "ed25519"], "secret-pass");
    // The lab's config names its own IdentityFile (which accumulates, so `-o IdentityFile=none`
    // cannot remove it) and disables the agent: keep every other line, so only the agent can log in.
    const labConfig = readFileSync(server.configPath, "utf8")
      .split("\n")
      .filter((l) => !/^\s*(IdentityFile|IdentityAgent|IdentitiesOnly)\b/i.test(l))
      .join("\n");
    sshConfig = path.join(dir, "ssh_config");
    writeFileSync(sshConfig, labConfig, { mode: 0o600 });
    appendFileSync(path.join(server.dir, "authorized_keys"), `${pub(keys.rsa!)}\n`);

    const inner = new Keyring({ askpass: askNo });
    keyring = inner;
    const origSign = inner.sign.bind(inner);
    inner.sign = (blob, data, flags) => {
      signFlags.push(flags);
      return origSign(blob, data, flags);
    };
    agent = await listenAgent({ keyring: inner });
  });

  afterAll(async () => {
    await agent?.close();
    keyring?.close();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("creates the socket 0600 in a 0700 directory", () => {
    expect(statSync(agent.path).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(agent.path)).mode & 0o777).toBe(0o700);
  });

  it("ssh-add adds ed25519, ecdsa and rsa keys; -l and -L match ssh-keygen and the .pub files", async () => {
    const names = ["ed25519", "ecdsa256", "ecdsa384", "ecdsa521", "rsa"];
    for (const n of names) {
      const r = await sshAdd([keys[n]!]);
      expect(r.code, r.stderr).toBe(0);
    }
    expect(await listedFingerprints()).toEqual(names.map((n) => fp(keys[n]!)));
    const L = await sshAdd(["-L"]);
    expect(L.code).toBe(0);
    expect(L.stdout.trim().split("\n")).toEqual(names.map((n) => pub(keys[n]!)));
    // ssh-add -T asks the agent for a signature and verifies it itself.
    for (const n of names) {
      const t = await sshAdd(["-T", `${keys[n]!}.pub`]);
      expect(t.code, `${n}: ${t.stderr}`).toBe(0);
    }
  });

  it("adds a passphrase-protected key, asking through SSH_ASKPASS", async () => {
    const r = await sshAdd([keys.protected!]);
    expect(r.code, r.stderr).toBe(0);
    expect(await listedFingerprints()).toContain(fp(keys.protected!));
  });

  it("ssh-add -d removes one key and -D removes all", async () => {
    const r = await sshAdd(["-d", keys.ecdsa384!]);
    expect(r.code, r.stderr).toBe(0);
    const after = await listedFingerprints();
    expect(after).not.toContain(fp(keys.ecdsa384!));
    expect(after).toContain(fp(keys.ed25519!));
    const again = await sshAdd(["-d", keys.ecdsa384!]);
    expect(again.code).not.toBe(0);
    expect((await sshAdd(["-D"])).code).toBe(0);
    const l = await sshAdd(["-l"]);
    expect(l.code).toBe(1);
    expect(l.stdout).toMatch(/no identities/);
  });

  it("ssh-add -x locks and -X unlocks with the passphrase; a wrong one is refused", async () => {
    expect((await sshAdd([keys.ed25519!])).code).toBe(0);
    const lock = await sshAdd(["-x"], askLock);
    expect(lock.code, lock.stderr).toBe(0);
    expect(await listedFingerprints()).toEqual([]);
    expect((await sshAdd([keys.ecdsa256!])).code).not.toBe(0);
    const wrong = await sshAdd(["-X"], askWrong);
    expect(wrong.code).not.toBe(0);
    expect(await listedFingerprints()).toEqual([]);
    const unlock = await sshAdd(["-X"], askLock);
    expect(unlock.code, unlock.stderr).toBe(0);
    expect(await listedFingerprints()).toEqual([fp(keys.ed25519!)]);
    expect((await sshAdd(["-D"])).code).toBe(0);
  });

  it("ssh-add -t 2: the key is gone after its lifetime", async () => {
    expect((await sshAdd(["-t", "2", keys.ecdsa521!])).code).toBe(0);
    expect(await listedFingerprints()).toEqual([fp(keys.ecdsa521!)]);
    await sleep(3000);
    expect(await listedFingerprints()).toEqual([]);
  });

  it("ssh logs into a real sshd with only the agent's ed25519 key", async () => {
    expect((await sshAdd([server.identityPath])).code).toBe(0);
    const r = await login(["-v"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Server accepts key: .*ED25519 SHA256:\S+ .*agent/);
    // ssh bound the session to the server's host key with session-bind@openssh.com.
    const hostKeyLine = readFileSync(server.knownHostsPath, "utf8").trim().split("\n")[0]!;
    const hostBlob = Buffer.from(hostKeyLine.split(" ")[2]!, "base64");
    expect(keyring.sessionBinds.some((b) => b.hostKey.equals(hostBlob) && !b.forwarding)).toBe(true);
    expect((await sshAdd(["-D"])).code).toBe(0);
  });

  it("ssh logs in with the agent's rsa key using rsa-sha2-512", async () => {
    expect((await sshAdd([keys.rsa!])).code).toBe(0);
    signFlags.length = 0;
    const r = await login(["-vvv"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Server accepts key: .*RSA SHA256:\S+ .*agent/);
    expect(r.stderr).toMatch(/sign_and_send_pubkey: signing using rsa-sha2-512 SHA256:/);
    expect(signFlags).toEqual([4]); // SSH_AGENT_RSA_SHA2_512
    expect(server.sshdLog()).toMatch(/Accepted publickey for \S+ from 127\.0\.0\.1 .*RSA SHA256:/);
    expect((await sshAdd(["-D"])).code).toBe(0);
  });

  it("ssh-add -c: the agent asks through its askpass; yes lets the login through, no refuses it", async () => {
    expect((await sshAdd(["-c", server.identityPath])).code).toBe(0);
    writeFileSync(confirmYes, "");
    const ok = await login();
    expect(ok.code, ok.stderr).toBe(0);
    rmSync(confirmYes);
    signFlags.length = 0;
    const r = await login(["-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no"]);
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/Permission denied/);
    expect(signFlags.length).toBeGreaterThan(0);
    expect((await sshAdd(["-D"])).code).toBe(0);
  });

  it("random bytes and a 4 GiB length header close that client only", async () => {
    expect((await sshAdd([keys.ed25519!])).code).toBe(0);
    const closedAfter = (bytes: Buffer) =>
      new Promise<boolean>((resolve) => {
        const s = connect(agent.path);
        const timer = setTimeout(() => {
          s.destroy();
          resolve(false);
        }, 5000);
        s.on("connect", () => s.write(bytes));
        s.on("error", () => {});
        s.on("close", () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
    // Keep one idle client open through it all, too.
    const idle = connect(agent.path);
    idle.on("error", () => {});
    expect(await closedAfter(Buffer.from([0xff, 0xff, 0xff, 0xff, 11]))).toBe(true);
    // A frame whose body is garbage for its type (a sign request truncated) is malformed.
    expect(await closedAfter(Buffer.from([0, 0, 0, 3, 13, 0, 0]))).toBe(true);
    // Random bytes whose first header is valid-but-huge or whose body is garbage.
    for (let i = 0; i < 5; i++) {
      const junk = randomBytes(64);
      junk[0] = 0x80;
      expect(await closedAfter(junk)).toBe(true);
    }
    expect(await listedFingerprints()).toEqual([fp(keys.ed25519!)]);
    expect(idle.destroyed).toBe(false);
    idle.destroy();
    expect((await sshAdd(["-D"])).code).toBe(0);
  });
});
