/**
 * ssh2's decrypted private key -> the private numbers ADD_IDENTITY sends (an ssh2 adapter).
 *
 * ssh2's ParsedKey does not expose the private numbers, but it gives the key as PEM
 * (getPrivatePEM()); node:crypto reads that and exports it as a JWK, whose fields are exactly the
 * numbers needed: the ed25519 seed, the ECDSA scalar and point, RSA's d, p, q and qi (= iqmp).
 * The result is checked against the key's own public blob before it is used.
 */
import { createPrivateKey, type JsonWebKey } from "node:crypto";
import type { ParsedKey } from "ssh2";
import { JumpgateError } from "../errors.js";
import { type AgentPrivateKey, type EcdsaCurve, publicBlobOf } from "./protocol.js";

const JWK_CURVES: Readonly<Record<string, EcdsaCurve>> = {
  "P-256": "nistp256",
  "P-384": "nistp384",
  "P-521": "nistp521",
};

function field(jwk: JsonWebKey, name: keyof JsonWebKey, type: string): Buffer {
  const value = jwk[name];
  if (typeof value !== "string") {
    throw new JumpgateError("JG_AGENT_UNSUPPORTED_KEY", `The ${type} key has no '${String(name)}' part.`);
  }
  return Buffer.from(value, "base64url");
}

/** The key's private numbers in the agent protocol's form; JG_AGENT_UNSUPPORTED_KEY for others. */
export function agentKeyFromParsed(key: ParsedKey): AgentPrivateKey {
  const type: string = key.type;
  const supported = type === "ssh-ed25519" || type === "ssh-rsa" || type.startsWith("ecdsa-sha2-nistp");
  if (!supported || !key.isPrivateKey()) {
    throw new JumpgateError(
      "JG_AGENT_UNSUPPORTED_KEY",
      `${type} keys cannot be added by jumpgate yet (ed25519, ecdsa and rsa can).`,
    );
  }
  const jwk = createPrivateKey(key.getPrivatePEM()).export({ format: "jwk" });
  let out: AgentPrivateKey;
  if (type === "ssh-ed25519") {
    const seed = field(jwk, "d", type);
    const pub = field(jwk, "x", type);
    out = { type: "ssh-ed25519", publicKey: pub, privateKey: Buffer.concat([seed, pub]) };
  } else if (type === "ssh-rsa") {
    out = {
      type: "ssh-rsa",
      n: field(jwk, "n", type),
      e: field(jwk, "e", type),
      d: field(jwk, "d", type),
      iqmp: field(jwk, "qi", type),
      p: field(jwk, "p", type),
      q: field(jwk, "q", type),
    };
  } else {
    const curve = JWK_CURVES[jwk.crv ?? ""];
    if (curve === undefined || type !== `ecdsa-sha2-${curve}`) {
      throw new JumpgateError("JG_AGENT_UNSUPPORTED_KEY", `Unsupported ECDSA curve ${jwk.crv} for ${type}.`);
    }
    const q = Buffer.concat([Buffer.from([4]), field(jwk, "x", type), field(jwk, "y", type)]);
    out = { type: `ecdsa-sha2-${curve}`, curve, q, d: field(jwk, "d", type) };
  }
  if (!publicBlobOf(out).equals(key.getPublicSSH())) {
    throw new JumpgateError("JG_INTERNAL", `The ${type} key's private part does not match its public key.`);
  }
  return out;
}

/** Overwrites the key's private numbers once they have been sent. */
export function wipeAgentKey(key: AgentPrivateKey): void {
  if (key.type === "ssh-ed25519") key.privateKey.fill(0);
  else if (key.type === "ssh-rsa") for (const b of [key.d, key.p, key.q, key.iqmp]) b.fill(0);
  else key.d.fill(0);
}
