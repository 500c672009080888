/**
 * known_hosts parsing, lookup and writing (src/connection/knownhosts.ts) against OpenSSH 9.2's
 * hostfile.c rules. Keys are made with node:crypto; the fixed vectors (fingerprints, a hashed
 * line) were produced by the installed ssh-keygen, and test/e2e/knownhosts-interop.test.ts checks
 * the same things against the real tools.
 */
import { ECDH, generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  appendKnownHost,
  checkHostKey,
  checkHostKeyIn,
  describeKey,
  findKeyUnderOtherNames,
  fingerprint,
  fingerprintSha256,
  formatKnownHostsLine,
  hashHostName,
  hostKeyLookupName,
  loadKnownHosts,
  orderHostKeyAlgorithms,
  parseKnownHosts,
  plainKeyName,
  presentedKey,
  putHostPort,
  tildeUnexpand,
} from "../../../src/connection/knownhosts.js";
import { JumpgateError } from "../../../src/errors.js";

// ---------------------------------------------------------------------------------------------
// Key helpers (wire encoding of public keys from node:crypto JWKs)

function sshString(data: Buffer | string): Buffer {
  const body = typeof data === "string" ? Buffer.from(data, "latin1") : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

function mpint(magnitude: Buffer): Buffer {
  let m = magnitude;
  while (m.length > 0 && m[0] === 0) m = m.subarray(1);
  return sshString((m[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), m]) : m);
}

const b64u = (s: string | undefined): Buffer => Buffer.from(s ?? "", "base64url");

function ed25519Blob(): Buffer {
  const jwk = generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" });
  return Buffer.concat([sshString("ssh-ed25519"), sshString(b64u(jwk.x))]);
}

function ecdsaBlob(curve: "P-256" | "P-384" = "P-256"): Buffer {
  const jwk = generateKeyPairSync("ec", { namedCurve: curve }).publicKey.export({ format: "jwk" });
  const size = curve === "P-256" ? "nistp256" : "nistp384";
  const point = Buffer.concat([Buffer.from([4]), b64u(jwk.x), b64u(jwk.y)]);
  return Buffer.concat([sshString(`ecdsa-sha2-${size}`), sshString(size), sshString(point)]);
}

function rsaBlob(bits = 2048): Buffer {
  const jwk = generateKeyPairSync("rsa", { modulusLength: bits }).publicKey.export({ format: "jwk" });
  return Buffer.concat([sshString("ssh-rsa"), mpint(b64u(jwk.e)), mpint(b64u(jwk.n))]);
}

const typeOf = (blob: Buffer): string => blob.subarray(4, 4 + blob.readUInt32BE(0)).toString("latin1");
const keyText = (blob: Buffer): string => `${typeOf(blob)} ${blob.toString("base64")}`;

/** Made by ssh-keygen 9.2p1: `ssh-keygen -lf` and `ssh-keygen -E md5 -lf` of this key. */
const VECTOR = {
  line: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICzb1Ix81is38T9OXyd1vhAHCvR/P7RT7NZCpl3MlTrg",
  sha256: "SHA256:eGtMroxc7lEvnltVTyUhirQg6Cf0O9WE1veljnHa1gE",
  md5: "MD5:b7:3e:48:5a:2c:85:aa:3b:55:2b:34:f0:31:f3:39:f8",
  /** `ssh-keygen -H` of "Jaguar.Example <key>" (ssh-keygen lowercases before hashing). */
  hashedHost: "|1|RixFfkhxOEnGfmAZnEz8P8NAydo=|yfn8Qd5wqXNxnDILl5O/K5Q8Aik=",
};
const vectorBlob = Buffer.from(VECTOR.line.split(" ")[1] as string, "base64");

const ED = ed25519Blob();
const ED2 = ed25519Blob();
const EC = ecdsaBlob();
const RSA = rsaBlob();

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "jg-knownhosts-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function writeFile(name: string, lines: string[]): string {
  const file = path.join(dir, name);
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

