/**
 * The host key policy (src/connection/hostkey.ts): StrictHostKeyChecking yes / accept-new / no /
 * ask, BatchMode, HashKnownHosts, HostKeyAlias, revoked and changed keys, as OpenSSH 9.2's
 * check_host_key() decides, except that jumpgate never proceeds with a changed or revoked key.
 */
import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { STRICT_HOSTKEY } from "../../../src/config/options.js";
import {
  type HostKeyOptions,
  type HostKeyRequest,
  preferredHostKeyAlgorithms,
  verifyHostKey,
} from "../../../src/connection/hostkey.js";
import { fingerprintSha256, loadKnownHosts } from "../../../src/connection/knownhosts.js";
import { type ErrorCode, JumpgateError } from "../../../src/errors.js";

function sshString(data: Buffer | string): Buffer {
  const body = typeof data === "string" ? Buffer.from(data, "latin1") : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

function ed25519Blob(): Buffer {
  const jwk = generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" });
  return Buffer.concat([sshString("ssh-ed25519"), sshString(Buffer.from(jwk.x ?? "", "base64url"))]);
}

function ecdsaBlob(): Buffer {
  const jwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ format: "jwk" });
  const point = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(jwk.x ?? "", "base64url"),
    Buffer.from(jwk.y ?? "", "base64url"),
  ]);
  return Buffer.concat([sshString("ecdsa-sha2-nistp256"), sshString("nistp256"), sshString(point)]);
}

const typeOf = (blob: Buffer): string => blob.subarray(4, 4 + blob.readUInt32BE(0)).toString("latin1");
const keyText = (blob: Buffer): string => `${typeOf(blob)} ${blob.toString("base64")}`;

const KEY = ed25519Blob();
const OTHER = ed25519Blob();
const EC = ecdsaBlob();
const FP = fingerprintSha256(KEY);

