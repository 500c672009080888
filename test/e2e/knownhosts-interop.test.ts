/**
 * known_hosts interop with the real OpenSSH tools: what ssh-keygen and ssh write, jumpgate reads;
 * what jumpgate writes, ssh-keygen -F and ssh find; fingerprints agree with ssh-keygen -l; and
 * ssh-keyscan against a real sshd parses to the server's own host key.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STRICT_HOSTKEY } from "../../src/config/options.js";
import { verifyHostKey } from "../../src/connection/hostkey.js";
import {
  appendKnownHost,
  checkHostKey,
  fingerprint,
  fingerprintSha256,
  loadKnownHosts,
  parseKnownHosts,
} from "../../src/connection/knownhosts.js";
import { describeE2E, labProgram, type PlainServer, runSsh, startPlainServer } from "../support/lab.js";
import { runCommand } from "../support/proc.js";

interface GeneratedKey {
  type: string;
  blob: Buffer;
  pubPath: string;
  /** "type base64" as ssh-keygen wrote it. */
  text: string;
}

const keygen = (args: string[]): string =>
  execFileSync(labProgram("sshKeygen"), args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

function generate(dir: string, type: "ed25519" | "ecdsa" | "rsa", name: string): GeneratedKey {
  const keyPath = path.join(dir, name);
  const extra = type === "rsa" ? ["-b", "3072"] : type === "ecdsa" ? ["-b", "384"] : [];
  keygen(["-q", "-t", type, ...extra, "-N", "", "-C", `${name}@interop`, "-f", keyPath]);
  const [t, b64] = readFileSync(`${keyPath}.pub`, "utf8").trim().split(" ");
  return {
    type: t as string,
    blob: Buffer.from(b64 as string, "base64"),
    pubPath: `${keyPath}.pub`,
    text: `${t} ${b64}`,
  };
}

const sshKeyscan = (): string => path.join(path.dirname(labProgram("ssh")), "ssh-keyscan");

describeE2E("known_hosts interop with OpenSSH", "sshd", () => {
  let dir: string;
  let keys: GeneratedKey[];

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "jg-kh-interop-"));
    keys = [generate(dir, "ed25519", "ed"), generate(dir, "ecdsa", "ec"), generate(dir, "rsa", "rsa")];
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("fingerprints equal ssh-keygen -l (SHA256 and MD5), with the bits and type it prints", () => {
    for (const k of keys) {
      const sha = keygen(["-l", "-f", k.pubPath]).trim();
      const md5 = keygen(["-l", "-E", "md5", "-f", k.pubPath]).trim();
      expect(sha.split(" ")[1]).toBe(fingerprintSha256(k.blob));
      expect(md5.split(" ")[1]).toBe(fingerprint(k.blob, "md5"));
      // "<bits> <fp> <comment> (<TYPE>)"
      const { entries } = parseKnownHosts(`h ${k.text}`, "x");
      const info = entries[0]?.key;
      expect(sha).toMatch(new RegExp(`^${info?.bits} \\S+ .* \\(${info?.display}\\)$`));
    }
  });

  it("finds entries that ssh-keygen -H hashed, by name and [host]:port, and nothing else", () => {
    const [ed, ec, rsa] = keys as [GeneratedKey, GeneratedKey, GeneratedKey];
    const file = path.join(dir, "hashed_by_keygen");
    writeFileSync(
      file,
      [
        `jaguar.example,10.0.0.5 ${ed.text}`,
        `[127.0.0.1]:2222 ${ec.text}`,
        `Mcgonagall ${rsa.text}`,
        "",
      ].join("\n"),
    );
    keygen(["-H", "-f", file]);
    const text = readFileSync(file, "utf8");
    expect(text).not.toMatch(/jaguar|127\.0\.0\.1|mcgonagall/i);
    expect(loadKnownHosts([file]).entries.every((e) => e.hashed)).toBe(true);
    const at = (hostName: string, k: GeneratedKey) => checkHostKey({ files: [file], hostName, key: k });
    expect(at("jaguar.example", ed).status).toBe("match");
    expect(at("10.0.0.5", ed).status).toBe("match");
    expect(at("[127.0.0.1]:2222", ec).status).toBe("match");
    expect(at("mcgonagall", rsa).status).toBe("match");
    expect(at("127.0.0.1", ec).status).toBe("unknown");
    expect(at("jaguar.example", rsa).status).toBe("changed");
  });

  it("writes hashed and plain entries that ssh-keygen -F finds (also [127.0.0.1]:2222)", async () => {
    const [ed, ec, rsa] = keys as [GeneratedKey, GeneratedKey, GeneratedKey];
    const file = path.join(dir, "written", "known_hosts");
    appendKnownHost(file, "jaguar.example", ed, true);
    appendKnownHost(file, "[127.0.0.1]:2222", ec, true);
    appendKnownHost(file, "Plain.Example", rsa, false);
    for (const [host, line] of [
      // ssh lowercases the name before it looks up (ssh_login()); ssh-keygen -F does not.
      ["jaguar.example", 1],
      ["[127.0.0.1]:2222", 2],
      ["plain.example", 3],
    ] as const) {
      const r = await runCommand(labProgram("sshKeygen"), ["-F", host, "-f", file]);
      expect(r.code, `${host}: ${r.stderr}`).toBe(0);
      expect(r.stdout.toString()).toContain(`found: line ${line}`);
    }
    const missing = await runCommand(labProgram("sshKeygen"), ["-F", "127.0.0.1", "-f", file]);
    expect(missing.stdout.toString()).toBe("");
    // ssh-keygen -R understands the file too (and leaves a .old copy, as always).
    keygen(["-R", "[127.0.0.1]:2222", "-f", file]);
    expect(checkHostKey({ files: [file], hostName: "[127.0.0.1]:2222", key: ec }).status).toBe("unknown");
    expect(checkHostKey({ files: [file], hostName: "jaguar.example", key: ed }).status).toBe("match");
  });

  describe("against a real sshd", () => {
    let server: PlainServer;
    let hostKey: GeneratedKey;

    beforeAll(async () => {
      server = await startPlainServer({ alias: "interop" });
      const line = readFileSync(server.knownHostsPath, "utf8").trim();
      const [, type, b64] = line.split(" ");
      hostKey = {
        type: type as string,
        blob: Buffer.from(b64 as string, "base64"),
        pubPath: "",
        text: `${type} ${b64}`,
      };
    });
    afterAll(async () => {
      await server?.stop();
    });

    const hostName = (): string => `[127.0.0.1]:${server.port}`;

    it("ssh-keyscan output parses to the server's host key", async () => {
      const r = await runCommand(sshKeyscan(), [
        "-p",
        String(server.port),
        "-t",
        "ed25519,ecdsa,rsa",
        "127.0.0.1",
      ]);
      expect(r.code, r.stderr).toBe(0);
      const scanned = path.join(dir, "keyscan");
      writeFileSync(scanned, r.stdout);
      const { entries, invalid } = loadKnownHosts([scanned]);
      expect(invalid).toEqual([]);
      expect(entries).toHaveLength(1); // the lab's sshd has one (Ed25519) host key
      expect(entries[0]?.hosts).toBe(hostName());
      expect(entries[0]?.key.canonical.equals(hostKey.blob)).toBe(true);
      expect(checkHostKey({ files: [scanned], hostName: hostName(), key: hostKey })).toMatchObject({
        status: "match",
        entry: { file: scanned, line: 1 },
      });
    });

    it("ssh connects with the hashed known_hosts jumpgate wrote (StrictHostKeyChecking yes)", async () => {
      const file = path.join(dir, "for-ssh", "known_hosts");
      const v = await verifyHostKey({
        options: {
          strictHostKeyChecking: STRICT_HOSTKEY.new,
          hashKnownHosts: 1,
          userHostfiles: [file],
          systemHostfiles: [],
          hostKeyAlias: null,
          batchMode: 1,
          fingerprintHash: 2,
          noHostAuthenticationForLocalhost: 0,
          revokedHostKeys: null,
        },
        hostname: "127.0.0.1",
        port: server.port,
        address: "127.0.0.1",
        key: hostKey,
        warn: () => {},
        displayName: "interop",
      });
      expect(v).toMatchObject({ trust: "added", recorded: { file }, hostName: hostName() });
      const r = await runSsh(server.configPath, [
        "-o",
        `UserKnownHostsFile=${file}`,
        "interop",
        "echo",
        "ok",
      ]);
      expect(r.stderr).not.toContain("Host key verification failed");
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.toString().trim()).toBe("ok");
    });

    it("reads what ssh itself records with accept-new and HashKnownHosts", async () => {
      const file = path.join(dir, "by-ssh");
      const r = await runSsh(server.configPath, [
        "-o",
        `UserKnownHostsFile=${file}`,
        "-o",
        "StrictHostKeyChecking=accept-new",
        "-o",
        "HashKnownHosts=yes",
        "interop",
        "true",
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`Permanently added '${hostName()}' (ED25519)`);
      const entries = loadKnownHosts([file]).entries;
      expect(entries[0]?.hashed).toBe(true);
      expect(checkHostKey({ files: [file], hostName: hostName(), key: hostKey }).status).toBe("match");
    });

    it("RevokedHostKeys: a key list revokes as in ssh; a KRL from ssh-keygen -k is refused, not ignored", async () => {
      const list = path.join(dir, "revoked-list");
      writeFileSync(list, `# revoked\n${hostKey.text} lab host\n`);
      const r = await runSsh(server.configPath, ["-o", `RevokedHostKeys=${list}`, "interop", "true"]);
      expect(r.code).toBe(255);
      expect(r.stderr).toContain("revoked by file");
      const base = {
        strictHostKeyChecking: STRICT_HOSTKEY.yes,
        hashKnownHosts: 0,
        userHostfiles: [server.knownHostsPath],
        systemHostfiles: [],
        hostKeyAlias: null,
        batchMode: 1,
        fingerprintHash: 2,
        noHostAuthenticationForLocalhost: 0,
      };
      const req = (revokedHostKeys: string | null) => ({
        options: { ...base, revokedHostKeys },
        hostname: "127.0.0.1",
        port: server.port,
        key: hostKey,
        warn: () => {},
        displayName: "interop",
      });
      expect((await verifyHostKey(req(null))).trust).toBe("known");
      await expect(verifyHostKey(req(list))).rejects.toMatchObject({ code: "JG_HOSTKEY_REVOKED" });
      const pub = path.join(dir, "host.pub");
      writeFileSync(pub, `${hostKey.text}\n`);
      const krl = path.join(dir, "revoked.krl");
      keygen(["-k", "-f", krl, pub]);
      await expect(verifyHostKey(req(krl))).rejects.toMatchObject({ code: "JG_HOSTKEY_REFUSED" });
    });

    it("agrees with ssh that a known key of another type means CHANGED", async () => {
      const [, ec] = keys as [GeneratedKey, GeneratedKey, GeneratedKey];
      const file = path.join(dir, "other-type");
      writeFileSync(file, `${hostName()} ${ec.text}\n`);
      const r = await runSsh(server.configPath, [
        "-o",
        `UserKnownHostsFile=${file}`,
        "-o",
        "StrictHostKeyChecking=accept-new",
        "interop",
        "true",
      ]);
      expect(r.code).toBe(255);
      expect(r.stderr).toContain("REMOTE HOST IDENTIFICATION HAS CHANGED");
      expect(r.stderr).toContain(`Offending ECDSA key in ${file}:1`);
      expect(checkHostKey({ files: [file], hostName: hostName(), key: hostKey })).toMatchObject({
        status: "changed",
        sameType: false,
      });
    });
  });
});
