import { verify } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { askpassConfirm, Keyring, SUPPORTED_EXTENSIONS } from "../../../src/agent/keyring.js";
import {
  type EcdsaCurve,
  fromMpint,
  publicBlobOf,
  WireReader,
  WireWriter,
} from "../../../src/agent/protocol.js";
import { JumpgateError } from "../../../src/errors.js";
import { ecdsaKey, ed25519Key, rsaKey } from "./keys.js";

const data = Buffer.from("session data to sign");
const rings: Keyring[] = [];
function ring(opts: ConstructorParameters<typeof Keyring>[0] = {}): Keyring {
  const k = new Keyring({ unlockDelayMs: () => 0, confirm: async () => false, ...opts });
  rings.push(k);
  return k;
}
afterEach(() => {
  for (const r of rings.splice(0)) r.close();
});

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (err) {
    expect(err).toBeInstanceOf(JumpgateError);
    return (err as JumpgateError).code;
  }
}

function splitSig(sig: Buffer): { alg: string; body: Buffer } {
  const r = new WireReader(sig);
  const alg = r.utf8();
  const body = r.string();
  r.end("sig");
  return { alg, body };
}

describe("Keyring signing (verified with node:crypto)", () => {
  it("ed25519", async () => {
    const { key, publicKey } = ed25519Key();
    const k = ring();
    await k.add(key, "ed");
    const { alg, body } = splitSig(await k.sign(publicBlobOf(key), data, 0));
    expect(alg).toBe("ssh-ed25519");
    expect(verify(null, data, publicKey, body)).toBe(true);
  });

  it.each([
    ["nistp256", "sha256", 32],
    ["nistp384", "sha384", 48],
    ["nistp521", "sha512", 66],
  ] as const)("ecdsa %s with %s and mpint r, s", async (curve, hash, size) => {
    const { key, publicKey } = ecdsaKey(curve as EcdsaCurve);
    const k = ring();
    await k.add(key, "ec");
    const { alg, body } = splitSig(await k.sign(publicBlobOf(key), data, 0));
    expect(alg).toBe(`ecdsa-sha2-${curve}`);
    const r = new WireReader(body);
    const rr = fromMpint(r.mpint());
    const ss = fromMpint(r.mpint());
    r.end("ecdsa sig");
    const pad = (x: Buffer) => Buffer.concat([Buffer.alloc(size - x.length), x]);
    const p1363 = Buffer.concat([pad(rr), pad(ss)]);
    expect(verify(hash, data, { key: publicKey, dsaEncoding: "ieee-p1363" }, p1363)).toBe(true);
  });

  it("rsa: rsa-sha2-512, rsa-sha2-256 by flag, ssh-rsa (sha1) without", async () => {
    const { key, publicKey } = rsaKey(2048);
    const k = ring();
    await k.add(key, "rsa");
    const blob = publicBlobOf(key);
    for (const [flags, alg, hash] of [
      [4, "rsa-sha2-512", "sha512"],
      [2, "rsa-sha2-256", "sha256"],
      [6, "rsa-sha2-512", "sha512"],
      [0, "ssh-rsa", "sha1"],
    ] as const) {
      const sig = splitSig(await k.sign(blob, data, flags));
      expect(sig.alg).toBe(alg);
      expect(verify(hash, data, publicKey, sig.body)).toBe(true);
    }
    // The public blob is the one OpenSSH computes: string "ssh-rsa", mpint e, mpint n.
    const jwk = publicKey.export({ format: "jwk" });
    const expected = new WireWriter()
      .string("ssh-rsa")
      .mpint(Buffer.from(jwk.e!, "base64url"))
      .mpint(Buffer.from(jwk.n!, "base64url"))
      .toBuffer();
    expect(blob).toEqual(expected);
  });

  it("unknown keys are refused", async () => {
    const k = ring();
    expect(await code(k.sign(publicBlobOf(ed25519Key().key), data, 0))).toBe("JG_AGENT_KEY_NOT_FOUND");
  });
});