function check(files: string[], hostName: string, blob: Buffer) {
  return checkHostKey({ files, hostName, key: { type: typeOf(blob), blob } });
}

// ---------------------------------------------------------------------------------------------

describe("keys", () => {
  it("describes each key type as ssh prints it (sshkey_type, sshkey_size)", () => {
    expect(describeKey(ED)).toMatchObject({ name: "ssh-ed25519", display: "ED25519", bits: 256 });
    expect(describeKey(EC)).toMatchObject({ name: "ecdsa-sha2-nistp256", display: "ECDSA", bits: 256 });
    expect(describeKey(ecdsaBlob("P-384"))).toMatchObject({ name: "ecdsa-sha2-nistp384", bits: 384 });
    expect(describeKey(RSA)).toMatchObject({ name: "ssh-rsa", display: "RSA", bits: 2048 });
    for (const blob of [ED, EC, RSA]) expect(describeKey(blob).canonical.equals(blob)).toBe(true);
  });

  it("fingerprints exactly as ssh-keygen -l (SHA256 default, MD5 on request)", () => {
    expect(fingerprintSha256(vectorBlob)).toBe(VECTOR.sha256);
    expect(fingerprint(vectorBlob, "md5")).toBe(VECTOR.md5);
  });

  it("compares keys by value: an over-long mpint is the same RSA key", () => {
    const r = describeKey(RSA);
    // Re-encode with a redundant leading zero byte on the exponent.
    const e = Buffer.from([0, 0, 1, 0, 1]);
    const nStart = 4 + 7 + 4 + RSA.readUInt32BE(11);
    const padded = Buffer.concat([sshString("ssh-rsa"), sshString(e), RSA.subarray(nStart)]);
    const p = describeKey(padded);
    expect(p.canonical.equals(r.canonical)).toBe(true);
    expect(fingerprintSha256(padded)).toBe(fingerprintSha256(RSA));
  });

  it("a compressed EC point in a file is the same key as the uncompressed one (EC_POINT_cmp)", () => {
    const ec = describeKey(EC);
    const point = EC.subarray(EC.length - 65);
    const compressed = ECDH.convertKey(point, "prime256v1", undefined, undefined, "compressed") as Buffer;
    const blob = Buffer.concat([
      sshString("ecdsa-sha2-nistp256"),
      sshString("nistp256"),
      sshString(compressed),
    ]);
    const { entries } = parseKnownHosts(`h ${keyText(blob)}`, "kh");
    expect(entries[0]?.key.canonical.equals(ec.canonical)).toBe(true);
    expect(checkHostKeyIn(entries, "h", { blob: EC }).status).toBe("match");
  });

  it("refuses blobs OpenSSH would not load, with JG_HOSTKEY_REFUSED", () => {
    const bad = [
      Buffer.concat([ED, Buffer.from([0])]), // trailing data
      ED.subarray(0, ED.length - 1), // truncated
      Buffer.concat([sshString("ssh-foo"), sshString("x")]), // unknown type
      Buffer.concat([sshString("ssh-ed25519"), sshString(Buffer.alloc(31))]), // short Ed25519
      Buffer.concat([sshString("ssh-rsa"), mpint(Buffer.from([1, 0, 1])), mpint(Buffer.alloc(64, 0xff))]), // 512 bits
      Buffer.concat([
        sshString("ecdsa-sha2-nistp256"),
        sshString("nistp384"),
        sshString(Buffer.alloc(65, 4)),
      ]),
      Buffer.concat([
        sshString("ecdsa-sha2-nistp256"),
        sshString("nistp256"),
        sshString(Buffer.alloc(65, 4)),
      ]), // not on curve
    ];
    for (const blob of bad) {
      expect(() => describeKey(blob)).toThrow(JumpgateError);
      try {
        describeKey(blob);
      } catch (err) {
        expect((err as JumpgateError).code).toBe("JG_HOSTKEY_REFUSED");
      }
    }
  });

  it("maps algorithm names to plain key types", () => {
    expect(plainKeyName("rsa-sha2-512")).toBe("ssh-rsa");
    expect(plainKeyName("rsa-sha2-256-cert-v01@openssh.com")).toBe("ssh-rsa");
    expect(plainKeyName("ssh-ed25519-cert-v01@openssh.com")).toBe("ssh-ed25519");
    expect(plainKeyName("sk-ssh-ed25519-cert-v01@openssh.com")).toBe("sk-ssh-ed25519@openssh.com");
    expect(plainKeyName("sk-ecdsa-sha2-nistp256@openssh.com")).toBe("sk-ecdsa-sha2-nistp256@openssh.com");
    expect(plainKeyName("ecdsa-sha2-nistp521")).toBe("ecdsa-sha2-nistp521");
    expect(plainKeyName("x25519")).toBeUndefined();
  });

  it("checks the caller's type hint against the blob", () => {
    expect(presentedKey({ type: "rsa-sha2-512", blob: RSA }).name).toBe("ssh-rsa");
    expect(() => presentedKey({ type: "ssh-ed25519", blob: RSA })).toThrow(/sent a ssh-rsa key blob/);
  });
});

