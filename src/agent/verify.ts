/**
 * Verifying an SSH signature with a public key blob (used for session-bind@openssh.com, where
 * OpenSSH's agent checks that the host key really signed the session identifier).
 * Supports ssh-ed25519, ecdsa-sha2-nistp256/384/521 and ssh-rsa (ssh-rsa / rsa-sha2-256 / -512).
 * Never throws: anything malformed is simply "not verified".
 */
import { createPublicKey, type KeyObject, verify } from "node:crypto";
import { fromMpint, WireReader } from "./protocol.js";

const EC = {
  "ecdsa-sha2-nistp256": { curve: "nistp256", crv: "P-256", size: 32, hash: "sha256" },
  "ecdsa-sha2-nistp384": { curve: "nistp384", crv: "P-384", size: 48, hash: "sha384" },
  "ecdsa-sha2-nistp521": { curve: "nistp521", crv: "P-521", size: 66, hash: "sha512" },
} as const;

const RSA_HASH: Record<string, string> = {
  "ssh-rsa": "sha1",
  "rsa-sha2-256": "sha256",
  "rsa-sha2-512": "sha512",
};

const b64 = (b: Buffer): string => b.toString("base64url");

function pad(b: Buffer, size: number): Buffer | undefined {
  if (b.length > size) return undefined;
  return Buffer.concat([Buffer.alloc(size - b.length), b]);
}

/** A node:crypto public KeyObject from an SSH public key blob, or undefined. */
export function publicKeyObjectOf(blob: Buffer): { type: string; key: KeyObject } | undefined {
  try {
    const r = new WireReader(blob);
    const type = r.utf8();
    if (type === "ssh-ed25519") {
      const x = r.string();
      r.end(type);
      if (x.length !== 32) return undefined;
      return {
        type,
        key: createPublicKey({ format: "jwk", key: { kty: "OKP", crv: "Ed25519", x: b64(x) } }),
      };
    }
    if (type === "ssh-rsa") {
      const e = fromMpint(r.mpint());
      const n = fromMpint(r.mpint());
      r.end(type);
      return { type, key: createPublicKey({ format: "jwk", key: { kty: "RSA", n: b64(n), e: b64(e) } }) };
    }
    if (type in EC) {
      const p = EC[type as keyof typeof EC];
      if (r.utf8() !== p.curve) return undefined;
      const q = r.string();
      r.end(type);
      if (q.length !== 1 + 2 * p.size || q[0] !== 4) return undefined;
      const x = b64(q.subarray(1, 1 + p.size));
      const y = b64(q.subarray(1 + p.size));
      return { type, key: createPublicKey({ format: "jwk", key: { kty: "EC", crv: p.crv, x, y } }) };
    }
    return undefined;
  } catch {
    return undefined;
  }
}

/** True when `signature` (an SSH signature blob) is a valid signature of `data` by `publicBlob`. */
export function verifySshSignature(publicBlob: Buffer, signature: Buffer, data: Buffer): boolean {
  const pub = publicKeyObjectOf(publicBlob);
  if (!pub) return false;
  try {
    const r = new WireReader(signature);
    const alg = r.utf8();
    const sig = r.string();
    r.end("signature");
    if (pub.type === "ssh-ed25519") return alg === pub.type && verify(null, data, pub.key, sig);
    if (pub.type === "ssh-rsa") {
      const hash = RSA_HASH[alg];
      return hash !== undefined && verify(hash, data, pub.key, sig);
    }
    const p = EC[pub.type as keyof typeof EC];
    if (alg !== pub.type) return false;
    const rs = new WireReader(sig);
    const rr = pad(fromMpint(rs.mpint()), p.size);
    const ss = pad(fromMpint(rs.mpint()), p.size);
    rs.end("ecdsa signature");
    if (!rr || !ss) return false;
    return verify(p.hash, data, { key: pub.key, dsaEncoding: "ieee-p1363" }, Buffer.concat([rr, ss]));
  } catch {
    return false;
  }
}
