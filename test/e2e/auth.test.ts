/**
 * Authentication against real OpenSSH sshd, with a raw ssh2 Client driven by createAuthHandler():
 * key files (plain, unprotected, encrypted), a real ssh-agent, BatchMode. Where OpenSSH's own `ssh`
 * can show the same case, its messages are compared line for line.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "ssh2";
import { afterAll, beforeAll, expect, it } from "vitest";
import { fillDefaults, initialOptions, type Options } from "../../src/config/options.js";
import { type AuthHandler, createAuthHandler } from "../../src/connection/auth.js";
import { createAskpassPrompter, createPrompter, type Prompter } from "../../src/connection/prompt.js";
import { isJumpgateError, type JumpgateError } from "../../src/errors.js";
import { createLogger, type Logger } from "../../src/util/log.js";
import {
  describeE2E,
  ensurePrivsepDir,
  labProgram,
  type PlainServer,
  runSsh,
  startPlainServer,
} from "../support/lab.js";
import { runCommand } from "../support/proc.js";
import { renderSshdConfig } from "../support/sshd-config.js";

interface Outcome {
  ok: boolean;
  method: string | null;
  error?: JumpgateError;
  /** 'error' events classifyError() told us to ignore (keys that could not be used). */
  ignored: Error[];
}

function captureLog(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = createLogger("DEBUG3", (l) => lines.push(l.replace(/\n$/, "")));
  return { log, lines };
}

/** The lines an ssh "error()" call would print: what a user sees at the default LogLevel. */
const errorLines = (lines: string[]): string[] => lines.filter((l) => !l.startsWith("debug"));

function fakePrompter(answer: (question: string) => string): Prompter & { questions: string[] } {
  const questions: string[] = [];
  return {
    questions,
    available: () => true,
    ask: async (question) => {
      questions.push(question);
      return answer(question);
    },
  };
}

/** A prompter that fails the test if anything asks it. */
function forbiddenPrompter(): Prompter & { calls: number } {
  const p = {
    calls: 0,
    available: () => false,
    ask: async (question: string): Promise<string> => {
      p.calls++;
      throw new Error(`unexpected prompt: ${question}`);
    },
  };
  return p;
}

function labOptions(overrides: Partial<Options>): Options {
  const o = initialOptions();
  o.identitiesOnly = 1;
  o.identityAgent = "none";
  o.batchMode = 1;
  o.hostname = "127.0.0.1";
  Object.assign(o, overrides);
  fillDefaults(o);
  return o;
}

