/**
 * The ssh-agent wire protocol (draft-miller-ssh-agent, OpenSSH's PROTOCOL.agent): a codec, no I/O.
 *
 * A frame is `uint32 length` + `byte type` + body. `FrameDecoder` sees the length header before
 * anything else and refuses a frame larger than MAX_FRAME_BYTES before allocating room for it.
 * Every malformed or truncated input gives an `AgentProtocolError` (a JumpgateError); nothing else
 * is ever thrown by the decoding functions.
 */
import { type ErrorCode, JumpgateError } from "../errors.js";

/** OpenSSH's own cap (AGENT_MAX_LEN) is 256 KiB. */
export const MAX_FRAME_BYTES = 256 * 1024;

export const MSG = {
  FAILURE: 5,
  SUCCESS: 6,
  REQUEST_IDENTITIES: 11,
  IDENTITIES_ANSWER: 12,
  SIGN_REQUEST: 13,
  SIGN_RESPONSE: 14,
  ADD_IDENTITY: 17,
  REMOVE_IDENTITY: 18,
  REMOVE_ALL_IDENTITIES: 19,
  LOCK: 22,
  UNLOCK: 23,
  ADD_ID_CONSTRAINED: 25,
  EXTENSION: 27,
  EXTENSION_FAILURE: 28,
} as const;

export const CONSTRAIN = { LIFETIME: 1, CONFIRM: 2, EXTENSION: 255 } as const;
export const SIGN_FLAGS = { RSA_SHA2_256: 2, RSA_SHA2_512: 4 } as const;

export class AgentProtocolError extends JumpgateError {
  constructor(message: string, code: ErrorCode = "JG_AGENT_PROTOCOL") {
    super(code, message);
    this.name = "AgentProtocolError";
  }
}

// ---------------------------------------------------------------------------------------------
// Private keys as ssh-add sends them

export type EcdsaCurve = "nistp256" | "nistp384" | "nistp521";

export type AgentPrivateKey =
  | { type: "ssh-ed25519"; publicKey: Buffer; privateKey: Buffer /* 64 bytes: seed || public */ }
  | { type: `ecdsa-sha2-${EcdsaCurve}`; curve: EcdsaCurve; q: Buffer; d: Buffer }
  | { type: "ssh-rsa"; n: Buffer; e: Buffer; d: Buffer; iqmp: Buffer; p: Buffer; q: Buffer };

export interface Constraints {
  /** Seconds. */
  lifetime?: number;
  confirm?: boolean;
  extensions?: { name: string; data: Buffer }[];
}

export interface Identity {
  blob: Buffer;
  comment: string;
}

export type AgentMessage =
  | { type: "failure" }
  | { type: "success"; body?: Buffer }
  | { type: "extensionFailure" }
  | { type: "requestIdentities" }
  | { type: "identitiesAnswer"; identities: Identity[] }
  | { type: "signRequest"; keyBlob: Buffer; data: Buffer; flags: number }
  | { type: "signResponse"; signature: Buffer }
  | { type: "addIdentity"; key: AgentPrivateKey; comment: string; constraints?: Constraints }
  | { type: "removeIdentity"; keyBlob: Buffer }
  | { type: "removeAllIdentities" }
  | { type: "lock"; passphrase: Buffer }
  | { type: "unlock"; passphrase: Buffer }
  | { type: "extension"; name: string; contents: Buffer }
  | { type: "unknown"; code: number; body: Buffer };

// ---------------------------------------------------------------------------------------------
// Wire primitives

export class WireReader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.remaining < n) throw new AgentProtocolError(`truncated message: ${what}`);
  }

  byte(): number {
    this.need(1, "byte");
    return this.buf[this.pos++]!;
  }

  bool(): boolean {
    return this.byte() !== 0;
  }

  uint32(): number {
    this.need(4, "uint32");
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  string(): Buffer {
    const len = this.uint32();
    this.need(len, "string");
    const v = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return v;
  }

  utf8(): string {
    return this.string().toString("utf8");
  }

  /** An mpint's bytes as sent (two's complement, big-endian). Negative values are refused. */
  mpint(): Buffer {
    const v = this.string();
    if (v.length > 0 && (v[0]! & 0x80) !== 0) throw new AgentProtocolError("negative mpint");
    return v;
  }

  rest(): Buffer {
    const v = this.buf.subarray(this.pos);
    this.pos = this.buf.length;
    return v;
  }

  end(what: string): void {
    if (this.remaining !== 0) throw new AgentProtocolError(`trailing bytes after ${what}`);
  }
}

