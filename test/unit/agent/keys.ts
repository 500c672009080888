/** Test keys built with node:crypto, in the raw form ssh-add sends. */
import { generateKeyPairSync, type JsonWebKey, type KeyObject } from "node:crypto";
import type { AgentPrivateKey, EcdsaCurve } from "../../../src/agent/protocol.js";

const b = (s: string | undefined): Buffer => Buffer.from(s ?? "", "base64url");

export interface TestKey {
  key: AgentPrivateKey;
  publicKey: KeyObject;
}

export function ed25519Key(): TestKey {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const jwk = privateKey.export({ format: "jwk" }) as JsonWebKey;
  const pub = b(jwk.x);
  return {
    key: { type: "ssh-ed25519", publicKey: pub, privateKey: Buffer.concat([b(jwk.d), pub]) },
    publicKey,
  };
}

const NAMED: Record<EcdsaCurve, string> = { nistp256: "P-256", nistp384: "P-384", nistp521: "P-521" };
const SIZE: Record<EcdsaCurve, number> = { nistp256: 32, nistp384: 48, nistp521: 66 };

export function ecdsaKey(curve: EcdsaCurve): TestKey {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: NAMED[curve] });
  const jwk = privateKey.export({ format: "jwk" }) as JsonWebKey;
  const pad = (x: Buffer) => Buffer.concat([Buffer.alloc(SIZE[curve] - x.length), x]);
  const q = Buffer.concat([Buffer.from([4]), pad(b(jwk.x)), pad(b(jwk.y))]);
  // d as an mpint would be sent: a leading zero when the top bit is set.
  let d = b(jwk.d);
  if (d[0]! & 0x80) d = Buffer.concat([Buffer.from([0]), d]);
  return { key: { type: `ecdsa-sha2-${curve}`, curve, q, d }, publicKey };
}

const mp = (x: Buffer): Buffer => (x[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), x]) : x);

export function rsaKey(bits = 2048): TestKey {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: bits });
  const jwk = privateKey.export({ format: "jwk" }) as JsonWebKey;
  return {
    key: {
      type: "ssh-rsa",
      n: mp(b(jwk.n)),
      e: mp(b(jwk.e)),
      d: mp(b(jwk.d)),
      iqmp: mp(b(jwk.qi)),
      p: mp(b(jwk.p)),
      q: mp(b(jwk.q)),
    },
    publicKey,
  };
}
