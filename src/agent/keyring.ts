/**
 * An in-memory keyring: what ssh-agent keeps. Keys live only in this process's memory; they are
 * never written anywhere and never logged (error messages name key types and fingerprints of public
 * blobs at most).
 *
 * Modelled on golang.org/x/crypto/ssh/agent's keyring, plus what OpenSSH's agent does that it does
 * not: lifetimes with a timer, confirmation through $SSH_ASKPASS, a passphrase lock with a growing
 * delay after wrong passphrases, and the "session-bind@openssh.com" extension.
 */
import { spawn } from "node:child_process";
import {
  createHash,
  createPrivateKey,
  sign as cryptoSign,
  type KeyObject,
  randomBytes,
  scryptSync,
  timingSafeEqual,
} from "node:crypto";
import { JumpgateError } from "../errors.js";
import {
  AgentConnection,
  checkConstrainedSign,
  identityPermitted,
  type SessionBind,
  sessionBind,
} from "./destination.js";
import {
  type AgentPrivateKey,
  type Constraints,
  type DestConstraint,
  type EcdsaCurve,
  fromMpint,
  type Identity,
  publicBlobOf,
  SIGN_FLAGS,
  WireWriter,
} from "./protocol.js";

export type { SessionBind } from "./destination.js";
export { AgentConnection } from "./destination.js";

/**
 * What a server needs from a keyring (like Go's agent.ExtendedAgent). `conn` is the client
 * connection the request came on (its session binds decide what destination-constrained keys it
 * may see and use); without one, a request counts as local use on a fresh connection.
 */
export interface AgentBackend {
  list(conn?: AgentConnection): Promise<Identity[]>;
  sign(keyBlob: Buffer, data: Buffer, flags: number, conn?: AgentConnection): Promise<Buffer>;
  add(
    key: AgentPrivateKey,
    comment: string,
    constraints?: Constraints,
    conn?: AgentConnection,
  ): Promise<void>;
  remove(keyBlob: Buffer, conn?: AgentConnection): Promise<void>;
  removeAll(): Promise<void>;
  lock(passphrase: Buffer): Promise<void>;
  unlock(passphrase: Buffer): Promise<void>;
  /** Returns the SUCCESS body (possibly empty); throws JG_AGENT_PROTOCOL for unsupported ones. */
  extension(name: string, contents: Buffer, conn?: AgentConnection): Promise<Buffer>;
}

export interface KeyringOptions {
  /** Asked before each use of a key added with the confirm constraint. Default: $SSH_ASKPASS. */
  confirm?: (question: string) => Promise<boolean>;
  /** The askpass program the default confirm runs; default process.env.SSH_ASKPASS. */
  askpass?: string;
  /** Milliseconds to wait after the n-th consecutive wrong unlock passphrase. */
  unlockDelayMs?: (failures: number) => number;
  /** Clock in milliseconds (tests). */
  now?: () => number;
}

export const SUPPORTED_EXTENSIONS = ["query", "session-bind@openssh.com"] as const;

interface Entry {
  /** Only the key's type and curve; the private parts live in `keyObject` alone (not kept raw). */
  key: Pick<AgentPrivateKey, "type"> & { curve?: EcdsaCurve };
  keyObject: KeyObject;
  blob: Buffer;
  comment: string;
  confirm: boolean;
  /** restrict-destination-v00@openssh.com constraints; undefined or empty: usable anywhere. */
  destinations: DestConstraint[] | undefined;
  /** Epoch milliseconds, or undefined for no lifetime. */
  expiresAt: number | undefined;
}

function agentError(
  code:
    | "JG_AGENT_KEY_NOT_FOUND"
    | "JG_AGENT_LOCKED"
    | "JG_AGENT_CONFIRM_REFUSED"
    | "JG_AGENT_PROTOCOL"
    | "JG_AGENT_CONSTRAINT",
  message: string,
): JumpgateError {
  return new JumpgateError(code, message);
}

/** SHA256 fingerprint as OpenSSH prints it, for messages (never the key itself). */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

function b64url(b: Buffer): string {
  return b.toString("base64url");
}

function bigOf(b: Buffer): bigint {
  return b.length === 0 ? 0n : BigInt(`0x${b.toString("hex")}`);
}

function bytesOf(v: bigint): Buffer {
  let hex = v.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return Buffer.from(hex, "hex");
}

const EC_PARAMS = {
  nistp256: { crv: "P-256", size: 32, hash: "sha256" },
  nistp384: { crv: "P-384", size: 48, hash: "sha384" },
  nistp521: { crv: "P-521", size: 66, hash: "sha512" },
} as const;

