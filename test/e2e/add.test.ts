/**
 * `jumpgate add` against OpenSSH's real ssh-agent, checked with OpenSSH's own ssh-add and
 * ssh-keygen: what jumpgate adds, ssh-add lists with ssh-keygen's fingerprints; what jumpgate
 * prints for -l / -L is byte for byte what ssh-add prints; the keys sign (ssh-keygen -Y through
 * the agent) and the signatures verify.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { describeE2E } from "../support/lab.js";

const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const bin = join(repo, "bin/jumpgate.js");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let dir: string;
let sock: string;
let agent: ChildProcess | undefined;
let askpass: string;
const keys: Record<string, string> = {};

function baseEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, SSH_AUTH_SOCK: sock, SSH_ASKPASS: askpass };
  env.SSH_ASKPASS_REQUIRE = "force";
  delete env.SSH_AGENT_PID;
  delete env.DISPLAY;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

function run(cmd: string, args: string[], extra: Record<string, string | undefined> = {}): Run {
  const r = spawnSync(cmd, args, { cwd: dir, env: baseEnv(extra), encoding: "utf8", timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const jumpgate = (args: string[], extra: Record<string, string | undefined> = {}) =>
  run(process.execPath, [bin, "add", ...args], extra);
const sshAdd = (args: string[], extra: Record<string, string | undefined> = {}) =>
  run("ssh-add", args, extra);

function keygen(name: string, type: string, bits: string | null, comment: string, passphrase = ""): string {
  const path = join(dir, name);
  const args = ["-q", "-t", type, "-N", passphrase, "-C", comment, "-f", path];
  if (bits !== null) args.push("-b", bits);
  const r = spawnSync("ssh-keygen", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ssh-keygen ${name}: ${r.stderr}`);
  keys[name] = path;
  return path;
}

/** "bits SHA256:fp" of a key file, from ssh-keygen -lf. */
function keygenFingerprint(path: string): string {
  const r = spawnSync("ssh-keygen", ["-lf", `${path}.pub`], { encoding: "utf8" });
  return r.stdout.split(" ").slice(0, 2).join(" ");
}

function agentFingerprints(): string[] {
  const r = sshAdd(["-l"]);
  if (r.code !== 0) return [];
  return r.stdout
    .trim()
    .split("\n")
    .map((l) => l.split(" ").slice(0, 2).join(" "));
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}