let dir: string;
let userFile: string;
let systemFile: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "jg-hostkey-"));
  userFile = path.join(dir, "home", ".ssh", "known_hosts");
  systemFile = path.join(dir, "ssh_known_hosts");
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function write(file: string, lines: string[]): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${lines.join("\n")}\n`);
}

function options(over: Partial<HostKeyOptions> = {}): HostKeyOptions {
  return {
    strictHostKeyChecking: STRICT_HOSTKEY.ask,
    hashKnownHosts: 0,
    userHostfiles: [userFile],
    systemHostfiles: [systemFile],
    hostKeyAlias: null,
    batchMode: 0,
    fingerprintHash: 2,
    noHostAuthenticationForLocalhost: 0,
    revokedHostKeys: null,
    ...over,
  };
}

/** A fake terminal: answers in order, records every question. */
function fakePrompt(answers: Array<string | Error>) {
  const questions: string[] = [];
  const prompt = async (question: string): Promise<string> => {
    questions.push(question);
    const next = answers.shift();
    if (next === undefined) throw new Error("prompt called more often than expected");
    if (next instanceof Error) throw next;
    return next;
  };
  return { prompt, questions };
}

function request(over: Partial<HostKeyRequest> & { opts?: Partial<HostKeyOptions> } = {}) {
  const warnings: string[] = [];
  const { opts, ...rest } = over;
  const req: HostKeyRequest = {
    options: options(opts),
    hostname: "jaguar",
    port: 22,
    address: "10.0.0.1",
    key: { type: "ssh-ed25519", blob: KEY },
    warn: (t) => warnings.push(t),
    displayName: "jaguar",
    ...rest,
  };
  return { req, warnings };
}

async function rejection(p: Promise<unknown>, code: ErrorCode): Promise<JumpgateError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(JumpgateError);
    expect((err as JumpgateError).code).toBe(code);
    expect((err as JumpgateError).exitCode).toBe(255);
    return err as JumpgateError;
  }
  throw new Error(`expected ${code}, but the key was accepted`);
}

const userLines = (): string[] => readFileSync(userFile, "utf8").trimEnd().split("\n");

// ---------------------------------------------------------------------------------------------

describe("known keys", () => {
  it("accepts a matching key and says where it was found", async () => {
    write(userFile, [`jaguar ${keyText(KEY)}`]);
    const { req, warnings } = request();
    expect(await verifyHostKey(req)).toEqual({
      accepted: true,
      trust: "known",
      hostName: "jaguar",
      keyType: "ED25519",
      fingerprint: FP,
      entry: { file: userFile, line: 1 },
    });
    expect(warnings).toEqual([]);
  });

  it("reads GlobalKnownHostsFile too, after the user files", async () => {
    write(systemFile, [`jaguar ${keyText(KEY)}`]);
    const v = await verifyHostKey(request().req);
    expect(v.entry).toEqual({ file: systemFile, line: 1 });
  });

  it("expands ~ in GlobalKnownHostsFile (resolve() leaves it, as ssh -G prints it)", async () => {
    const home = path.join(dir, "otherhome");
    write(path.join(home, "global"), [`jaguar ${keyText(KEY)}`]);
    const { req } = request({
      opts: { systemHostfiles: ["~/global"] },
      homes: { ownHome: home, homeOf: () => null },
    });
    expect((await verifyHostKey(req)).entry?.file).toBe(path.join(home, "global"));
  });

  it("looks up [host]:port for other ports, then the bare host (checking without port identifier)", async () => {
    write(userFile, [`[jaguar]:2222 ${keyText(KEY)}`, `mcgonagall ${keyText(KEY)}`]);
    expect((await verifyHostKey(request({ port: 2222 }).req)).entry?.line).toBe(1);
    const bare = await verifyHostKey(request({ hostname: "mcgonagall", port: 2222 }).req);
    expect(bare).toMatchObject({ trust: "known", hostName: "[mcgonagall]:2222", entry: { line: 2 } });
  });

  it("the bare-name retry only helps a match: a changed bare entry does not make the key changed", async () => {
    write(userFile, [`jaguar ${keyText(OTHER)}`]);
    const { req } = request({ port: 2222, opts: { strictHostKeyChecking: STRICT_HOSTKEY.yes } });
    await rejection(verifyHostKey(req), "JG_HOSTKEY_UNKNOWN");
  });

  it("uses HostKeyAlias, with no port and no bare-name retry", async () => {
    write(userFile, [`myalias ${keyText(KEY)}`, `jaguar ${keyText(KEY)}`]);
    const v = await verifyHostKey(request({ port: 2222, opts: { hostKeyAlias: "myalias" } }).req);
    expect(v).toMatchObject({ hostName: "myalias", entry: { line: 1 } });
    const { req } = request({
      port: 2222,
      opts: { hostKeyAlias: "other", strictHostKeyChecking: STRICT_HOSTKEY.yes },
    });
    const err = await rejection(verifyHostKey(req), "JG_HOSTKEY_UNKNOWN");
    expect(err.message).toContain("for other");
  });

  it("refuses a blob that does not match the offered type", async () => {
    const { req } = request({ key: { type: "ecdsa-sha2-nistp256", blob: KEY } });
    await rejection(verifyHostKey(req), "JG_HOSTKEY_REFUSED");
  });
});

describe("revoked keys", () => {
  it("refuses with JG_HOSTKEY_REVOKED naming file and line, in every mode", async () => {
    write(userFile, [`jaguar ${keyText(KEY)}`]);
    write(systemFile, ["# revoked keys", `@revoked * ${keyText(KEY)}`]);
    for (const strict of Object.values(STRICT_HOSTKEY)) {
      const { req, warnings } = request({ opts: { strictHostKeyChecking: strict } });
      const err = await rejection(verifyHostKey(req), "JG_HOSTKEY_REVOKED");
      expect(err.message).toContain(`${systemFile}:2`);
      expect(warnings.join("\n")).toContain("WARNING: REVOKED HOST KEY DETECTED!");
    }
  });
});

describe("RevokedHostKeys (a flat list of public keys)", () => {
  it("refuses a listed key before known_hosts is consulted, naming the line", async () => {
    write(userFile, [`jaguar ${keyText(KEY)}`]);
    const list = path.join(dir, "revoked_keys");
    write(list, ["# revoked", "", `${keyText(OTHER)} old`, `${keyText(KEY)} stolen`]);
    const on = { revokedHostKeys: list, noHostAuthenticationForLocalhost: 1 };
    const err = await rejection(
      verifyHostKey(request({ address: "127.0.0.1", opts: on }).req),
      "JG_HOSTKEY_REVOKED",
    );
    expect(err.message).toContain(`${list}:4`);
    const { req } = request({
      hostname: "mcgonagall",
      key: { blob: EC },
      opts: { revokedHostKeys: list, strictHostKeyChecking: STRICT_HOSTKEY.off },
    });
    expect((await verifyHostKey(req)).trust).toBe("added");
  });

  it("fails closed on a missing file, a bad line or a KRL", async () => {
    write(userFile, [`jaguar ${keyText(KEY)}`]);
    const bad = path.join(dir, "bad");
    write(bad, ["not a key"]);
    const krl = path.join(dir, "krl");
    writeFileSync(krl, Buffer.concat([Buffer.from("SSHKRL\n\0", "latin1"), Buffer.alloc(40)]));
    for (const [file, why] of [
      [path.join(dir, "missing"), "ENOENT"],
      [bad, "line 1 is not a public key"],
      [krl, "KRL"],
    ] as const) {
      const err = await rejection(
        verifyHostKey(request({ opts: { revokedHostKeys: file } }).req),
        "JG_HOSTKEY_REFUSED",
      );
      expect(err.message).toContain(why);
    }
  });
});

describe("changed keys", () => {
  it("always refuses with JG_HOSTKEY_MISMATCH after OpenSSH's warning block", async () => {
    write(userFile, ["# first line", `jaguar ${keyText(OTHER)}`]);
    for (const strict of Object.values(STRICT_HOSTKEY)) {
      const { prompt, questions } = fakePrompt([]);
      const { req, warnings } = request({ opts: { strictHostKeyChecking: strict }, prompt });
      const err = await rejection(verifyHostKey(req), "JG_HOSTKEY_MISMATCH");
      expect(err.message).toContain(`${userFile}:2`);
      expect(err.message).toContain(`ssh-keygen -f "${userFile}" -R "jaguar"`);
      expect(questions).toEqual([]);
      const block = warnings.join("\n");
      expect(block).toContain("@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @");
      expect(block).toContain("IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!");
      expect(block).toContain(`The fingerprint for the ED25519 key sent by the remote host is\n${FP}.`);
      expect(block).toContain(`Offending ED25519 key in ${userFile}:2`);
      expect(block).toContain(`  ssh-keygen -f "${userFile}" -R "jaguar"`);
    }
    // Nothing was added or rewritten.
    expect(userLines()).toEqual(["# first line", `jaguar ${keyText(OTHER)}`]);
  });

  it("a known key of another type is a change too (OpenSSH 9.2), and the warning says so", async () => {
    write(userFile, [`[jaguar]:2200 ${keyText(EC)}`]);
    const { req, warnings } = request({ port: 2200, opts: { strictHostKeyChecking: STRICT_HOSTKEY.new } });
    const err = await rejection(verifyHostKey(req), "JG_HOSTKEY_MISMATCH");
    expect(err.message).toContain(`${userFile}:1`);
    expect(warnings.join("\n")).toContain("Offending ECDSA key");
    expect(warnings.join("\n")).toContain("only ECDSA key(s) are known for [jaguar]:2200");
    expect(warnings.join("\n")).toContain('-R "[jaguar]:2200"');
  });
});

describe("unknown keys", () => {
  it("StrictHostKeyChecking yes refuses with JG_HOSTKEY_UNKNOWN and writes nothing", async () => {
    const { req } = request({ opts: { strictHostKeyChecking: STRICT_HOSTKEY.yes } });
    const err = await rejection(verifyHostKey(req), "JG_HOSTKEY_UNKNOWN");
    expect(err.message).toContain(
      "No ED25519 host key is known for jaguar and you have requested strict checking.",
    );
    expect(() => statSync(userFile)).toThrow();
  });

  it("accept-new records the key in the first user file (plain) and warns", async () => {
    const second = path.join(dir, "second");
    const { req, warnings } = request({
      opts: { strictHostKeyChecking: STRICT_HOSTKEY.new, userHostfiles: [userFile, second] },
    });
    const v = await verifyHostKey(req);
    expect(v).toMatchObject({ accepted: true, trust: "added", recorded: { file: userFile } });
    expect(warnings).toEqual(["Warning: Permanently added 'jaguar' (ED25519) to the list of known hosts."]);
    expect(userLines()).toEqual([`jaguar ${keyText(KEY)}`]);
    expect(statSync(userFile).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(userFile)).mode & 0o777).toBe(0o700);
    expect(() => statSync(second)).toThrow();
    // The next connection finds it.
    expect((await verifyHostKey(request().req)).trust).toBe("known");
  });

  it("accept-new with HashKnownHosts writes a hashed [host]:port entry", async () => {
    const { req, warnings } = request({
      port: 2222,
      opts: { strictHostKeyChecking: STRICT_HOSTKEY.new, hashKnownHosts: 1 },
    });
    await verifyHostKey(req);
    expect(warnings[0]).toBe(
      "Warning: Permanently added '[jaguar]:2222' (ED25519) to the list of known hosts.",
    );
    const lines = userLines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\|1\|[^ ]+ ssh-ed25519 /);
    expect(lines[0]).not.toContain("jaguar");
    expect(loadKnownHosts([userFile]).entries[0]?.hashed).toBe(true);
    expect((await verifyHostKey(request({ port: 2222 }).req)).trust).toBe("known");
  });

  it("accept-new appends and leaves existing lines alone", async () => {
    write(userFile, ["# keep me", `other ${keyText(OTHER)}`]);
    await verifyHostKey(request({ opts: { strictHostKeyChecking: STRICT_HOSTKEY.new } }).req);
    expect(userLines()).toEqual(["# keep me", `other ${keyText(OTHER)}`, `jaguar ${keyText(KEY)}`]);
  });

  it("StrictHostKeyChecking no adds the key and accepts", async () => {
    const { req, warnings } = request({ opts: { strictHostKeyChecking: STRICT_HOSTKEY.off } });
    expect(await verifyHostKey(req)).toMatchObject({ trust: "added", recorded: { file: userFile } });
    expect(warnings[0]).toContain("Permanently added 'jaguar'");
    expect(userLines()).toEqual([`jaguar ${keyText(KEY)}`]);
  });

  it("still accepts when the key cannot be recorded, and says so", async () => {
    const blocker = path.join(dir, "file-not-dir");
    writeFileSync(blocker, "");
    const { req, warnings } = request({
      opts: { strictHostKeyChecking: STRICT_HOSTKEY.new, userHostfiles: [path.join(blocker, "known_hosts")] },
    });
    const v = await verifyHostKey(req);
    expect(v.trust).toBe("added");
    expect(v.recorded).toBeUndefined();
    expect(warnings[0]).toMatch(/^Failed to add the host to the list of known hosts/);
  });

  it("refuses, whatever the mode, when UserKnownHostsFile is none (nothing can record it)", async () => {
    const { req } = request({ opts: { strictHostKeyChecking: STRICT_HOSTKEY.off, userHostfiles: [] } });
    const err = await rejection(verifyHostKey(req), "JG_HOSTKEY_UNKNOWN");
    expect(err.message).toContain("UserKnownHostsFile is none");
  });

  it("refuses host names that cannot be written to known_hosts", async () => {
    const { req } = request({ hostname: "we|rd", opts: { strictHostKeyChecking: STRICT_HOSTKEY.off } });
    await rejection(verifyHostKey(req), "JG_HOSTKEY_UNKNOWN");
  });

  it("@cert-authority-only knowledge is refused: certificates are not supported yet", async () => {
    write(userFile, [`@cert-authority *.internal ${keyText(OTHER)}`]);
    for (const strict of Object.values(STRICT_HOSTKEY)) {
      const { prompt, questions } = fakePrompt(["yes"]);
      const { req } = request({ hostname: "db.internal", prompt, opts: { strictHostKeyChecking: strict } });
      const err = await rejection(verifyHostKey(req), "JG_HOSTKEY_UNKNOWN");
      expect(err.message).toContain("does not support host certificates yet");
      expect(err.message).toContain(`${userFile}:1`);
      expect(questions).toEqual([]);
    }
  });
});

describe("StrictHostKeyChecking ask", () => {
  const QUESTION = [
    "The authenticity of host 'jaguar (10.0.0.1)' can't be established.",
    `ED25519 key fingerprint is ${FP}.`,
    "This key is not known by any other names.",
    "Are you sure you want to continue connecting (yes/no/[fingerprint])? ",
  ].join("\n");
  const AGAIN = "Please type 'yes', 'no' or the fingerprint: ";

  it("asks OpenSSH's question; yes records the key", async () => {
    const { prompt, questions } = fakePrompt(["yes\n"]);
    const { req, warnings } = request({ prompt });
    expect(await verifyHostKey(req)).toMatchObject({ trust: "confirmed", recorded: { file: userFile } });
    expect(questions).toEqual([QUESTION]);
    expect(warnings).toEqual(["Warning: Permanently added 'jaguar' (ED25519) to the list of known hosts."]);
    expect(userLines()).toEqual([`jaguar ${keyText(KEY)}`]);
  });

  it("accepts YES in any case and the exact fingerprint, after asking again on garbage", async () => {
    const { prompt, questions } = fakePrompt(["maybe", "  YES please"]);
    await verifyHostKey(request({ prompt }).req);
    expect(questions).toEqual([QUESTION, AGAIN]);

    rmSync(userFile);
    const fp = fakePrompt(["SHA256:wrong", ` ${FP} `]);
    expect((await verifyHostKey(request({ prompt: fp.prompt }).req)).trust).toBe("confirmed");
    expect(fp.questions).toEqual([QUESTION, AGAIN]);
    // The fingerprint must match exactly (case matters there).
    rmSync(userFile);
    const lower = fakePrompt([FP.toLowerCase(), "no"]);
    await rejection(verifyHostKey(request({ prompt: lower.prompt }).req), "JG_HOSTKEY_REFUSED");
  });

  it("no, an empty answer or a failed prompt refuse with JG_HOSTKEY_REFUSED and record nothing", async () => {
    for (const answer of ["no", "NO", "", "   ", new Error("EOF")]) {
      const { prompt } = fakePrompt([answer]);
      await rejection(verifyHostKey(request({ prompt }).req), "JG_HOSTKEY_REFUSED");
    }
    expect(() => statSync(userFile)).toThrow();
  });

  it("gives up after ten unusable answers", async () => {
    const { prompt, questions } = fakePrompt(Array(10).fill("what?"));
    await rejection(verifyHostKey(request({ prompt }).req), "JG_HOSTKEY_REFUSED");
    expect(questions).toHaveLength(10);
  });

  it("BatchMode refuses without prompting and says why", async () => {
    const { prompt, questions } = fakePrompt(["yes"]);
    const { req } = request({ prompt, opts: { batchMode: 1 } });
    const err = await rejection(verifyHostKey(req), "JG_HOSTKEY_UNKNOWN");
    expect(err.message).toContain("BatchMode");
    expect(err.message).toContain(FP);
    expect(questions).toEqual([]);
  });

  it("without a terminal refuses and says why", async () => {
    const err = await rejection(verifyHostKey(request().req), "JG_HOSTKEY_UNKNOWN");
    expect(err.message).toContain("no terminal");
  });

  it("shows the port on the address, the proxy placeholder, and other names for the key", async () => {
    write(userFile, [`mcgonagall ${keyText(KEY)}`, `@revoked * ${keyText(OTHER)}`]);
    const viaTcp = fakePrompt(["no"]);
    await rejection(
      verifyHostKey(request({ port: 2222, address: "127.0.0.1", prompt: viaTcp.prompt }).req),
      "JG_HOSTKEY_REFUSED",
    );
    expect(viaTcp.questions[0]).toContain(
      "The authenticity of host '[jaguar]:2222 ([127.0.0.1]:2222)' can't be established.",
    );
    expect(viaTcp.questions[0]).toContain(
      `This host key is known by the following other names/addresses:\n    ${userFile}:1: mcgonagall\n`,
    );
    const viaJump = fakePrompt(["no"]);
    await rejection(
      verifyHostKey(request({ address: undefined, prompt: viaJump.prompt }).req),
      "JG_HOSTKEY_REFUSED",
    );
    expect(viaJump.questions[0]).toContain("'jaguar (<no hostip for proxy command>)'");
  });

  it("an unset StrictHostKeyChecking behaves as ask", async () => {
    const { prompt, questions } = fakePrompt(["no"]);
    await rejection(
      verifyHostKey(request({ prompt, opts: { strictHostKeyChecking: -1 } }).req),
      "JG_HOSTKEY_REFUSED",
    );
    expect(questions).toHaveLength(1);
  });
});

describe("NoHostAuthenticationForLocalhost", () => {
  it("skips checking for loopback addresses without HostKeyAlias", async () => {
    write(userFile, [`jaguar ${keyText(OTHER)}`]);
    const on = { noHostAuthenticationForLocalhost: 1 };
    for (const address of ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"]) {
      expect((await verifyHostKey(request({ address, opts: on }).req)).trust).toBe("localhost");
    }
    await rejection(verifyHostKey(request({ address: "10.0.0.1", opts: on }).req), "JG_HOSTKEY_MISMATCH");
    await rejection(verifyHostKey(request({ address: undefined, opts: on }).req), "JG_HOSTKEY_MISMATCH");
    await rejection(
      verifyHostKey(request({ address: "127.0.0.1", opts: { ...on, hostKeyAlias: "jaguar" } }).req),
      "JG_HOSTKEY_MISMATCH",
    );
  });
});

describe("preferredHostKeyAlgorithms", () => {
  const algs = ["ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512"];

  it("prefers known key types unless the user wrote the list", () => {
    write(userFile, [`[jaguar]:2222 ${keyText(EC)}`]);
    const base = { hostname: "jaguar", port: 2222, algorithms: algs };
    expect(
      preferredHostKeyAlgorithms({ ...base, options: { ...options(), hostKeyAlgorithms: null } }),
    ).toEqual(["ecdsa-sha2-nistp256", "ssh-ed25519", "rsa-sha2-512"]);
    expect(
      preferredHostKeyAlgorithms({ ...base, options: { ...options(), hostKeyAlgorithms: "+ssh-rsa" } })[0],
    ).toBe("ecdsa-sha2-nistp256");
    expect(
      preferredHostKeyAlgorithms({
        ...base,
        options: { ...options(), hostKeyAlgorithms: "ssh-ed25519,ecdsa-sha2-nistp256" },
      }),
    ).toEqual(algs);
  });
});