describe("host names (put_host_port, HostKeyAlias)", () => {
  it("bare for port 22, [host]:port otherwise, lowercased", () => {
    expect(putHostPort("h", 22)).toBe("h");
    expect(putHostPort("h", 0)).toBe("h");
    expect(putHostPort("127.0.0.1", 2222)).toBe("[127.0.0.1]:2222");
    expect(hostKeyLookupName({ hostname: "Jaguar.Example", port: 22 })).toBe("jaguar.example");
    expect(hostKeyLookupName({ hostname: "Jaguar", port: 2222 })).toBe("[jaguar]:2222");
  });

  it("uses HostKeyAlias verbatim (lowercased), with no port, as ssh 9.2 does", () => {
    expect(hostKeyLookupName({ hostname: "10.0.0.5", port: 2222, hostKeyAlias: "MyAlias" })).toBe("myalias");
    expect(hostKeyLookupName({ hostname: "10.0.0.5", port: 22, hostKeyAlias: null })).toBe("10.0.0.5");
  });

  it("hashes as ssh-keygen -H does", () => {
    const salt = Buffer.from(VECTOR.hashedHost.split("|")[2] as string, "base64");
    expect(hashHostName("jaguar.example", salt)).toBe(VECTOR.hashedHost);
    const fresh = hashHostName("jaguar.example");
    expect(fresh).toMatch(/^\|1\|[A-Za-z0-9+/]{27}=\|[A-Za-z0-9+/]{27}=$/);
    expect(fresh).not.toBe(hashHostName("jaguar.example"));
  });

  it("shortens paths under the home directory for messages", () => {
    expect(tildeUnexpand("/home/u/.ssh/known_hosts", "/home/u")).toBe("~/.ssh/known_hosts");
    expect(tildeUnexpand("/home/u2/x", "/home/u")).toBe("/home/u2/x");
    expect(tildeUnexpand("/etc/ssh/ssh_known_hosts", "/home/u")).toBe("/etc/ssh/ssh_known_hosts");
  });
});

