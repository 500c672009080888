/**
 * `jumpgate ssh` against real OpenSSH servers in the seeds' topology: you -> jaguar -> mcgonagall,
 * where mcgonagall is reachable only through jaguar (network namespaces as root).
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type BastionLab, describeE2E, requireNetns, startBastionLab } from "../support/lab.js";
import { useTempDirs } from "../support/tmp.js";

const tempDir = useTempDirs();

const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const bin = join(repo, "bin/jumpgate.js");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function jumpgate(
  args: string[],
  opts: { input?: Buffer | string; env?: NodeJS.ProcessEnv; timeout?: number } = {},
): Run {
  const r = spawnSync(process.execPath, [bin, ...args], {
    input: opts.input ?? "",
    env: { ...process.env, ...opts.env },
    timeout: opts.timeout ?? 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describeE2E("jumpgate ssh through jaguar", "netns", () => {
  let lab: BastionLab;
  let work: string;
  /** A config with extra hosts for these tests, falling back to the lab's own. */
  let cfg: string;
  /** A config whose only key is the one given with -i (the lab's own config names its key). */
  let keyOnlyCfg: string;

  beforeAll(async () => {
    lab = await startBastionLab();
    work = tempDir("jg-ssh-e2e-");
    cfg = join(work, "config");
    writeFileSync(
      cfg,
      [
        // Two hops: mcgonagall's own sshd seen from mcgonagall itself.
        "Host mcgonagall-self",
        "  HostName 127.0.0.1",
        "  Port 22",
        `  HostKeyAlias ${lab.mcgonagall.host}`,
        "  ProxyJump mcgonagall",
        "Host mcg-via-proxycommand",
        `  HostName ${lab.mcgonagall.host}`,
        `  Port ${lab.mcgonagall.port}`,
        `  ProxyCommand ssh -F ${lab.configPath} -W %h:%p jaguar`,
        "Host mcg-via-jumpgate-w",
        `  HostName ${lab.mcgonagall.host}`,
        `  Port ${lab.mcgonagall.port}`,
        `  ProxyCommand ${process.execPath} ${bin} ssh -F ${lab.configPath} -W %h:%p jaguar`,
        // Back to all hosts before including the lab config (an Include inside a Host block is conditional).
        "Match all",
        `Include ${lab.configPath}`,
        "",
      ].join("\n"),
    );
  });

  beforeAll(() => {
    keyOnlyCfg = join(work, "config-key-only");
    writeFileSync(
      keyOnlyCfg,
      [
        "Host jaguar-key-only",
        `  HostName ${lab.jaguar.host}`,
        `  Port ${lab.jaguar.port}`,
        `  User ${lab.user}`,
        `  UserKnownHostsFile ${lab.knownHostsPath}`,
        "  GlobalKnownHostsFile /dev/null",
        "  IdentityAgent none",
        "  IdentitiesOnly yes",
        "  StrictHostKeyChecking yes",
        "",
      ].join("\n"),
    );
  });

  afterAll(async () => {
    await lab?.stop();
  });

  it("runs a command on mcgonagall through jaguar (ProxyJump)", () => {
    const r = jumpgate(["ssh", "-F", cfg, "mcgonagall", "echo $JG_LAB_HOST"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("mcgonagall\n");
    expect(r.code).toBe(0);
  });

  it("cannot reach mcgonagall directly", () => {
    if (!requireNetns(lab, "mcgonagall refuses direct connections")) return;
    const r = jumpgate(["ssh", "-F", cfg, "-o", "ProxyJump=none", "mcgonagall", "true"]);
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/^jumpgate: JG_CONNECT_REFUSED: mcgonagall: connect to host/);
  });

  it("works with ProxyCommand 'ssh -W' and as a ProxyCommand itself ('jumpgate ssh -W')", () => {
    expect(jumpgate(["ssh", "-F", cfg, "mcg-via-proxycommand", "echo $JG_LAB_HOST"]).stdout).toBe(
      "mcgonagall\n",
    );
    expect(jumpgate(["ssh", "-F", cfg, "mcg-via-jumpgate-w", "echo $JG_LAB_HOST"]).stdout).toBe(
      "mcgonagall\n",
    );
    // And OpenSSH's own ssh can use jumpgate as its ProxyCommand.
    const ssh = spawnSync(
      "ssh",
      [
        "-F",
        lab.configPath,
        "-o",
        `ProxyCommand=${process.execPath} ${bin} ssh -F ${lab.configPath} -W %h:%p jaguar`,
        "mcgonagall",
        "echo $JG_LAB_HOST",
      ],
      { encoding: "utf8", timeout: 30_000 },
    );
    expect(ssh.stdout).toBe("mcgonagall\n");
  });

  it("follows a two-hop chain (jaguar, then mcgonagall, then mcgonagall's own sshd)", () => {
    const r = jumpgate(["ssh", "-F", cfg, "mcgonagall-self", "echo $JG_LAB_HOST $SSH_CONNECTION"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^mcgonagall 127\.0\.0\.1 \d+ 127\.0\.0\.1 22\n$/);
  });

  it("passes the remote exit status through, and 255 for a signal", () => {
    expect(jumpgate(["ssh", "-F", cfg, "mcgonagall", "exit 7"]).code).toBe(7);
    expect(jumpgate(["ssh", "-F", cfg, "mcgonagall", "true"]).code).toBe(0);
    const killed = jumpgate(["ssh", "-F", cfg, "mcgonagall", "kill -TERM $$"]);
    expect(killed.code).toBe(255);
    expect(killed.stderr).toMatch(/killed by signal/);
  });

  it("streams 100 MB through a remote sha256sum intact", () => {
    const data = randomBytes(100 * 1024 * 1024);
    const expected = createHash("sha256").update(data).digest("hex");
    const r = jumpgate(["ssh", "-F", cfg, "mcgonagall", "sha256sum"], { input: data, timeout: 180_000 });
    expect(r.code).toBe(0);
    expect(r.stdout.split(" ")[0]).toBe(expected);
  }, 240_000);

  it("allocates a pty with -tt", () => {
    const r = jumpgate(["ssh", "-F", cfg, "-tt", "mcgonagall", "tty"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\/dev\/pts\/\d+$/);
  });

  it("refuses a changed host key and runs nothing", () => {
    const known = join(work, "known_hosts_changed");
    const other = spawnSync("ssh-keygen", [
      "-q",
      "-t",
      "ed25519",
      "-N",
      "",
      "-f",
      join(work, "fake_host_key"),
    ]);
    expect(other.status).toBe(0);
    const fakeKey = readFileSync(join(work, "fake_host_key.pub"), "utf8")
      .trim()
      .split(" ")
      .slice(0, 2)
      .join(" ");
    const original = readFileSync(lab.knownHostsPath, "utf8")
      .split("\n")
      .filter((l) => l !== "" && !l.startsWith(`${lab.mcgonagall.host} `));
    writeFileSync(known, `${original.join("\n")}\n${lab.mcgonagall.host} ${fakeKey}\n`);
    const marker = `/tmp/jg-should-not-exist-${process.pid}`;
    const r = jumpgate([
      "ssh",
      "-F",
      cfg,
      "-o",
      `UserKnownHostsFile=${known}`,
      "mcgonagall",
      `touch ${marker}`,
    ]);
    expect(r.code).toBe(255);
    expect(r.stderr).toContain("REMOTE HOST IDENTIFICATION HAS CHANGED");
    expect(r.stderr).toMatch(/JG_HOSTKEY_MISMATCH/);
    expect(r.stderr).toContain(`${known}:${original.length + 1}`);
    expect(existsSync(marker)).toBe(false);
  });

  it("records a new host hashed with accept-new and HashKnownHosts", () => {
    const known = join(work, "known_hosts_new");
    writeFileSync(known, "");
    const r = jumpgate([
      "ssh",
      "-F",
      cfg,
      "-o",
      `UserKnownHostsFile=${known}`,
      "-o",
      "StrictHostKeyChecking=accept-new",
      "-o",
      "HashKnownHosts=yes",
      "jaguar",
      "true",
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/Permanently added/);
    const text = readFileSync(known, "utf8");
    expect(text).toMatch(/^\|1\|[^|]+\|[^ ]+ ssh-ed25519 /);
    // OpenSSH finds what we wrote.
    const found = spawnSync("ssh-keygen", ["-F", `[${lab.jaguar.host}]:${lab.jaguar.port}`, "-f", known], {
      encoding: "utf8",
    });
    expect(found.status).toBe(0);
    // As ssh: the notice is an INFO message, which LogLevel ERROR silences.
    const quiet = jumpgate([
      "ssh",
      "-F",
      cfg,
      "-o",
      `UserKnownHostsFile=${join(work, "known_hosts_quiet")}`,
      "-o",
      "StrictHostKeyChecking=accept-new",
      "-o",
      "LogLevel=ERROR",
      "jaguar",
      "true",
    ]);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).not.toMatch(/Permanently added/);
    expect(readFileSync(join(work, "known_hosts_quiet"), "utf8")).toMatch(/ ssh-ed25519 /);
  });

  it("refuses an unknown host under BatchMode without asking", () => {
    const known = join(work, "known_hosts_empty");
    writeFileSync(known, "");
    const r = jumpgate([
      "ssh",
      "-F",
      cfg,
      "-o",
      `UserKnownHostsFile=${known}`,
      "-o",
      "StrictHostKeyChecking=ask",
      "jaguar",
      "true",
    ]);
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/JG_HOSTKEY_UNKNOWN/);
  });

  it("refuses a private key readable by others (the seeds' 0644 exercise)", () => {
    const key = join(work, "id_open");
    copyFileSync(lab.identityPath, key);
    chmodSync(key, 0o644);
    const r = jumpgate([
      "ssh",
      "-F",
      keyOnlyCfg,
      "-o",
      "BatchMode=yes",
      "-i",
      key,
      "jaguar-key-only",
      "true",
    ]);
    expect(r.code).toBe(255);
    expect(r.stderr).toContain("WARNING: UNPROTECTED PRIVATE KEY FILE!");
    expect(r.stderr).toContain(`Permissions 0644 for '${key}' are too open.`);
  });

  it("uses an encrypted key with the right passphrase and refuses the wrong one", () => {
    const key = join(work, "id_secret");
    copyFileSync(lab.identityPath, key);
    chmodSync(key, 0o600);
    expect(spawnSync("ssh-keygen", ["-q", "-p", "-N", "open sesame", "-f", key]).status).toBe(0);
    const askpass = (answer: string) => {
      const script = join(work, `askpass-${answer.replace(/\W/g, "")}`);
      writeFileSync(script, `#!/bin/sh\necho "$1" >> ${script}.asked\necho '${answer}'\n`);
      chmodSync(script, 0o700);
      return script;
    };
    const base = ["ssh", "-F", keyOnlyCfg, "-o", "BatchMode=no", "-i", key, "jaguar-key-only", "echo ok"];
    const right = askpass("open sesame");
    const good = jumpgate(base, { env: { SSH_ASKPASS: right, SSH_ASKPASS_REQUIRE: "force", DISPLAY: "" } });
    expect(good.stdout).toBe("ok\n");
    expect(readFileSync(`${right}.asked`, "utf8")).toContain(`Enter passphrase for key '${key}'`);
    const wrong = askpass("not it");
    const bad = jumpgate(base, { env: { SSH_ASKPASS: wrong, SSH_ASKPASS_REQUIRE: "force", DISPLAY: "" } });
    expect(bad.code).toBe(255);
    expect(bad.stderr).toMatch(/JG_KEY_PASSPHRASE|JG_AUTH_FAILED/);
  });

  it("never prompts under BatchMode", () => {
    const key = join(work, "id_secret2");
    copyFileSync(lab.identityPath, key);
    chmodSync(key, 0o600);
    expect(spawnSync("ssh-keygen", ["-q", "-p", "-N", "pw", "-f", key]).status).toBe(0);
    const script = join(work, "askpass-batch");
    writeFileSync(script, `#!/bin/sh\ntouch ${script}.asked\necho pw\n`);
    chmodSync(script, 0o700);
    const r = jumpgate(
      ["ssh", "-F", keyOnlyCfg, "-o", "BatchMode=yes", "-i", key, "jaguar-key-only", "true"],
      {
        env: { SSH_ASKPASS: script, SSH_ASKPASS_REQUIRE: "force" },
      },
    );
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/JG_AUTH_FAILED/);
    expect(existsSync(`${script}.asked`)).toBe(false);
  });

  it("fails within ConnectTimeout when a hop does not answer, naming the hop", async () => {
    // A TCP listener that accepts and never speaks: the hop is "up" but not an SSH server.
    const silent: Server = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
    const port = (silent.address() as { port: number }).port;
    const deadCfg = join(work, "config-dead");
    writeFileSync(deadCfg, `Host deadhop\n  HostName 127.0.0.1\n  Port ${port}\nMatch all\nInclude ${cfg}\n`);
    const started = Date.now();
    const r = await new Promise<Run>((done) => {
      const args = [
        bin,
        "ssh",
        "-F",
        deadCfg,
        "-o",
        "ConnectTimeout=2",
        "-J",
        "deadhop",
        "mcgonagall",
        "true",
      ];
      const child = spawn(process.execPath, args, { env: process.env });
      let stderr = "";
      child.stderr.on("data", (d) => {
        stderr += d;
      });
      child.on("close", (code) => done({ code, stdout: "", stderr }));
    });
    silent.close();
    expect(r.code).toBe(255);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r.stderr).toMatch(/JG_CONNECT_TIMEOUT|JG_HOP_UNREACHABLE/);
    expect(r.stderr).toContain("deadhop");
  });
});