describe("Keyring management", () => {
  it("lists, replaces on re-add, removes and removes all", async () => {
    const a = ed25519Key().key;
    const b = ecdsaKey("nistp256").key;
    const k = ring();
    await k.add(a, "a");
    await k.add(b, "b");
    await k.add(a, "a2");
    expect((await k.list()).map((i) => i.comment)).toEqual(["a2", "b"]);
    await k.remove(publicBlobOf(a));
    expect(await code(k.remove(publicBlobOf(a)))).toBe("JG_AGENT_KEY_NOT_FOUND");
    expect((await k.list()).map((i) => i.comment)).toEqual(["b"]);
    await k.removeAll();
    expect(await k.list()).toEqual([]);
  });

  it("refuses keys with constraint extensions", async () => {
    const k = ring();
    const c = { extensions: [{ name: "x@example.com", data: Buffer.alloc(0) }] };
    expect(await code(k.add(ed25519Key().key, "x", c))).toBe("JG_AGENT_CONSTRAINT");
    // sk-provider@openssh.com: refused for any key that is not a FIDO key, as OpenSSH does.
    expect(await code(k.add(ed25519Key().key, "x", { skProvider: "internal" }))).toBe("JG_AGENT_CONSTRAINT");
    expect(await k.list()).toEqual([]);
  });

  it("refuses a key whose parts do not fit together", async () => {
    const { key } = ecdsaKey("nistp256");
    if (key.type === "ssh-rsa" || key.type === "ssh-ed25519") throw new Error("unreachable");
    const bad = { ...key, q: Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]) };
    expect(await code(ring().add(bad, "bad"))).toBe("JG_AGENT_UNSUPPORTED_KEY");
  });
});

describe("Keyring lock", () => {
  it("a locked agent lists nothing and signs nothing; unlock needs the passphrase", async () => {
    const { key } = ed25519Key();
    const delays: number[] = [];
    const k = ring({
      unlockDelayMs: (n) => {
        delays.push(n);
        return 1;
      },
    });
    await k.add(key, "ed");
    await k.lock(Buffer.from("pw"));
    expect(k.isLocked).toBe(true);
    expect(await k.list()).toEqual([]);
    expect(await code(k.sign(publicBlobOf(key), data, 0))).toBe("JG_AGENT_LOCKED");
    expect(await code(k.add(ed25519Key().key, "x"))).toBe("JG_AGENT_LOCKED");
    expect(await code(k.removeAll())).toBe("JG_AGENT_LOCKED");
    expect(await code(k.lock(Buffer.from("pw")))).toBe("JG_AGENT_LOCKED");
    expect(await code(k.unlock(Buffer.from("nope")))).toBe("JG_AGENT_LOCKED");
    expect(await code(k.unlock(Buffer.from("nope2")))).toBe("JG_AGENT_LOCKED");
    expect(delays).toEqual([1, 2]); // growing delay after each failure
    await k.unlock(Buffer.from("pw"));
    expect((await k.list()).length).toBe(1);
    expect(await code(k.unlock(Buffer.from("pw")))).toBe("JG_AGENT_LOCKED");
    // The failure count starts over after a good unlock.
    await k.lock(Buffer.from("pw"));
    expect(await code(k.unlock(Buffer.from("bad")))).toBe("JG_AGENT_LOCKED");
    expect(delays).toEqual([1, 2, 1]);
  });

  it("by default waits 0.1 s per consecutive failure, like OpenSSH", async () => {
    const k = new Keyring({ confirm: async () => false });
    rings.push(k);
    await k.lock(Buffer.from("pw"));
    let t0 = Date.now();
    await code(k.unlock(Buffer.from("x")));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
    t0 = Date.now();
    await code(k.unlock(Buffer.from("y")));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
  });
});

describe("Keyring lifetimes", () => {
  it("drops a key once its lifetime has passed (checked on each request)", async () => {
    let now = 1_000_000;
    const k = ring({ now: () => now });
    const { key } = ed25519Key();
    await k.add(key, "short", { lifetime: 2 });
    await k.add(ecdsaKey("nistp256").key, "forever");
    expect((await k.list()).length).toBe(2);
    now += 1999;
    expect((await k.list()).length).toBe(2);
    now += 1;
    expect((await k.list()).map((i) => i.comment)).toEqual(["forever"]);
    expect(await code(k.sign(publicBlobOf(key), data, 0))).toBe("JG_AGENT_KEY_NOT_FOUND");
  });

  it("a lifetime beyond setTimeout's range neither expires early nor spins", async () => {
    const k = ring();
    await k.add(ed25519Key().key, "long", { lifetime: 0xffffffff });
    await new Promise((r) => setTimeout(r, 50));
    expect((await k.list()).length).toBe(1);
  });

  it("a timer drops it without any request", async () => {
    const k = ring();
    await k.add(ed25519Key().key, "short", { lifetime: 1 });
    await new Promise((r) => setTimeout(r, 1100));
    // Peek without triggering expire(): the timer has already run it.
    expect((k as unknown as { entries: unknown[] }).entries).toEqual([]);
  });
});

