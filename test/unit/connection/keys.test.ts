/**
 * Identity files as OpenSSH loads them: missing files, permission refusal with ssh's exact block,
 * encrypted keys (OpenSSH bcrypt and PEM) with right, wrong and no passphrases, BatchMode, and
 * the public halves found without any passphrase. Keys are made by the real ssh-keygen.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import ssh2 from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  fingerprint,
  type KeyLoadOptions,
  keyTypeName,
  loadIdentityFile,
  loadPublicIdentity,
  publicKeyFromOpenSshPrivate,
  readIdentityFile,
  samePublicKey,
  unprotectedKeyWarning,
} from "../../../src/connection/keys.js";
import { PromptError, type Prompter } from "../../../src/connection/prompt.js";
import { JumpgateError } from "../../../src/errors.js";
import { createLogger } from "../../../src/util/log.js";

let dir: string;
let plain: string; // ed25519, no passphrase
let encrypted: string; // ed25519, OpenSSH format, passphrase "secret", no .pub
let pem: string; // RSA, PEM format, passphrase "secret", no .pub

function keygen(file: string, args: string[]): void {
  execFileSync("ssh-keygen", ["-q", "-C", `comment-${path.basename(file)}`, "-f", file, ...args]);
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "jg-keys-"));
  plain = path.join(dir, "id_plain");
  keygen(plain, ["-t", "ed25519", "-N", ""]);
  encrypted = path.join(dir, "id_encrypted");
  // -a 4: fewer bcrypt rounds than the default 16, so the many decryptions here stay fast.
  keygen(encrypted, ["-t", "ed25519", "-N", "secret", "-a", "4"]);
  rmSync(`${encrypted}.pub`);
  pem = path.join(dir, "id_pem");
  keygen(pem, ["-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "secret"]);
  rmSync(`${pem}.pub`);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function capture() {
  const lines: string[] = [];
  return { lines, log: createLogger("DEBUG3", (l) => lines.push(l.replace(/\n$/, ""))) };
}

function prompter(answers: string[] | ((q: string) => string)): Prompter & { questions: string[] } {
  const questions: string[] = [];
  let i = 0;
  return {
    questions,
    available: () => true,
    ask: async (question) => {
      questions.push(question);
      if (typeof answers === "function") return answers(question);
      const a = answers[i++];
      if (a === undefined) throw new Error("prompter asked too often");
      return a;
    },
  };
}

function throwingPrompter(err: Error): Prompter & { calls: number } {
  const p = {
    calls: 0,
    available: () => false,
    ask: async (): Promise<string> => {
      p.calls++;
      throw err;
    },
  };
  return p;
}

function opts(p: Prompter, extra: Partial<KeyLoadOptions> = {}) {
  const { log, lines } = capture();
  return { o: { prompter: p, batchMode: false, log, ...extra } satisfies KeyLoadOptions, lines };
}

function copyWithMode(source: string, name: string, mode: number): string {
  const target = path.join(dir, name);
  copyFileSync(source, target);
  chmodSync(target, mode);
  return target;
}

describe("loadIdentityFile: files and permissions", () => {
  it("loads an unprotected-by-passphrase key without asking anything", async () => {
    const p = prompter([]);
    const { o } = opts(p);
    const id = await loadIdentityFile(plain, o);
    expect(id?.key.isPrivateKey()).toBe(true);
    expect(id?.key.type).toBe("ssh-ed25519");
    expect(id?.encrypted).toBe(false);
    expect(p.questions).toEqual([]);
  });

  it("skips a missing file: DEBUG3 for ssh's defaults, INFO for a file the user named", async () => {
    const missing = path.join(dir, "nope");
    const d = opts(prompter([]));
    expect(await loadIdentityFile(missing, d.o)).toBeNull();
    expect(d.lines).toEqual([`debug3: no such identity: ${missing}: No such file or directory`]);
    const u = opts(prompter([]), { userProvided: true });
    expect(await loadIdentityFile(missing, u.o)).toBeNull();
    expect(u.lines).toEqual([`no such identity: ${missing}: No such file or directory`]);
  });

  it("refuses a 0644 key with OpenSSH's exact block and JG_KEY_PERMISSIONS", async () => {
    const key = copyWithMode(plain, "id_0644", 0o644);
    const p = prompter([]);
    const { o, lines } = opts(p);
    const err = await loadIdentityFile(key, o).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JumpgateError);
    expect((err as JumpgateError).code).toBe("JG_KEY_PERMISSIONS");
    expect((err as JumpgateError).message).toBe(
      `Load key "${key}": bad permissions (0644 is too open; \`chmod 600 '${key}'\` makes ssh and jumpgate use it).`,
    );
    // The seeds' capture of ssh (000_*.txt), with this file's path.
    expect(lines).toEqual([
      "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
      "@         WARNING: UNPROTECTED PRIVATE KEY FILE!          @",
      "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
      `Permissions 0644 for '${key}' are too open.`,
      "It is required that your private key files are NOT accessible by others.",
      "This private key will be ignored.",
      `Load key "${key}": bad permissions`,
    ]);
    expect(p.questions).toEqual([]);
  });

  it("checks permissions before decrypting: an unprotected encrypted key is never asked for", async () => {
    const key = copyWithMode(encrypted, "id_enc_0640", 0o640);
    const p = prompter(["secret"]);
    const r = await readIdentityFile(key, opts(p).o);
    expect(r.status === "refused" && r.error.code).toBe("JG_KEY_PERMISSIONS");
    expect(p.questions).toEqual([]);
  });

  it.each([
    [0o600, "loaded"],
    [0o400, "loaded"],
    [0o700, "loaded"],
    [0o640, "refused"],
    [0o604, "refused"],
    [0o620, "refused"],
    [0o602, "refused"],
  ])("mode %o -> %s (any group/other bit refuses, root included)", async (mode, status) => {
    const key = copyWithMode(plain, `id_mode_${mode.toString(8)}`, mode);
    expect((await readIdentityFile(key, opts(prompter([])).o)).status).toBe(status);
  });

  it("does not judge a key owned by someone else (sshkey_perm_ok checks only our own files)", async () => {
    const key = copyWithMode(plain, "id_theirs", 0o644);
    const uid = (process.getuid?.() ?? 0) + 1;
    expect((await readIdentityFile(key, opts(prompter([]), { uid }).o)).status).toBe("loaded");
  });

  it("prints the mode as ssh's %3.3o does", () => {
    expect(unprotectedKeyWarning("/k", 0o100044)[3]).toBe("Permissions 0044 for '/k' are too open.");
    expect(unprotectedKeyWarning("/k", 0o100777)[3]).toBe("Permissions 0777 for '/k' are too open.");
  });

  it("calls a non-key file an invalid format (JG_KEY_UNREADABLE)", async () => {
    const junk = path.join(dir, "junk");
    writeFileSync(junk, "hello\n", { mode: 0o600 });
    const { o, lines } = opts(prompter([]));
    const r = await readIdentityFile(junk, o);
    expect(r.status === "refused" && r.error.code).toBe("JG_KEY_UNREADABLE");
    expect(lines).toEqual([`Load key "${junk}": invalid format`]);
    // A public key where a private one belongs is no better.
    const pubAsPrivate = copyWithMode(`${plain}.pub`, "pub_as_private", 0o600);
    expect((await readIdentityFile(pubAsPrivate, opts(prompter([])).o)).status).toBe("refused");
  });
});

describe("loadIdentityFile: passphrases", () => {
  it("asks `Enter passphrase for key '<path>': ` and decrypts an OpenSSH (bcrypt) key", async () => {
    const p = prompter(["secret"]);
    const id = await loadIdentityFile(encrypted, opts(p).o);
    expect(p.questions).toEqual([`Enter passphrase for key '${encrypted}': `]);
    expect(id?.encrypted).toBe(true);
    expect(id?.key.isPrivateKey()).toBe(true);
    expect(id?.comment).toBe("comment-id_encrypted");
  });

  it("decrypts a PEM key (DEK-Info) the same way", async () => {
    const p = prompter(["secret"]);
    const id = await loadIdentityFile(pem, opts(p).o);
    expect(id?.key.type).toBe("ssh-rsa");
    expect(p.questions).toEqual([`Enter passphrase for key '${pem}': `]);
  });

  it("retries a wrong passphrase and accepts the right one on the last try", async () => {
    const p = prompter(["nope", "still no", "secret"]);
    const { o, lines } = opts(p);
    const id = await loadIdentityFile(encrypted, o);
    expect(id?.key.isPrivateKey()).toBe(true);
    expect(p.questions).toHaveLength(3);
    expect(lines.filter((l) => l === "debug2: bad passphrase given, try again...")).toHaveLength(2);
  });

  it("gives up after the tries with JG_KEY_PASSPHRASE and ssh's wording", async () => {
    const p = prompter(() => "wrong");
    const err = await loadIdentityFile(encrypted, opts(p).o).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: "JG_KEY_PASSPHRASE",
      message: `Load key "${encrypted}": incorrect passphrase supplied to decrypt private key`,
    });
    expect(p.questions).toHaveLength(3);
    const pemErr = await loadIdentityFile(
      pem,
      opts(
        prompter(() => "wrong"),
        { tries: 1 },
      ).o,
    ).catch((e: unknown) => e);
    expect(pemErr).toMatchObject({ code: "JG_KEY_PASSPHRASE" });
  });

  it("honours NumberOfPasswordPrompts (tries), including 0", async () => {
    const one = prompter(() => "wrong");
    await loadIdentityFile(encrypted, opts(one, { tries: 1 }).o).catch(() => {});
    expect(one.questions).toHaveLength(1);
    const none = prompter([]);
    const r = await readIdentityFile(encrypted, opts(none, { tries: 0 }).o);
    expect(r).toMatchObject({ status: "skipped", reason: "no-prompts" });
    expect(none.questions).toEqual([]);
  });

  it("skips the key on an empty answer (ssh: 'no passphrase given, try next key')", async () => {
    const p = prompter([""]);
    const { o, lines } = opts(p);
    expect(await loadIdentityFile(encrypted, o)).toBeNull();
    expect(p.questions).toHaveLength(1);
    expect(lines).toContain("debug2: no passphrase given, try next key");
  });

  it("under BatchMode skips an encrypted key with a debug line and never calls the prompter", async () => {
    const p = throwingPrompter(new Error("must not be called"));
    const { o, lines } = opts(p, { batchMode: true });
    const r = await readIdentityFile(encrypted, o);
    expect(r).toMatchObject({ status: "skipped", reason: "batch-mode" });
    expect(p.calls).toBe(0);
    expect(lines.every((l) => l.startsWith("debug"))).toBe(true);
    // Unencrypted keys still load in BatchMode.
    expect((await readIdentityFile(plain, opts(p, { batchMode: true }).o)).status).toBe("loaded");
  });

  it("treats a cancelled or impossible prompt as 'no passphrase', and Ctrl-C as the end", async () => {
    const cancelled = await readIdentityFile(
      encrypted,
      opts(throwingPrompter(new PromptError("cancelled", "askpass said no"))).o,
    );
    expect(cancelled).toMatchObject({ status: "skipped", reason: "no-passphrase" });
    const unavailable = await readIdentityFile(
      encrypted,
      opts(throwingPrompter(new PromptError("unavailable", "no tty"))).o,
    );
    expect(unavailable).toMatchObject({ status: "skipped", reason: "prompt-unavailable" });
    const interrupted = readIdentityFile(
      encrypted,
      opts(throwingPrompter(new PromptError("interrupted", "Ctrl-C"))).o,
    );
    await expect(interrupted).rejects.toMatchObject({ reason: "interrupted", exitCode: 130 });
  });

  it("never logs the passphrase", async () => {
    const { o, lines } = opts(prompter(["hunter2-wrong", "hunter2-wrong", "hunter2-wrong"]));
    await readIdentityFile(encrypted, o);
    expect(lines.join("\n")).not.toContain("hunter2");
  });
});

describe("public halves (sshkey_load_public)", () => {
  it("reads <path>.pub when it exists", async () => {
    const pub = await loadPublicIdentity(plain);
    expect(pub?.source).toBe("pub");
    expect(pub?.key.isPrivateKey()).toBe(false);
    const priv = ssh2.utils.parseKey(readFileSync(plain));
    if (priv instanceof Error) throw priv;
    expect(samePublicKey(pub!.key, priv)).toBe(true);
  });

  it("extracts the clear public key of an encrypted OpenSSH key without its passphrase", async () => {
    const pub = await loadPublicIdentity(encrypted);
    expect(pub?.source).toBe("private");
    const real = await loadIdentityFile(encrypted, opts(prompter(["secret"])).o);
    expect(samePublicKey(pub!.key, real!.key)).toBe(true);
    // Same fingerprint as ssh-keygen -l prints.
    const printed = execFileSync("ssh-keygen", ["-l", "-f", encrypted], { encoding: "utf8" });
    expect(printed.split(" ")[1]).toBe(fingerprint(pub!.key));
    expect(keyTypeName(pub!.key)).toBe("ED25519");
  });

  it("accepts a public key named directly as the identity", async () => {
    const pub = await loadPublicIdentity(`${plain}.pub`);
    expect(pub?.source).toBe("file");
  });

  it("has nothing for an encrypted PEM key without .pub, or a missing file", async () => {
    expect(await loadPublicIdentity(pem)).toBeNull();
    expect(await loadPublicIdentity(path.join(dir, "missing"))).toBeNull();
    expect(
      publicKeyFromOpenSshPrivate(
        "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----",
      ),
    ).toBeNull();
  });
});