describeE2E("jumpgate add against OpenSSH's ssh-agent", "sshd", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "jg-add-"));
    chmodSync(dir, 0o700);
    sock = join(dir, "agent.sock");
    askpass = join(dir, "askpass.sh");
    // Answers with $JG_TEST_ANSWER; exits 1 (the user cancelled) when it is unset.
    writeFileSync(
      askpass,
      '#!/bin/sh\n[ -n "$JG_TEST_ANSWER" ] || exit 1\nprintf "%s\\n" "$JG_TEST_ANSWER"\n',
    );
    chmodSync(askpass, 0o755);
    keygen("id_ed25519", "ed25519", null, "ed@lab");
    keygen("id_ecdsa256", "ecdsa", "256", "p256@lab");
    keygen("id_ecdsa384", "ecdsa", "384", "p384@lab");
    keygen("id_ecdsa521", "ecdsa", "521", "p521@lab");
    keygen("id_rsa", "rsa", "2048", "rsa@lab");
    keygen("id_nocomment", "ed25519", null, "");
    keygen("id_secret", "ed25519", null, "secret@lab", "correct horse");
    agent = spawn("ssh-agent", ["-D", "-a", sock], { stdio: "ignore" });
    if (!(await waitFor(() => existsSync(sock), 10_000))) throw new Error("ssh-agent did not start");
  });

  afterAll(async () => {
    if (agent?.pid !== undefined && agent.exitCode === null) {
      const exited = new Promise((r) => agent?.once("exit", r));
      agent.kill("SIGTERM");
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    sshAdd(["-D"]);
  });

  it("adds ed25519, ecdsa p256/p384/p521 and rsa keys that ssh-add lists with ssh-keygen's fingerprints", () => {
    const names = ["id_ed25519", "id_ecdsa256", "id_ecdsa384", "id_ecdsa521", "id_rsa"];
    const paths = names.map((n) => keys[n]!);
    const r = jumpgate(paths);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      [
        `Identity added: ${keys.id_ed25519} (ed@lab)`,
        `Identity added: ${keys.id_ecdsa256} (p256@lab)`,
        `Identity added: ${keys.id_ecdsa384} (p384@lab)`,
        `Identity added: ${keys.id_ecdsa521} (p521@lab)`,
        `Identity added: ${keys.id_rsa} (rsa@lab)`,
        "",
      ].join("\n"),
    );
    expect(agentFingerprints()).toEqual(paths.map(keygenFingerprint));
  });

  it("adds keys the agent can really sign with (ssh-keygen -Y sign through the agent, then verified)", () => {
    const names = ["id_ed25519", "id_ecdsa256", "id_ecdsa384", "id_ecdsa521", "id_rsa"];
    expect(jumpgate(names.map((n) => keys[n]!)).code).toBe(0);
    const data = join(dir, "data.txt");
    writeFileSync(data, "signed through the agent\n");
    for (const name of names) {
      const pub = `${keys[name]}.pub`;
      rmSync(`${data}.sig`, { force: true });
      // With a public key file, ssh-keygen -Y sign asks the agent for the signature.
      const signed = run("ssh-keygen", ["-Y", "sign", "-f", pub, "-n", "file", data]);
      expect(signed.code, `${name}: ${signed.stderr}`).toBe(0);
      const check = spawnSync("ssh-keygen", ["-Y", "check-novalidate", "-n", "file", "-s", `${data}.sig`], {
        input: "signed through the agent\n",
        encoding: "utf8",
      });
      expect(check.status, `${name}: ${check.stderr}${check.stdout}`).toBe(0);
    }
  });

  it("prints -l and -L exactly as ssh-add does", () => {
    expect(jumpgate([keys.id_ed25519!, keys.id_ecdsa384!, keys.id_rsa!, keys.id_nocomment!]).code).toBe(0);
    for (const flag of ["-l", "-L"]) {
      const mine = jumpgate([flag]);
      const theirs = sshAdd([flag]);
      expect(mine).toEqual(theirs);
      expect(mine.code).toBe(0);
    }
    expect(jumpgate(["-l"]).stdout).toContain(" rsa@lab (RSA)\n");
  });

  it("uses the file name as the comment of a key without one, as ssh-add does", () => {
    const r = jumpgate([keys.id_nocomment!]);
    expect(r.stderr).toBe(`Identity added: ${keys.id_nocomment} (${keys.id_nocomment})\n`);
    expect(sshAdd(["-l"]).stdout).toContain(` ${keys.id_nocomment} (ED25519)`);
  });

  it("says 'The agent has no identities.' and exits 1 when empty, like ssh-add", () => {
    for (const flag of ["-l", "-L"]) {
      const mine = jumpgate([flag]);
      expect(mine).toEqual(sshAdd([flag]));
      expect(mine).toEqual({ code: 1, stdout: "The agent has no identities.\n", stderr: "" });
    }
  });

  it("removes one key by its public part with -d, with ssh-add's messages", () => {
    expect(jumpgate([keys.id_ed25519!, keys.id_ecdsa256!]).code).toBe(0);
    const r = jumpgate(["-d", keys.id_ecdsa256!]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`Identity removed: ${keys.id_ecdsa256} ECDSA (p256@lab)\n`);
    expect(agentFingerprints()).toEqual([keygenFingerprint(keys.id_ed25519!)]);
    // Gone already: both refuse the same way.
    const again = jumpgate(["-d", keys.id_ecdsa256!]);
    expect(again).toEqual(sshAdd(["-d", keys.id_ecdsa256!]));
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`Could not remove identity "${keys.id_ecdsa256}": agent refused operation\n`);
  });

  it("removes everything with -D", () => {
    expect(jumpgate([keys.id_ed25519!, keys.id_rsa!]).code).toBe(0);
    const r = jumpgate(["-D"]);
    expect(r).toEqual({ code: 0, stdout: "", stderr: "All identities removed.\n" });
    expect(sshAdd(["-l"]).code).toBe(1);
    expect(jumpgate(["-q", "-D"])).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  it("adds with a lifetime (-t): the agent forgets the key after it", async () => {
    const r = jumpgate(["-t", "2", keys.id_ed25519!]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`Identity added: ${keys.id_ed25519} (ed@lab)\nLifetime set to 2 seconds\n`);
    expect(agentFingerprints()).toEqual([keygenFingerprint(keys.id_ed25519!)]);
    expect(await waitFor(() => sshAdd(["-l"]).code === 1, 8_000)).toBe(true);
  });

  it("reads -t in convtime syntax and refuses a bad one with exit 1, as ssh-add", () => {
    const r = jumpgate(["-t", "1h30m", keys.id_ed25519!]);
    expect(r.stderr).toContain("Lifetime set to 5400 seconds\n");
    const bad = jumpgate(["-t", "soon", keys.id_ed25519!]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^jumpgate: JG_USAGE: Invalid lifetime/);
  });

  it("adds with confirmation (-c)", () => {
    const r = jumpgate(["-c", keys.id_ed25519!]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      `Identity added: ${keys.id_ed25519} (ed@lab)\nThe user must confirm each use of the key\n`,
    );
    expect(agentFingerprints()).toEqual([keygenFingerprint(keys.id_ed25519!)]);
  });

  it("is quiet with -q", () => {
    expect(jumpgate(["-q", keys.id_ed25519!])).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  it("locks (-x) and unlocks (-X) the agent with a password from SSH_ASKPASS, interoperating with ssh-add", () => {
    expect(jumpgate([keys.id_ed25519!]).code).toBe(0);
    const lock = jumpgate(["-x"], { JG_TEST_ANSWER: "lock pw" });
    expect(lock).toEqual({ code: 0, stdout: "", stderr: "Agent locked.\n" });
    // Locked: the agent shows nothing and refuses to lock again.
    expect(sshAdd(["-l"]).stdout).toBe("The agent has no identities.\n");
    const twice = jumpgate(["-x"], { JG_TEST_ANSWER: "lock pw" });
    expect(twice).toEqual({ code: 1, stdout: "", stderr: "Failed to lock agent: agent refused operation\n" });
    // The wrong password does not unlock, exactly as with ssh-add.
    const wrong = jumpgate(["-X"], { JG_TEST_ANSWER: "not it" });
    expect(wrong).toEqual(sshAdd(["-X"], { JG_TEST_ANSWER: "not it" }));
    expect(wrong).toEqual({
      code: 1,
      stdout: "",
      stderr: "Failed to unlock agent: agent refused operation\n",
    });
    const unlock = jumpgate(["-X"], { JG_TEST_ANSWER: "lock pw" });
    expect(unlock).toEqual({ code: 0, stdout: "", stderr: "Agent unlocked.\n" });
    expect(agentFingerprints()).toEqual([keygenFingerprint(keys.id_ed25519!)]);
    // Locked by ssh-add, unlocked by jumpgate.
    expect(sshAdd(["-x"], { JG_TEST_ANSWER: "theirs" }).code).toBe(0);
    expect(jumpgate(["-X"], { JG_TEST_ANSWER: "theirs" }).code).toBe(0);
  });

  it("adds a passphrase-protected key with the passphrase from SSH_ASKPASS", () => {
    const r = jumpgate([keys.id_secret!], { JG_TEST_ANSWER: "correct horse" });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`Identity added: ${keys.id_secret} (secret@lab)\n`);
    expect(agentFingerprints()).toEqual([keygenFingerprint(keys.id_secret!)]);
  });

  it("does not add a protected key with a wrong or no passphrase", () => {
    const wrong = jumpgate([keys.id_secret!], { JG_TEST_ANSWER: "battery staple" });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("incorrect passphrase");
    const none = jumpgate([keys.id_secret!], { JG_TEST_ANSWER: undefined });
    expect(none.code).toBe(1);
    expect(sshAdd(["-l"]).code).toBe(1);
  });

  it("refuses a key file others can read, with OpenSSH's warning", () => {
    const loose = join(dir, "loose_ed25519");
    keygen("loose_ed25519", "ed25519", null, "loose@lab");
    chmodSync(loose, 0o644);
    const r = jumpgate([loose]);
    expect(r.code).toBe(1);
    expect(r.code).toBe(sshAdd([loose]).code);
    expect(r.stderr).toContain("WARNING: UNPROTECTED PRIVATE KEY FILE!");
    expect(r.stderr).toContain(`Permissions 0644 for '${loose}' are too open.`);
    expect(sshAdd(["-l"]).code).toBe(1);
  });

  it("reports a missing key file and exits 1", () => {
    const missing = join(dir, "nope");
    const r = jumpgate([missing]);
    expect(r).toEqual({ code: 1, stdout: "", stderr: `${missing}: No such file or directory\n` });
    expect(r).toEqual(sshAdd([missing]));
  });

  it("adds the default keys under ~/.ssh that exist", () => {
    const home = join(dir, "home");
    mkdirSync(join(home, ".ssh"), { recursive: true, mode: 0o700 });
    const target = join(home, ".ssh", "id_ed25519");
    const gen = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "home@lab", "-f", target]);
    expect(gen.status).toBe(0);
    const r = jumpgate([], { HOME: home });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`Identity added: ${target} (home@lab)\n`);
    expect(agentFingerprints()).toEqual([keygenFingerprint(target)]);
  });

  it("exits 2 with ssh-add's message when there is no agent", () => {
    for (const socket of [join(dir, "no-such.sock"), undefined]) {
      const r = jumpgate(["-l"], { SSH_AUTH_SOCK: socket });
      expect(r.code).toBe(2);
      expect(r.code).toBe(sshAdd(["-l"], { SSH_AUTH_SOCK: socket }).code);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(
        /^jumpgate: JG_AGENT_UNAVAILABLE: Could not open a connection to your authentication agent\./,
      );
    }
  });
});