export class WireWriter {
  private readonly parts: Buffer[] = [];

  byte(v: number): this {
    this.parts.push(Buffer.from([v & 0xff]));
    return this;
  }

  bool(v: boolean): this {
    return this.byte(v ? 1 : 0);
  }

  uint32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0);
    this.parts.push(b);
    return this;
  }

  string(v: Buffer | string): this {
    const b = typeof v === "string" ? Buffer.from(v, "utf8") : v;
    this.uint32(b.length);
    this.parts.push(b);
    return this;
  }

  /** Writes unsigned big-endian bytes as an mpint (minimal, with a 0 byte when the top bit is set). */
  mpint(v: Buffer): this {
    return this.string(toMpint(v));
  }

  raw(v: Buffer): this {
    this.parts.push(v);
    return this;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Unsigned big-endian bytes -> minimal mpint encoding. */
export function toMpint(v: Buffer): Buffer {
  let i = 0;
  while (i < v.length && v[i] === 0) i++;
  const stripped = v.subarray(i);
  if (stripped.length > 0 && (stripped[0]! & 0x80) !== 0) return Buffer.concat([Buffer.from([0]), stripped]);
  return Buffer.from(stripped);
}

/** mpint bytes (non-negative) -> unsigned big-endian without leading zeros. */
export function fromMpint(v: Buffer): Buffer {
  let i = 0;
  while (i < v.length && v[i] === 0) i++;
  return v.subarray(i);
}

// ---------------------------------------------------------------------------------------------
// Keys

const CURVES: Record<string, EcdsaCurve> = {
  "ecdsa-sha2-nistp256": "nistp256",
  "ecdsa-sha2-nistp384": "nistp384",
  "ecdsa-sha2-nistp521": "nistp521",
};

function readPrivateKey(r: WireReader): AgentPrivateKey {
  const type = r.utf8();
  if (type === "ssh-ed25519") {
    const publicKey = r.string();
    const privateKey = r.string();
    if (publicKey.length !== 32 || privateKey.length !== 64) {
      throw new AgentProtocolError("ssh-ed25519 key has wrong lengths");
    }
    if (!privateKey.subarray(32).equals(publicKey)) {
      throw new AgentProtocolError("ssh-ed25519 private key does not match its public key");
    }
    return { type, publicKey, privateKey };
  }
  const curve = CURVES[type];
  if (curve) {
    const name = r.utf8();
    if (name !== curve) throw new AgentProtocolError(`ecdsa key names curve ${name} for ${type}`);
    const q = r.string();
    const d = r.mpint();
    return { type: `ecdsa-sha2-${curve}`, curve, q, d };
  }
  if (type === "ssh-rsa") {
    const n = r.mpint();
    const e = r.mpint();
    const d = r.mpint();
    const iqmp = r.mpint();
    const p = r.mpint();
    const q = r.mpint();
    return { type, n, e, d, iqmp, p, q };
  }
  throw new AgentProtocolError(`unsupported key type ${JSON.stringify(type)}`, "JG_AGENT_UNSUPPORTED_KEY");
}

function writePrivateKey(w: WireWriter, key: AgentPrivateKey): void {
  w.string(key.type);
  switch (key.type) {
    case "ssh-ed25519":
      w.string(key.publicKey).string(key.privateKey);
      return;
    case "ssh-rsa":
      w.mpint(key.n).mpint(key.e).mpint(key.d).mpint(key.iqmp).mpint(key.p).mpint(key.q);
      return;
    default:
      w.string(key.curve).string(key.q).mpint(key.d);
  }
}

/** The public key blob (RFC 4253 / RFC 5656 / RFC 8709) of a private key. */
export function publicBlobOf(key: AgentPrivateKey): Buffer {
  const w = new WireWriter().string(key.type);
  switch (key.type) {
    case "ssh-ed25519":
      w.string(key.publicKey);
      break;
    case "ssh-rsa":
      w.mpint(key.e).mpint(key.n);
      break;
    default:
      w.string(key.curve).string(key.q);
  }
  return w.toBuffer();
}

// ---------------------------------------------------------------------------------------------
// Messages

function readConstraints(r: WireReader): Constraints {
  const c: Constraints = {};
  while (r.remaining > 0) {
    const kind = r.byte();
    if (kind === CONSTRAIN.LIFETIME) c.lifetime = r.uint32();
    else if (kind === CONSTRAIN.CONFIRM) c.confirm = true;
    else if (kind === CONSTRAIN.EXTENSION) {
      const name = r.utf8();
      // The extension's data runs to the end of the message for the ones we do not know; OpenSSH
      // itself refuses unknown constraint extensions, so keeping the rest whole is enough.
      const data = r.rest();
      c.extensions = [...(c.extensions ?? []), { name, data }];
    } else throw new AgentProtocolError(`unknown key constraint ${kind}`);
  }
  return c;
}

/** Decodes one message: its type byte and body (the frame without its length header). */
export function decodeMessage(payload: Buffer): AgentMessage {
  if (payload.length === 0) throw new AgentProtocolError("empty message");
  const code = payload[0]!;
  const r = new WireReader(payload.subarray(1));
  let msg: AgentMessage;
  switch (code) {
    case MSG.FAILURE:
      msg = { type: "failure" };
      break;
    case MSG.SUCCESS:
      return r.remaining > 0 ? { type: "success", body: Buffer.from(r.rest()) } : { type: "success" };
    case MSG.EXTENSION_FAILURE:
      msg = { type: "extensionFailure" };
      break;
    case MSG.REQUEST_IDENTITIES:
      msg = { type: "requestIdentities" };
      break;
    case MSG.IDENTITIES_ANSWER: {
      const n = r.uint32();
      // Each identity needs at least 8 bytes; refuse absurd counts before looping.
      if (n > r.remaining / 8) throw new AgentProtocolError("identity count exceeds message size");
      const identities: Identity[] = [];
      for (let i = 0; i < n; i++) identities.push({ blob: r.string(), comment: r.utf8() });
      msg = { type: "identitiesAnswer", identities };
      break;
    }
    case MSG.SIGN_REQUEST:
      msg = { type: "signRequest", keyBlob: r.string(), data: r.string(), flags: r.uint32() };
      break;
    case MSG.SIGN_RESPONSE:
      msg = { type: "signResponse", signature: r.string() };
      break;
    case MSG.ADD_IDENTITY:
    case MSG.ADD_ID_CONSTRAINED: {
      const key = readPrivateKey(r);
      const comment = r.utf8();
      if (code === MSG.ADD_ID_CONSTRAINED) {
        return { type: "addIdentity", key, comment, constraints: readConstraints(r) };
      }
      msg = { type: "addIdentity", key, comment };
      break;
    }
    case MSG.REMOVE_IDENTITY:
      msg = { type: "removeIdentity", keyBlob: r.string() };
      break;
    case MSG.REMOVE_ALL_IDENTITIES:
      msg = { type: "removeAllIdentities" };
      break;
    case MSG.LOCK:
      msg = { type: "lock", passphrase: r.string() };
      break;
    case MSG.UNLOCK:
      msg = { type: "unlock", passphrase: r.string() };
      break;
    case MSG.EXTENSION:
      return { type: "extension", name: r.utf8(), contents: Buffer.from(r.rest()) };
    default:
      return { type: "unknown", code, body: Buffer.from(r.rest()) };
  }
  r.end(msg.type);
  return msg;
}

/** Encodes one message as a whole frame, length header included. */
export function encodeMessage(msg: AgentMessage): Buffer {
  const w = new WireWriter();
  switch (msg.type) {
    case "failure":
      w.byte(MSG.FAILURE);
      break;
    case "success":
      w.byte(MSG.SUCCESS);
      if (msg.body) w.raw(msg.body);
      break;
    case "extensionFailure":
      w.byte(MSG.EXTENSION_FAILURE);
      break;
    case "requestIdentities":
      w.byte(MSG.REQUEST_IDENTITIES);
      break;
    case "identitiesAnswer":
      w.byte(MSG.IDENTITIES_ANSWER).uint32(msg.identities.length);
      for (const id of msg.identities) w.string(id.blob).string(id.comment);
      break;
    case "signRequest":
      w.byte(MSG.SIGN_REQUEST).string(msg.keyBlob).string(msg.data).uint32(msg.flags);
      break;
    case "signResponse":
      w.byte(MSG.SIGN_RESPONSE).string(msg.signature);
      break;
    case "addIdentity": {
      const c = msg.constraints;
      w.byte(c ? MSG.ADD_ID_CONSTRAINED : MSG.ADD_IDENTITY);
      writePrivateKey(w, msg.key);
      w.string(msg.comment);
      if (c) {
        if (c.lifetime !== undefined) w.byte(CONSTRAIN.LIFETIME).uint32(c.lifetime);
        if (c.confirm) w.byte(CONSTRAIN.CONFIRM);
        for (const e of c.extensions ?? []) w.byte(CONSTRAIN.EXTENSION).string(e.name).raw(e.data);
      }
      break;
    }
    case "removeIdentity":
      w.byte(MSG.REMOVE_IDENTITY).string(msg.keyBlob);
      break;
    case "removeAllIdentities":
      w.byte(MSG.REMOVE_ALL_IDENTITIES);
      break;
    case "lock":
      w.byte(MSG.LOCK).string(msg.passphrase);
      break;
    case "unlock":
      w.byte(MSG.UNLOCK).string(msg.passphrase);
      break;
    case "extension":
      w.byte(MSG.EXTENSION).string(msg.name).raw(msg.contents);
      break;
    case "unknown":
      w.byte(msg.code).raw(msg.body);
      break;
  }
  const payload = w.toBuffer();
  if (payload.length > MAX_FRAME_BYTES) {
    throw new AgentProtocolError("message exceeds 256 KiB", "JG_AGENT_FRAME_TOO_LARGE");
  }
  const header = Buffer.alloc(4);
  header.writeUInt32BE(payload.length);
  return Buffer.concat([header, payload]);
}

/**
 * Splits a byte stream into frame payloads. The length header is checked before any room for the
 * payload is allocated; a length over MAX_FRAME_BYTES (or zero) throws AgentProtocolError.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  private readonly wipe: boolean;

  /**
   * `wipeConsumed`: zero the input bytes of each frame once it is copied out (the caller hands over
   * its chunks; they may hold private keys).
   */
  constructor(
    private readonly maxFrame = MAX_FRAME_BYTES,
    opts: { wipeConsumed?: boolean } = {},
  ) {
    this.wipe = opts.wipeConsumed === true;
  }

  /** Feeds bytes; returns the complete payloads (type byte + body) now available. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Buffer[] = [];
    for (;;) {
      if (this.buffered < 4) break;
      const header = this.peek(4);
      const len = header.readUInt32BE(0);
      if (len > this.maxFrame) {
        throw new AgentProtocolError(
          `frame of ${len} bytes exceeds the ${this.maxFrame}-byte limit`,
          "JG_AGENT_FRAME_TOO_LARGE",
        );
      }
      if (len === 0) throw new AgentProtocolError("empty frame");
      if (this.buffered < 4 + len) break;
      const frame = this.take(4 + len);
      out.push(frame.subarray(4));
    }
    return out;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length >= n) return this.chunks[0]!.subarray(0, n);
    return Buffer.concat(this.chunks, n);
  }

  private take(n: number): Buffer {
    let all: Buffer;
    if (this.chunks.length === 1) all = this.chunks[0]!;
    else {
      all = Buffer.concat(this.chunks);
      if (this.wipe) for (const c of this.chunks) c.fill(0);
    }
    const frame = Buffer.from(all.subarray(0, n));
    if (this.wipe) all.fill(0, 0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return frame;
  }
}

/** Decodes a whole buffer of frames (for tests and simple clients). */
export function decodeFrames(bytes: Buffer): AgentMessage[] {
  const decoder = new FrameDecoder();
  return decoder.push(bytes).map(decodeMessage);
}