function leftPad(b: Buffer, size: number): Buffer {
  if (b.length > size) throw new JumpgateError("JG_AGENT_UNSUPPORTED_KEY", "ecdsa scalar too long");
  return Buffer.concat([Buffer.alloc(size - b.length), b]);
}

/** Builds a node:crypto private KeyObject from the raw parts ssh-add sent (via JWK). */
export function keyObjectOf(key: AgentPrivateKey): KeyObject {
  try {
    switch (key.type) {
      case "ssh-ed25519":
        return createPrivateKey({
          format: "jwk",
          key: {
            kty: "OKP",
            crv: "Ed25519",
            d: b64url(key.privateKey.subarray(0, 32)),
            x: b64url(key.publicKey),
          },
        });
      case "ssh-rsa": {
        const d = bigOf(key.d);
        const p = bigOf(key.p);
        const q = bigOf(key.q);
        return createPrivateKey({
          format: "jwk",
          key: {
            kty: "RSA",
            n: b64url(fromMpint(key.n)),
            e: b64url(fromMpint(key.e)),
            d: b64url(fromMpint(key.d)),
            p: b64url(fromMpint(key.p)),
            q: b64url(fromMpint(key.q)),
            dp: b64url(bytesOf(d % (p - 1n))),
            dq: b64url(bytesOf(d % (q - 1n))),
            qi: b64url(fromMpint(key.iqmp)),
          },
        });
      }
      default: {
        const params = EC_PARAMS[key.curve];
        const q = key.q;
        if (q.length !== 1 + 2 * params.size || q[0] !== 4) {
          throw new JumpgateError("JG_AGENT_UNSUPPORTED_KEY", "ecdsa public point is not uncompressed");
        }
        return createPrivateKey({
          format: "jwk",
          key: {
            kty: "EC",
            crv: params.crv,
            x: b64url(q.subarray(1, 1 + params.size)),
            y: b64url(q.subarray(1 + params.size)),
            d: b64url(leftPad(fromMpint(key.d), params.size)),
          },
        });
      }
    }
  } catch (err) {
    if (err instanceof JumpgateError) throw err;
    // node:crypto's message may quote key material in some versions; keep only a generic one.
    throw new JumpgateError("JG_AGENT_UNSUPPORTED_KEY", `${key.type} key is not valid`);
  }
}

/** Signs `data` with `entry` and returns the SSH signature blob. */
function signWith(entry: Entry, data: Buffer, flags: number): Buffer {
  const key = entry.key;
  switch (key.type) {
    case "ssh-ed25519":
      return new WireWriter()
        .string("ssh-ed25519")
        .string(cryptoSign(null, data, entry.keyObject))
        .toBuffer();
    case "ssh-rsa": {
      let alg = "ssh-rsa";
      let hash = "sha1";
      if (flags & SIGN_FLAGS.RSA_SHA2_512) {
        alg = "rsa-sha2-512";
        hash = "sha512";
      } else if (flags & SIGN_FLAGS.RSA_SHA2_256) {
        alg = "rsa-sha2-256";
        hash = "sha256";
      }
      return new WireWriter()
        .string(alg)
        .string(cryptoSign(hash, data, entry.keyObject))
        .toBuffer();
    }
    default: {
      const params = EC_PARAMS[key.curve!]; // set for every ecdsa entry by add()
      const raw = cryptoSign(params.hash, data, { key: entry.keyObject, dsaEncoding: "ieee-p1363" });
      const inner = new WireWriter()
        .mpint(raw.subarray(0, params.size))
        .mpint(raw.subarray(params.size))
        .toBuffer();
      return new WireWriter().string(key.type).string(inner).toBuffer();
    }
  }
}

/** Default confirmation: run $SSH_ASKPASS with SSH_ASKPASS_PROMPT=confirm; exit 0 means yes. */
export function askpassConfirm(program: string | undefined): (question: string) => Promise<boolean> {
  return (question) =>
    new Promise((resolve) => {
      if (!program) {
        resolve(false); // no way to ask: refuse, never allow silently
        return;
      }
      let child: ReturnType<typeof spawn>;
      try {
        child = spawn(program, [question], {
          stdio: ["ignore", "ignore", "ignore"],
          env: { ...process.env, SSH_ASKPASS_PROMPT: "confirm" },
        });
      } catch {
        resolve(false);
        return;
      }
      child.on("error", () => resolve(false));
      child.on("close", (code) => resolve(code === 0));
    });
}