describe("parsing (hostkeys_foreach_file)", () => {
  it("keeps file and line for every entry, skipping comments and blank lines", () => {
    const text = [
      "# comment",
      "",
      "   ",
      `jaguar ${keyText(ED)} a comment here`,
      `\t mcgonagall,10.0.0.7\t${keyText(EC)}`,
      `@revoked * ${keyText(RSA)}`,
      `@cert-authority *.internal ${keyText(ED2)} ca`,
      `${VECTOR.hashedHost} ${VECTOR.line}`,
    ].join("\n");
    const { entries, invalid } = parseKnownHosts(text, "kh");
    expect(invalid).toEqual([]);
    expect(entries.map((e) => [e.line, e.hosts, e.marker, e.hashed])).toEqual([
      [4, "jaguar", undefined, false],
      [5, "mcgonagall,10.0.0.7", undefined, false],
      [6, "*", "revoked", false],
      [7, "*.internal", "cert-authority", false],
      [8, VECTOR.hashedHost, undefined, true],
    ]);
    expect(entries[0]?.comment).toBe("a comment here");
    expect(entries[0]?.file).toBe("kh");
  });

  it("skips what OpenSSH skips, and says why", () => {
    const text = [
      `@bogus host ${keyText(ED)}`,
      `@revoked @revoked host ${keyText(ED)}`,
      "hostonly",
      "host ssh-ed25519",
      "host # comment",
      `host ssh-rsa ${ED.toString("base64")}`, // type word disagrees with the blob
      "host ssh-ed25519 !!!notbase64!!!",
      `|1|short|abc= ${keyText(ED)}`, // malformed hash
      `host ssh-ed25519-cert-v01@openssh.com ${ED.toString("base64")}`,
      `ok ${keyText(ED)}\r`, // CRLF: base64 decoding skips the \r as b64_pton does
    ].join("\n");
    const { entries, invalid } = parseKnownHosts(text, "kh");
    expect(entries.map((e) => e.line)).toEqual([10]);
    expect(invalid.map((i) => i.line)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(invalid[5]?.reason).toMatch(/type mismatch/);
    expect(invalid[7]?.reason).toMatch(/bad host hash/);
  });

  it("accepts rsa-sha2-256 as a type word for an RSA key (sshkey.c lists it)", () => {
    const { entries } = parseKnownHosts(`h rsa-sha2-256 ${RSA.toString("base64")}`, "kh");
    expect(entries[0]?.key.name).toBe("ssh-rsa");
  });

  it("re-reads a file whose text changed, even at the same size", () => {
    const f = writeFile("kh", [`jaguar ${keyText(ED)}`]);
    expect(check([f], "jaguar", ED).status).toBe("match");
    writeFile("kh", [`jaguar ${keyText(ED2)}`]);
    expect(check([f], "jaguar", ED).status).toBe("changed");
  });

  it("reads many files in order; missing files are fine", () => {
    const a = writeFile("a", [`h ${keyText(ED)}`]);
    const b = writeFile("b", [`h ${keyText(EC)}`]);
    const db = loadKnownHosts([path.join(dir, "missing"), a, b, path.join(dir, "missing", "deeper")]);
    expect(db.entries.map((e) => e.file)).toEqual([a, b]);
    expect(db.unreadable).toEqual([]);
  });
});

describe("checkHostKey (check_key_in_hostkeys)", () => {
  it("matches plain, hashed, [host]:port, wildcard and case-insensitive entries", () => {
    const f = writeFile("kh", [
      `jaguar ${keyText(ED)}`,
      `[127.0.0.1]:2222 ${keyText(EC)}`,
      `*.internal ${keyText(RSA)}`,
      `${VECTOR.hashedHost} ${VECTOR.line}`,
      `WEB?.Example ${keyText(ED2)}`,
    ]);
    expect(check([f], "jaguar", ED)).toMatchObject({ status: "match", entry: { line: 1 } });
    expect(check([f], "[127.0.0.1]:2222", EC)).toMatchObject({ status: "match", entry: { line: 2 } });
    expect(check([f], "127.0.0.1", EC)).toMatchObject({ status: "unknown" });
    expect(check([f], "db1.internal", RSA)).toMatchObject({ status: "match", entry: { line: 3 } });
    expect(check([f], "jaguar.example", vectorBlob)).toMatchObject({ status: "match", entry: { line: 4 } });
    expect(check([f], "JAGUAR.example", vectorBlob)).toMatchObject({ status: "match", entry: { line: 4 } });
    expect(check([f], "web1.example", ED2)).toMatchObject({ status: "match", entry: { line: 5 } });
    expect(check([f], "mcgonagall", ED)).toEqual({ status: "unknown", certAuthorities: [] });
  });

  it("a matching negated pattern makes the line not match", () => {
    const f = writeFile("kh", [`*.internal,!secret.internal ${keyText(ED)}`]);
    expect(check([f], "db.internal", ED).status).toBe("match");
    expect(check([f], "secret.internal", ED).status).toBe("unknown");
    // Only negations: never a positive match.
    const g = writeFile("kh2", [`!foo ${keyText(ED)}`]);
    expect(check([g], "bar", ED).status).toBe("unknown");
  });

  it("a hashed field is one name, never a list", () => {
    const f = writeFile("kh", [`${VECTOR.hashedHost},other ${VECTOR.line}`]);
    expect(check([f], "jaguar.example", vectorBlob).status).toBe("unknown");
    expect(check([f], "other", vectorBlob).status).toBe("unknown");
  });

  it("any entry holding the key wins over other entries for the host", () => {
    const f = writeFile("kh", [`jaguar ${keyText(RSA)}`, `jaguar ${keyText(ED)}`]);
    expect(check([f], "jaguar", ED)).toMatchObject({ status: "match", entry: { line: 2 } });
  });

  it("searches the files in order: the first file's entry is the one reported", () => {
    const user = writeFile("user", [`jaguar ${keyText(ED)}`]);
    const system = writeFile("system", [`jaguar ${keyText(ED)}`]);
    expect(check([user, system], "jaguar", ED)).toMatchObject({ status: "match", entry: { file: user } });
    expect(check([system, user], "jaguar", ED)).toMatchObject({ status: "match", entry: { file: system } });
  });

  it("a different key of the same type is changed, with file and line", () => {
    const user = writeFile("user", ["# header", `jaguar ${keyText(ED2)}`]);
    const system = writeFile("system", [`jaguar,mcgonagall ${keyText(ED2)}`]);
    const r = check([user, system], "jaguar", ED);
    expect(r.status).toBe("changed");
    if (r.status !== "changed") return;
    expect(r.sameType).toBe(true);
    expect(r.entries.map((e) => `${e.file}:${e.line}`)).toEqual([`${user}:2`, `${system}:1`]);
  });

  it("a known key of another type only is changed too, as in OpenSSH 9.2", () => {
    const f = writeFile("kh", [`jaguar ${keyText(RSA)}`]);
    const r = check([f], "jaguar", ED);
    expect(r).toMatchObject({ status: "changed", sameType: false });
  });

  it("@revoked refuses the key whatever the host field says, even beside a matching line", () => {
    const f = writeFile("kh", [`jaguar ${keyText(ED)}`, `@revoked someotherhost ${keyText(ED)}`]);
    expect(check([f], "jaguar", ED)).toMatchObject({ status: "revoked", entry: { line: 2 } });
    expect(check([f], "anything", ED)).toMatchObject({ status: "revoked" });
    // A revoked line for another key does not affect this one.
    expect(check([f], "jaguar", ED2).status).toBe("changed");
  });

  it("@cert-authority never vouches for a plain key, but is reported for the error", () => {
    const f = writeFile("kh", [`@cert-authority *.internal ${keyText(ED)}`]);
    const r = check([f], "db.internal", ED);
    expect(r.status).toBe("unknown");
    if (r.status !== "unknown") return;
    expect(r.certAuthorities.map((e) => e.line)).toEqual([1]);
    expect(check([f], "elsewhere", ED)).toEqual({ status: "unknown", certAuthorities: [] });
  });

  it("finds the key under other names (for the prompt)", () => {
    const f = writeFile("kh", [
      `jaguar ${keyText(ED)}`,
      `${VECTOR.hashedHost} ${keyText(ED)}`,
      `x ${keyText(EC)}`,
    ]);
    const { entries } = loadKnownHosts([f]);
    const key = describeKey(ED);
    expect(findKeyUnderOtherNames(entries, "mcgonagall", key).map((e) => e.line)).toEqual([1, 2]);
    expect(findKeyUnderOtherNames(entries, "jaguar", key).map((e) => e.line)).toEqual([2]);
    expect(checkHostKeyIn(entries, "jaguar", key).status).toBe("match");
  });
});

describe("orderHostKeyAlgorithms (order_hostkeyalgs)", () => {
  const algs = [
    "ssh-ed25519-cert-v01@openssh.com",
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "rsa-sha2-512",
    "ssh-rsa",
  ];

  it("keeps the list when the first choice is known, else moves known types first", () => {
    const { entries } = parseKnownHosts([`jaguar ${keyText(RSA)}`, `mcg ${keyText(ED)}`].join("\n"), "kh");
    expect(orderHostKeyAlgorithms(entries, "jaguar", algs)).toEqual([
      "rsa-sha2-512",
      "ssh-rsa",
      "ssh-ed25519-cert-v01@openssh.com",
      "ssh-ed25519",
      "ecdsa-sha2-nistp256",
    ]);
    expect(orderHostKeyAlgorithms(entries, "mcg", algs)).toEqual(algs);
    expect(orderHostKeyAlgorithms(entries, "unknown", algs)).toEqual(algs);
  });

  it("puts certificate algorithms first when a @cert-authority line matches", () => {
    const { entries } = parseKnownHosts(`@cert-authority * ${keyText(EC)}`, "kh");
    expect(orderHostKeyAlgorithms(entries, "h", ["ssh-ed25519", "ssh-ed25519-cert-v01@openssh.com"])).toEqual(
      ["ssh-ed25519-cert-v01@openssh.com", "ssh-ed25519"],
    );
  });
});

describe("writing (write_host_entry, add_host_to_hostfile)", () => {
  it("formats lines as ssh writes them: lowercased host, plain type name, no comment", () => {
    expect(formatKnownHostsLine("Jaguar", { type: "ssh-ed25519", blob: ED }, false)).toBe(
      `jaguar ${keyText(ED)}`,
    );
    expect(formatKnownHostsLine("h", { type: "rsa-sha2-512", blob: RSA }, false)).toBe(`h ${keyText(RSA)}`);
    const hashed = formatKnownHostsLine("[Jaguar]:2222", { blob: ED }, true);
    expect(hashed).toMatch(/^\|1\|\S+\|\S+ ssh-ed25519 \S+$/);
    const f = writeFile("kh", [hashed]);
    expect(check([f], "[jaguar]:2222", ED).status).toBe("match");
  });

  it("creates the directory 0700 and the file 0600, appends and never rewrites", () => {
    const file = path.join(dir, "new", ".ssh", "known_hosts");
    const first = appendKnownHost(file, "jaguar", { blob: ED }, false);
    expect(first).toEqual({ file, text: `jaguar ${keyText(ED)}` });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    appendKnownHost(file, "mcgonagall", { blob: EC }, true);
    const lines = readFileSync(file, "utf8").split("\n");
    expect(lines[0]).toBe(`jaguar ${keyText(ED)}`);
    expect(lines[1]).toMatch(/^\|1\|/);
    expect(lines[2]).toBe("");
    expect(check([file], "mcgonagall", EC).status).toBe("match");
  });

  it("keeps an existing file's mode and adds the missing final newline before appending", () => {
    const file = path.join(dir, "kh");
    writeFileSync(file, `# mine\njaguar ${keyText(ED)}`, { mode: 0o644 });
    appendKnownHost(file, "mcgonagall", { blob: EC }, false);
    expect(readFileSync(file, "utf8")).toBe(`# mine\njaguar ${keyText(ED)}\nmcgonagall ${keyText(EC)}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o644);
    const { entries } = loadKnownHosts([file]);
    expect(entries.map((e) => [e.hosts, e.line])).toEqual([
      ["jaguar", 2],
      ["mcgonagall", 3],
    ]);
  });
});
