import { describe, expect, it } from "vitest";
import { Keyring } from "../../../src/agent/keyring.js";
import { type AgentPrivateKey, publicBlobOf } from "../../../src/agent/protocol.js";
import { publicKeyObjectOf, verifySshSignature } from "../../../src/agent/verify.js";
import { ecdsaKey, ed25519Key, rsaKey } from "./keys.js";

const cases: [string, AgentPrivateKey, number[]][] = [
  ["ed25519", ed25519Key().key, [0]],
  ["nistp256", ecdsaKey("nistp256").key, [0]],
  ["nistp384", ecdsaKey("nistp384").key, [0]],
  ["nistp521", ecdsaKey("nistp521").key, [0]],
  ["rsa", rsaKey(1024).key, [0, 2, 4]],
];

describe("verifySshSignature", () => {
  it.each(cases)("verifies the keyring's %s signatures and rejects tampering", async (_n, key, flagsList) => {
    const k = new Keyring({ confirm: async () => false });
    await k.add(key, "k");
    const blob = publicBlobOf(key);
    const data = Buffer.from("session id");
    for (const flags of flagsList) {
      const sig = await k.sign(blob, data, flags);
      expect(verifySshSignature(blob, sig, data)).toBe(true);
      expect(verifySshSignature(blob, sig, Buffer.from("other"))).toBe(false);
      const bad = Buffer.from(sig);
      bad[bad.length - 3]! ^= 1;
      expect(verifySshSignature(blob, bad, data)).toBe(false);
      expect(verifySshSignature(blob, sig.subarray(0, sig.length - 1), data)).toBe(false);
    }
    k.close();
  });

  it("never throws on garbage", () => {
    expect(publicKeyObjectOf(Buffer.from([1, 2, 3]))).toBeUndefined();
    expect(verifySshSignature(Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(0))).toBe(false);
    const blob = publicBlobOf(ed25519Key().key);
    expect(verifySshSignature(blob, Buffer.from([0, 0, 0, 1]), Buffer.alloc(0))).toBe(false);
  });
});