interface LockState {
  salt: Buffer;
  hash: Buffer;
}

function hashPassphrase(passphrase: Buffer, salt: Buffer): Buffer {
  return scryptSync(passphrase, salt, 32, { N: 16384, r: 8, p: 1 });
}

export class Keyring implements AgentBackend {
  private entries: Entry[] = [];
  private locked: LockState | undefined;
  private failedUnlocks = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly confirmFn: (question: string) => Promise<boolean>;
  private readonly delayFn: (failures: number) => number;
  private readonly now: () => number;
  /**
   * The last session-bind@openssh.com records accepted on any connection, most recent last
   * (diagnostics and tests; what constrains keys is each connection's own list).
   */
  readonly sessionBinds: SessionBind[] = [];

  constructor(opts: KeyringOptions = {}) {
    this.confirmFn = opts.confirm ?? askpassConfirm(opts.askpass ?? process.env.SSH_ASKPASS);
    // OpenSSH: 0.1 s per consecutive failure, at most 10 s.
    this.delayFn = opts.unlockDelayMs ?? ((n) => Math.min(100 * n, 10_000));
    this.now = opts.now ?? Date.now;
  }

  get isLocked(): boolean {
    return this.locked !== undefined;
  }

  /** Drops keys whose lifetime has passed; called on every request and by the timer. */
  expire(): void {
    const now = this.now();
    this.entries = this.entries.filter((e) => e.expiresAt === undefined || e.expiresAt > now);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    let next: number | undefined;
    for (const e of this.entries) {
      if (e.expiresAt !== undefined && (next === undefined || e.expiresAt < next)) next = e.expiresAt;
    }
    if (next === undefined) return;
    // setTimeout overflows above 2^31-1 ms (it would then fire at once, over and over): clamp.
    const delay = Math.min(Math.max(0, next - this.now()) + 5, 2 ** 31 - 1);
    this.timer = setTimeout(() => this.expire(), delay);
    this.timer.unref();
  }

  async list(conn: AgentConnection = new AgentConnection()): Promise<Identity[]> {
    this.expire();
    if (this.locked) return [];
    // Keys this connection's binds do not permit are not shown (process_request_identities).
    return this.entries
      .filter((e) => identityPermitted(e.destinations, conn, undefined))
      .map((e) => ({ blob: Buffer.from(e.blob), comment: e.comment }));
  }

  async add(
    key: AgentPrivateKey,
    comment: string,
    constraints: Constraints = {},
    conn: AgentConnection = new AgentConnection(),
  ): Promise<void> {
    this.expire();
    if (this.locked) throw agentError("JG_AGENT_LOCKED", "agent is locked");
    if (constraints.extensions && constraints.extensions.length > 0) {
      // OpenSSH refuses keys with constraint extensions it does not implement.
      throw agentError(
        "JG_AGENT_CONSTRAINT",
        `unsupported key constraint ${constraints.extensions[0]!.name}`,
      );
    }
    if (constraints.skProvider !== undefined) {
      // As OpenSSH for any key that is not a FIDO (sk-) key; jumpgate holds no FIDO keys.
      throw agentError(
        "JG_AGENT_CONSTRAINT",
        `cannot add provider: ${key.type} is not an authenticator-hosted key`,
      );
    }
    const keyObject = keyObjectOf(key);
    const blob = publicBlobOf(key);
    const entry: Entry = {
      key:
        key.type === "ssh-ed25519" || key.type === "ssh-rsa"
          ? { type: key.type }
          : { type: key.type, curve: key.curve },
      keyObject,
      blob,
      comment,
      confirm: constraints.confirm === true,
      destinations:
        constraints.destinations && constraints.destinations.length > 0
          ? constraints.destinations
          : undefined,
      expiresAt: constraints.lifetime !== undefined ? this.now() + constraints.lifetime * 1000 : undefined,
    };
    // Re-adding a key replaces it (new comment and constraints), as OpenSSH does.
    const i = this.entries.findIndex((e) => e.blob.equals(blob));
    if (i >= 0) {
      // A key this connection may not see cannot be replaced through it either.
      if (!identityPermitted(this.entries[i]!.destinations, conn, undefined)) {
        throw agentError("JG_AGENT_KEY_NOT_FOUND", "key not visible on this connection");
      }
      this.entries[i] = entry;
    } else this.entries.push(entry);
    this.schedule();
  }