describe("Keyring confirm", () => {
  it("asks before each use of a confirm key and refuses on no", async () => {
    const questions: string[] = [];
    let answer = false;
    const k = ring({
      confirm: async (q) => {
        questions.push(q);
        return answer;
      },
    });
    const { key } = ed25519Key();
    const plain = ed25519Key().key;
    await k.add(key, "guarded", { confirm: true });
    await k.add(plain, "plain");
    expect(await code(k.sign(publicBlobOf(key), data, 0))).toBe("JG_AGENT_CONFIRM_REFUSED");
    expect(questions[0]).toMatch(/guarded/);
    await k.sign(publicBlobOf(plain), data, 0);
    expect(questions.length).toBe(1);
    answer = true;
    await k.sign(publicBlobOf(key), data, 0);
    expect(questions.length).toBe(2);
  });

  it("a confirm function that throws counts as no", async () => {
    const k = ring({
      confirm: async () => {
        throw new Error("boom");
      },
    });
    const { key } = ed25519Key();
    await k.add(key, "g", { confirm: true });
    expect(await code(k.sign(publicBlobOf(key), data, 0))).toBe("JG_AGENT_CONFIRM_REFUSED");
  });

  it("the askpass confirm: no program refuses; exit 0 is yes; the prompt kind is confirm", async () => {
    expect(await askpassConfirm(undefined)("ok?")).toBe(false);
    expect(await askpassConfirm("/nonexistent/askpass")("ok?")).toBe(false);
    const dir = mkdtempSync(path.join(tmpdir(), "jg-askpass-"));
    try {
      const yes = path.join(dir, "yes");
      writeFileSync(yes, '#!/bin/sh\n[ "$SSH_ASKPASS_PROMPT" = confirm ] && [ -n "$1" ]\n');
      chmodSync(yes, 0o700);
      expect(await askpassConfirm(yes)("ok?")).toBe(true);
      const no = path.join(dir, "no");
      writeFileSync(no, "#!/bin/sh\nexit 1\n");
      chmodSync(no, 0o700);
      expect(await askpassConfirm(no)("ok?")).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("Keyring extensions", () => {
  it("query lists the supported extensions", async () => {
    const body = await ring().extension("query", Buffer.alloc(0));
    const r = new WireReader(body);
    const names: string[] = [];
    while (r.remaining > 0) names.push(r.utf8());
    expect(names).toEqual([...SUPPORTED_EXTENSIONS]);
  });

  it("session-bind@openssh.com is accepted and recorded; malformed or unknown ones fail", async () => {
    const k = ring();
    // A host key that really signs the session id (signed here by a second keyring).
    const host = ed25519Key().key;
    const signer = ring();
    await signer.add(host, "host");
    const sid = Buffer.alloc(32, 7);
    const sig = await signer.sign(publicBlobOf(host), sid, 0);
    const bind = (signature: Buffer) =>
      new WireWriter().string(publicBlobOf(host)).string(sid).string(signature).bool(false).toBuffer();
    expect(await code(k.extension("session-bind@openssh.com", bind(Buffer.from("sig"))))).toBe(
      "JG_AGENT_PROTOCOL",
    );
    expect(k.sessionBinds.length).toBe(0);
    const contents = bind(sig);
    expect(await k.extension("session-bind@openssh.com", contents)).toEqual(Buffer.alloc(0));
    expect(k.sessionBinds.length).toBe(1);
    expect(k.sessionBinds[0]!.sessionId).toEqual(Buffer.alloc(32, 7));
    expect(await code(k.extension("session-bind@openssh.com", Buffer.from([1])))).toBe("JG_AGENT_PROTOCOL");
    expect(await code(k.extension("nope@example.com", Buffer.alloc(0)))).toBe("JG_AGENT_PROTOCOL");
  });
});