function authenticate(server: PlainServer, handler: AuthHandler): Promise<Outcome> {
  const [, , keyBase64 = ""] = readFileSync(server.knownHostsPath, "utf8").trim().split(/\s+/);
  const hostKey = Buffer.from(keyBase64, "base64");
  return new Promise((resolve, reject) => {
    const client = new Client();
    const ignored: Error[] = [];
    let settled = false;
    const settle = (outcome: Outcome | Error): void => {
      if (settled) return;
      settled = true;
      client.end();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    client.on("ready", () => settle({ ok: true, method: handler.authenticatedMethod(), ignored }));
    client.on("error", (err) => {
      const kind = handler.classifyError(err);
      if (kind === "ignore") ignored.push(err);
      else if (kind === "failed") settle({ ok: false, method: null, error: handler.failure(), ignored });
      else settle(err);
    });
    client.on("close", () => settle(new Error("connection closed before authentication ended")));
    client.connect({
      host: server.host,
      port: server.port,
      username: server.user,
      authHandler: handler.authHandler,
      hostVerifier: (key: Buffer) => key.equals(hostKey),
      readyTimeout: 30_000,
    });
  });
}

/** `ssh -F /dev/null` with only the options given: OpenSSH's view of the same situation. */
function opensshArgs(server: PlainServer, options: string[]): string[] {
  return [
    "-o",
    `UserKnownHostsFile=${server.knownHostsPath}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "IdentityAgent=none",
    "-o",
    "IdentitiesOnly=yes",
    ...options.flatMap((o) => ["-o", o]),
    "-p",
    String(server.port),
    `${server.user}@${server.host}`,
    "true",
  ];
}

describeE2E("auth: createAuthHandler against OpenSSH sshd", "sshd", () => {
  let server: PlainServer;
  let dir: string;
  let agent: ChildProcess | undefined;
  let agentSock: string;

  beforeAll(async () => {
    server = await startPlainServer({ alias: "auth" });
    dir = mkdtempSync(path.join(tmpdir(), "jg-auth-e2e-"));
  });

  afterAll(async () => {
    if (agent?.pid !== undefined && agent.exitCode === null) {
      const exited = new Promise((r) => agent?.once("exit", r));
      agent.kill("SIGTERM");
      await exited;
    }
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A copy of the lab's key (and optionally its .pub) with the given mode. */
  function copyKey(name: string, mode: number, withPub: boolean): string {
    const target = path.join(dir, name);
    copyFileSync(server.identityPath, target);
    chmodSync(target, mode);
    if (withPub) copyFileSync(`${server.identityPath}.pub`, `${target}.pub`);
    return target;
  }

  function encryptedCopy(name: string): string {
    const target = copyKey(name, 0o600, false);
    execFileSync(labProgram("sshKeygen"), ["-q", "-p", "-P", "", "-N", "secret", "-f", target]);
    return target;
  }

  it("authenticates with the IdentityFile's key (publickey)", async () => {
    const { log, lines } = captureLog();
    const handler = createAuthHandler({
      options: labOptions({ identityFiles: [server.identityPath], identityFileUserProvided: [true] }),
      username: server.user,
      prompter: forbiddenPrompter(),
      log,
    });
    const r = await authenticate(server, handler);
    expect(r).toMatchObject({ ok: true, method: "publickey" });
    expect(handler.attempts().map((a) => a.method)).toEqual(["none", "publickey"]);
    expect(handler.attempts()[1]?.accepted).toBe(true);
    expect(lines).toContain(`debug1: Offering public key: ${handler.attempts()[1]?.key}`);
    expect(handler.attempts()[1]?.key).toMatch(
      new RegExp(`^${server.identityPath} ED25519 SHA256:[A-Za-z0-9+/]{43} explicit$`),
    );
    expect(server.sshdLog()).toMatch(/Accepted publickey for \S+ from 127\.0\.0\.1/);
  });

  it("refuses a 0644 key with OpenSSH's exact warning, and fails with JG_AUTH_FAILED", async () => {
    const key = copyKey("id_open", 0o644, true);
    const { log, lines } = captureLog();
    const handler = createAuthHandler({
      options: labOptions({ identityFiles: [key], identityFileUserProvided: [true] }),
      username: server.user,
      prompter: forbiddenPrompter(),
      log,
    });
    const r = await authenticate(server, handler);
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe("JG_AUTH_FAILED");
    const [first, ...rest] = (r.error?.message ?? "").split("\n");
    expect(first).toBe(`${server.user}@127.0.0.1: Permission denied (publickey).`);
    expect(rest.join("\n")).toMatch(/^Load key ".*id_open": bad permissions \(0644 is too open/);
    expect(r.ignored).toHaveLength(1);

    // OpenSSH, same key, same server: the same lines on stderr, in the same order.
    const ssh = await runSsh("/dev/null", opensshArgs(server, [`IdentityFile=${key}`, "BatchMode=yes"]));
    expect(ssh.code).toBe(255);
    // ssh's log lines end in CR LF on stderr.
    const sshLines = ssh.stderr.trimEnd().split(/\r?\n/);
    expect([...errorLines(lines), first]).toEqual(sshLines);
  });

  it("decrypts an encrypted key with the right passphrase, after the server accepted it", async () => {
    const key = encryptedCopy("id_enc_ok");
    const prompter = fakePrompter(() => "secret");
    const handler = createAuthHandler({
      options: labOptions({ identityFiles: [key], identityFileUserProvided: [true], batchMode: 0 }),
      username: server.user,
      prompter,
      log: captureLog().log,
    });
    const r = await authenticate(server, handler);
    expect(r).toMatchObject({ ok: true, method: "publickey" });
    expect(prompter.questions).toEqual([`Enter passphrase for key '${key}': `]);
    // Offered first from the key's clear public section, asked only after PK_OK.
    expect(handler.attempts()[1]?.accepted).toBe(true);
  });

  it("never asks for the passphrase of an encrypted key the server would not accept", async () => {
    const stranger = path.join(dir, "id_stranger");
    execFileSync(labProgram("sshKeygen"), ["-q", "-t", "ed25519", "-N", "secret", "-f", stranger]);
    rmSync(`${stranger}.pub`); // the public half comes from the key file's clear section
    const prompter = forbiddenPrompter();
    const handler = createAuthHandler({
      options: labOptions({ identityFiles: [stranger], identityFileUserProvided: [true], batchMode: 0 }),
      username: server.user,
      prompter,
      log: captureLog().log,
    });
    const r = await authenticate(server, handler);
    expect(r.error?.code).toBe("JG_AUTH_FAILED");
    expect(handler.attempts().map((a) => [a.method, a.accepted])).toEqual([
      ["none", undefined],
      ["publickey", false],
    ]);
    expect(prompter.calls).toBe(0);
    expect(r.ignored).toEqual([]);
  });

  it("fails with JG_KEY_PASSPHRASE after NumberOfPasswordPrompts wrong passphrases, like ssh", async () => {
    const key = encryptedCopy("id_enc_bad");
    const prompter = fakePrompter(() => "wrong");
    const { log } = captureLog();
    const handler = createAuthHandler({
      options: labOptions({ identityFiles: [key], identityFileUserProvided: [true], batchMode: 0 }),
      username: server.user,
      prompter,
      log,
    });
    const r = await authenticate(server, handler);
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe("JG_KEY_PASSPHRASE");
    expect(r.error?.message).toBe(
      `${server.user}@127.0.0.1: Permission denied (publickey).\n` +
        `Load key "${key}": incorrect passphrase supplied to decrypt private key`,
    );
    expect(prompter.questions).toEqual(Array(3).fill(`Enter passphrase for key '${key}': `));

    // OpenSSH asks the same question the same number of times (through askpass, no tty here).
    const askpassLog = path.join(dir, "askpass.log");
    const askpass = path.join(dir, "askpass.sh");
    writeFileSync(askpass, `#!/bin/sh\nprintf '%s\\n' "$1" >> '${askpassLog}'\necho wrong\n`, {
      mode: 0o700,
    });
    const ssh = await runSsh("/dev/null", opensshArgs(server, [`IdentityFile=${key}`, "BatchMode=no"]), {
      env: { ...process.env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: "force", DISPLAY: "" },
    });
    expect(ssh.code).toBe(255);
    expect(ssh.stderr).toContain(`${server.user}@127.0.0.1: Permission denied (publickey).`);
    expect(readFileSync(askpassLog, "utf8")).toBe(prompter.questions.map((q) => `${q}\n`).join(""));
  });

  it("asks through SSH_ASKPASS (SSH_ASKPASS_REQUIRE=force) and uses the answer", async () => {
    const key = encryptedCopy("id_enc_askpass");
    const askpass = path.join(dir, "askpass-right.sh");
    writeFileSync(askpass, "#!/bin/sh\necho secret\n", { mode: 0o700 });
    const env = { ...process.env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: "force" };
    const handler = createAuthHandler({
      options: labOptions({ identityFiles: [key], identityFileUserProvided: [true], batchMode: 0 }),
      username: server.user,
      prompter: createPrompter({ batchMode: false, env }),
      log: captureLog().log,
    });
    expect(await authenticate(server, handler)).toMatchObject({ ok: true, method: "publickey" });
    // And the askpass prompter alone gives the first line of the program's output.
    expect(await createAskpassPrompter({ program: askpass }).ask("q? ", { echo: false })).toBe("secret");
  });

  it("fails under BatchMode with only an encrypted key, without prompting", async () => {
    const key = encryptedCopy("id_enc_batch");
    const prompter = forbiddenPrompter();
    const { log, lines } = captureLog();
    const handler = createAuthHandler({
      options: labOptions({ identityFiles: [key], identityFileUserProvided: [true], batchMode: 1 }),
      username: server.user,
      prompter,
      log,
    });
    const r = await authenticate(server, handler);
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe("JG_AUTH_FAILED");
    expect(r.error?.message).toContain("is encrypted and BatchMode is on");
    expect(prompter.calls).toBe(0);
    // As quiet as ssh: nothing at the default level but the final error.
    expect(errorLines(lines)).toEqual([]);

    // The BatchMode prompter itself never runs askpass either.
    const marker = path.join(dir, "askpass-ran");
    const askpass = path.join(dir, "askpass-marker.sh");
    writeFileSync(askpass, `#!/bin/sh\ntouch '${marker}'\necho secret\n`, { mode: 0o700 });
    const batch = createPrompter({
      batchMode: true,
      env: { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: "force" },
    });
    const handler2 = createAuthHandler({
      options: labOptions({ identityFiles: [key], identityFileUserProvided: [true], batchMode: 1 }),
      username: server.user,
      prompter: batch,
      log: captureLog().log,
    });
    expect((await authenticate(server, handler2)).ok).toBe(false);
    expect(existsSync(marker)).toBe(false);
  });

  async function startAgent(): Promise<string> {
    if (agent !== undefined) return agentSock;
    agentSock = path.join(dir, "agent.sock");
    agent = spawn("ssh-agent", ["-D", "-a", agentSock], { stdio: ["ignore", "ignore", "pipe"] });
    const deadline = Date.now() + 10_000;
    while (!existsSync(agentSock)) {
      if (Date.now() > deadline || agent.exitCode !== null) throw new Error("ssh-agent did not start");
      await sleep(20);
    }
    const add = await runCommand("ssh-add", [server.identityPath], {
      env: { ...process.env, SSH_AUTH_SOCK: agentSock },
    });
    expect(add.code, add.stderr).toBe(0);
    // A second key the server does not know, to see what is (not) offered.
    const other = path.join(dir, "id_other");
    execFileSync(labProgram("sshKeygen"), ["-q", "-t", "ed25519", "-N", "", "-C", "other-key", "-f", other]);
    const addOther = await runCommand("ssh-add", [other], {
      env: { ...process.env, SSH_AUTH_SOCK: agentSock },
    });
    expect(addOther.code, addOther.stderr).toBe(0);
    return agentSock;
  }

  it("authenticates through a real ssh-agent (IdentityAgent), offering its keys in the agent's order", async () => {
    const sock = await startAgent();
    const options = labOptions({ identitiesOnly: 0, identityAgent: sock });
    options.identityFiles = [];
    options.identityFileUserProvided = [];
    const handler = createAuthHandler({
      options,
      username: server.user,
      prompter: forbiddenPrompter(),
      log: captureLog().log,
    });
    const r = await authenticate(server, handler);
    expect(r).toMatchObject({ ok: true, method: "publickey" });
    const offered = handler.attempts().filter((a) => a.method === "publickey");
    expect(offered[0]?.key).toMatch(/ agent$/);
    expect(offered[0]?.accepted).toBe(true);
  });

  it("with IdentitiesOnly, uses only the agent keys that match an IdentityFile", async () => {
    const sock = await startAgent();
    // Only the public half on disk: the agent must do the signing.
    const pubOnly = path.join(dir, "only-pub");
    copyFileSync(`${server.identityPath}.pub`, `${pubOnly}.pub`);
    const other = path.join(dir, "id_other");
    const options = labOptions({
      identitiesOnly: 1,
      identityAgent: sock,
      identityFiles: [other, pubOnly],
      identityFileUserProvided: [true, true],
    });
    const handler = createAuthHandler({
      options,
      username: server.user,
      prompter: forbiddenPrompter(),
      log: captureLog().log,
    });
    const r = await authenticate(server, handler);
    expect(r).toMatchObject({ ok: true, method: "publickey" });
    const offered = handler
      .attempts()
      .filter((a) => a.method === "publickey")
      .map((a) => a.key ?? "");
    // Agent order (the lab key was added first), both from the config file, both signed by the agent.
    expect(offered.map((k) => k.split(" ")[0])).toEqual([pubOnly]);
    expect(offered[0]).toMatch(/ explicit agent$/);

    // The agent's "other" key is not in IdentityFile: IdentitiesOnly keeps it out entirely.
    const options2 = labOptions({ identitiesOnly: 1, identityAgent: sock, identityFiles: [pubOnly] });
    const handler2 = createAuthHandler({
      options: options2,
      username: server.user,
      prompter: forbiddenPrompter(),
      log: captureLog().log,
    });
    await authenticate(server, handler2);
    expect(handler2.attempts().filter((a) => a.key?.includes("other-key"))).toEqual([]);
  });

  it("completes a two-key login (sshd AuthenticationMethods publickey,publickey)", async () => {
    // A second sshd, the lab's template plus one line, demanding two different keys.
    const second = path.join(dir, "id_second");
    execFileSync(labProgram("sshKeygen"), ["-q", "-t", "ed25519", "-N", "", "-f", second]);
    const hostKey = path.join(dir, "mfa_host_key");
    execFileSync(labProgram("sshKeygen"), ["-q", "-t", "ed25519", "-N", "", "-f", hostKey]);
    const authorized = path.join(dir, "mfa_authorized_keys");
    writeFileSync(
      authorized,
      readFileSync(`${server.identityPath}.pub`, "utf8") + readFileSync(`${second}.pub`, "utf8"),
      { mode: 0o600 },
    );
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
      });
    });
    const config = path.join(dir, "mfa_sshd_config");
    const log = path.join(dir, "mfa_sshd.log");
    writeFileSync(
      config,
      `${renderSshdConfig({
        listenHost: "127.0.0.1",
        listenPort: port,
        hostKeyPath: hostKey,
        authorizedKeysPath: authorized,
        pidFilePath: path.join(dir, "mfa_sshd.pid"),
      })}AuthenticationMethods publickey,publickey\n`,
      { mode: 0o600 },
    );
    writeFileSync(log, "");
    ensurePrivsepDir();
    const sshd = spawn(labProgram("sshd"), ["-D", "-e", "-f", config, "-E", log], { stdio: "ignore" });
    try {
      const deadline = Date.now() + 10_000;
      while (!readFileSync(log, "utf8").includes("Server listening")) {
        if (Date.now() > deadline || sshd.exitCode !== null)
          throw new Error(`sshd did not start:\n${readFileSync(log, "utf8")}`);
        await sleep(20);
      }
      writeFileSync(
        path.join(dir, "mfa_known_hosts"),
        `[127.0.0.1]:${port} ${readFileSync(`${hostKey}.pub`, "utf8")}`,
      );
      const mfa: PlainServer = { ...server, port, knownHostsPath: path.join(dir, "mfa_known_hosts") };
      const { log: logger, lines } = captureLog();
      const handler = createAuthHandler({
        options: labOptions({
          identityFiles: [server.identityPath, second],
          identityFileUserProvided: [true, true],
        }),
        username: server.user,
        prompter: forbiddenPrompter(),
        log: logger,
      });
      expect(await authenticate(mfa, handler)).toMatchObject({ ok: true, method: "publickey" });
      expect(handler.attempts().map((a) => a.method)).toEqual(["none", "publickey", "none", "publickey"]);
      expect(lines).toContain('Authenticated using "publickey" with partial success.');
      // sshd agrees: the first key was a partial success, the second completed the login.
      expect(readFileSync(log, "utf8")).toMatch(/Partial publickey for [\s\S]*Accepted publickey for /);
    } finally {
      const exited = new Promise((r) => sshd.once("exit", r));
      sshd.kill("SIGTERM");
      await exited;
    }
  });

  it("reports the error codes as JumpgateErrors the CLI can print", async () => {
    const handler = createAuthHandler({
      options: labOptions({
        identityFiles: [path.join(dir, "does-not-exist")],
        identityFileUserProvided: [true],
      }),
      username: server.user,
      prompter: forbiddenPrompter(),
      log: captureLog().log,
    });
    const r = await authenticate(server, handler);
    expect(isJumpgateError(r.error)).toBe(true);
    expect(r.error?.exitCode).toBe(255);
    expect(r.error?.message).toBe(
      `${server.user}@127.0.0.1: Permission denied (publickey).\n` +
        `no such identity: ${path.join(dir, "does-not-exist")}: No such file or directory`,
    );
  });
});