  async remove(keyBlob: Buffer, conn: AgentConnection = new AgentConnection()): Promise<void> {
    this.expire();
    if (this.locked) throw agentError("JG_AGENT_LOCKED", "agent is locked");
    const i = this.entries.findIndex((e) => e.blob.equals(keyBlob));
    if (i < 0) throw agentError("JG_AGENT_KEY_NOT_FOUND", `key ${fingerprint(keyBlob)} not in agent`);
    if (!identityPermitted(this.entries[i]!.destinations, conn, undefined)) {
      throw agentError(
        "JG_AGENT_KEY_NOT_FOUND",
        `key ${fingerprint(keyBlob)} not visible on this connection`,
      );
    }
    this.entries.splice(i, 1);
    this.schedule();
  }

  async removeAll(): Promise<void> {
    this.expire();
    if (this.locked) throw agentError("JG_AGENT_LOCKED", "agent is locked");
    this.entries = [];
    this.schedule();
  }

  async sign(
    keyBlob: Buffer,
    data: Buffer,
    flags: number,
    conn: AgentConnection = new AgentConnection(),
  ): Promise<Buffer> {
    this.expire();
    if (this.locked) throw agentError("JG_AGENT_LOCKED", "agent is locked");
    const entry = this.entries.find((e) => e.blob.equals(keyBlob));
    if (!entry) throw agentError("JG_AGENT_KEY_NOT_FOUND", `key ${fingerprint(keyBlob)} not in agent`);
    let detail = "";
    if (entry.destinations) {
      const check = checkConstrainedSign(entry.destinations, conn, entry.blob, data);
      if (!check.ok) throw agentError("JG_AGENT_CONSTRAINT", `refusing use of key: ${check.reason}`);
      detail = `\n${check.detail}`;
    }
    if (entry.confirm) {
      let ok = false;
      try {
        ok = await this.confirmFn(
          `Allow use of key ${entry.comment}?\nKey fingerprint ${fingerprint(entry.blob)}.${detail}`,
        );
      } catch {
        ok = false;
      }
      if (!ok) throw agentError("JG_AGENT_CONFIRM_REFUSED", "use of key not confirmed");
      // The key may have expired or been removed, or the agent locked, while we waited.
      this.expire();
      if (this.locked) throw agentError("JG_AGENT_LOCKED", "agent is locked");
      if (!this.entries.includes(entry)) throw agentError("JG_AGENT_KEY_NOT_FOUND", "key gone");
    }
    return signWith(entry, data, flags);
  }

  async lock(passphrase: Buffer): Promise<void> {
    if (this.locked) throw agentError("JG_AGENT_LOCKED", "agent is already locked");
    const salt = randomBytes(16);
    this.locked = { salt, hash: hashPassphrase(passphrase, salt) };
  }

  async unlock(passphrase: Buffer): Promise<void> {
    const state = this.locked;
    if (!state) throw agentError("JG_AGENT_LOCKED", "agent is not locked");
    if (timingSafeEqual(hashPassphrase(passphrase, state.salt), state.hash)) {
      this.locked = undefined;
      this.failedUnlocks = 0;
      return;
    }
    this.failedUnlocks++;
    const delay = this.delayFn(this.failedUnlocks);
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    throw agentError("JG_AGENT_LOCKED", "wrong passphrase");
  }

  async extension(
    name: string,
    contents: Buffer,
    conn: AgentConnection = new AgentConnection(),
  ): Promise<Buffer> {
    this.expire();
    if (this.locked) throw agentError("JG_AGENT_LOCKED", "agent is locked");
    if (name === "query") {
      const w = new WireWriter();
      for (const n of SUPPORTED_EXTENSIONS) w.string(n);
      return w.toBuffer();
    }
    if (name === "session-bind@openssh.com") {
      // As OpenSSH: the host key must have signed the session id, and the binds must be coherent.
      const { result, bind } = sessionBind(conn, contents);
      if (result === "refused") throw agentError("JG_AGENT_PROTOCOL", "session-bind refused");
      if (result === "recorded") {
        this.sessionBinds.push(bind);
        if (this.sessionBinds.length > 16) this.sessionBinds.shift();
      }
      return Buffer.alloc(0);
    }
    // OpenSSH's agent answers an extension it does not know with plain SSH_AGENT_FAILURE.
    throw agentError("JG_AGENT_PROTOCOL", `unsupported extension ${JSON.stringify(name.slice(0, 64))}`);
  }

  /** Stops the expiry timer and forgets every key. */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.entries = [];
  }
}
