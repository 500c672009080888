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

export const CONSTRAIN = { LIFETIME: 1, CONFIRM: 2, MAXSIGN: 3, EXTENSION: 255 } as const;

export const EXT_RESTRICT_DESTINATION = "restrict-destination-v00@openssh.com";
export const EXT_SK_PROVIDER = "sk-provider@openssh.com";
/** OpenSSH's AGENT_MAX_DEST_CONSTRAINTS. */
export const MAX_DEST_CONSTRAINTS = 1024;
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

/** A host key a destination-constraint hop accepts: the key itself, or a CA (for host certificates). */
export interface HopKey {
  blob: Buffer;
  isCa: boolean;
}

/**
 * One hop of a restrict-destination-v00@openssh.com constraint. An absent hostname with no keys is
 * the origin (the machine running the agent); `user` is only meaningful on a `to` hop.
 */
export interface DestHop {
  user?: string;
  hostname?: string;
  keys: HopKey[];
}

/** `ssh-add -h [from>]to`: the key may be used from `from` (or the origin) to `to`. */
export interface DestConstraint {
  from: DestHop;
  to: DestHop;
}

export interface Constraints {
  /** Seconds. */
  lifetime?: number;
  confirm?: boolean;
  /** sk-provider@openssh.com (FIDO keys only; jumpgate holds none, so the agent refuses it). */
  skProvider?: string;
  /** restrict-destination-v00@openssh.com. */
  destinations?: DestConstraint[];
  /** Raw extension constraints, written as given (tests and other extensions; encoding only). */
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

  /**
   * A string as OpenSSH's sshbuf_get_cstring() reads it: a NUL is allowed only as the last byte
   * (and then ends the text); one anywhere else makes the message malformed.
   */
  cstring(): string {
    const v = this.string();
    const z = v.indexOf(0);
    if (z >= 0 && z < v.length - 1) throw new AgentProtocolError("string contains a NUL byte");
    return v.subarray(0, z >= 0 ? z : v.length).toString("utf8");
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

function constraintError(message: string): AgentProtocolError {
  return new AgentProtocolError(message, "JG_AGENT_CONSTRAINT");
}

/** Reads a string as a reader of its own (OpenSSH's sshbuf_froms). */
function subReader(r: WireReader): WireReader {
  return new WireReader(r.string());
}

const HOP_KEY_CURVES: Record<string, string> = {
  "ecdsa-sha2-nistp256": "nistp256",
  "ecdsa-sha2-nistp384": "nistp384",
  "ecdsa-sha2-nistp521": "nistp521",
};

/**
 * Checks a public key blob the way OpenSSH's sshkey_froms() would for the key types jumpgate
 * knows (ed25519, ecdsa, rsa of 1024 to 16384 bits; no trailing bytes). Certificates, ssh-dss and
 * FIDO keys are refused: jumpgate does not parse them (docs/agent.md).
 */
export function checkPublicKeyBlob(blob: Buffer): void {
  const r = new WireReader(blob);
  const type = r.cstring();
  if (type === "ssh-ed25519") {
    if (r.string().length !== 32) throw constraintError("ssh-ed25519 key of the wrong length");
  } else if (type === "ssh-rsa") {
    r.mpint();
    const n = fromMpint(r.mpint());
    const bits = n.length === 0 ? 0 : (n.length - 1) * 8 + (32 - Math.clz32(n[0]!));
    if (bits < 1024 || bits > 16384) throw constraintError(`rsa key of ${bits} bits`);
  } else if (HOP_KEY_CURVES[type] !== undefined) {
    if (r.cstring() !== HOP_KEY_CURVES[type]) throw constraintError(`${type} key names another curve`);
    const q = r.string();
    const size = { nistp256: 32, nistp384: 48, nistp521: 66 }[HOP_KEY_CURVES[type]!]!;
    if (q.length !== 1 + 2 * size || q[0] !== 4) throw constraintError(`${type} point is not valid`);
  } else {
    throw constraintError(`unsupported host key type ${JSON.stringify(type.slice(0, 64))}`);
  }
  if (r.remaining !== 0) throw constraintError("trailing bytes after a host key");
}

/** parse_dest_constraint_hop(): user, hostname, reserved (must be empty), then keyspecs to the end. */
function readDestHop(r: WireReader): DestHop {
  const user = r.cstring();
  const hostname = r.cstring();
  if (r.string().length !== 0) throw constraintError("destination hop with unsupported extensions");
  const hop: DestHop = { keys: [] };
  if (user !== "") hop.user = user;
  if (hostname !== "") hop.hostname = hostname;
  while (r.remaining > 0) {
    const blob = Buffer.from(r.string());
    checkPublicKeyBlob(blob);
    hop.keys.push({ blob, isCa: r.byte() !== 0 });
  }
  return hop;
}

/** parse_dest_constraint(): one constraint, checked for consistency. */
function readDestConstraint(r: WireReader): DestConstraint {
  // As OpenSSH: bytes after the reserved field inside one constraint are ignored.
  const b = subReader(r);
  const fromBuf = subReader(b);
  const toBuf = subReader(b);
  const reserved = b.string();
  const from = readDestHop(fromBuf);
  const to = readDestHop(toBuf);
  if (reserved.length !== 0) throw constraintError("destination constraint with unsupported extensions");
  if ((from.hostname === undefined) !== (from.keys.length === 0) || from.user !== undefined) {
    throw constraintError('inconsistent "from" in a destination constraint');
  }
  if (to.hostname === undefined || to.keys.length === 0) {
    throw constraintError('incomplete "to" in a destination constraint');
  }
  return { from, to };
}

/**
 * parse_key_constraints() of OpenSSH 9.2p1's ssh-agent, quirks included: each of lifetime,
 * confirm, sk-provider may appear once; maxsign (XMSS only, which Debian's build lacks) and
 * unknown constraints or extensions are refused; a second restrict-destination extension is
 * skipped by name only (its body is then read as further constraints); past 1024 destination
 * constraints the rest are dropped silently. Any refusal is JG_AGENT_CONSTRAINT, which the server
 * answers with FAILURE (the client stays connected, as with OpenSSH).
 */
function readConstraints(r: WireReader): Constraints {
  const c: Constraints = {};
  let lifetimeSet = false;
  while (r.remaining > 0) {
    const kind = r.byte();
    if (kind === CONSTRAIN.LIFETIME) {
      if (lifetimeSet) throw constraintError("lifetime already set");
      c.lifetime = r.uint32();
      lifetimeSet = true;
    } else if (kind === CONSTRAIN.CONFIRM) {
      if (c.confirm) throw constraintError("confirm already set");
      c.confirm = true;
    } else if (kind === CONSTRAIN.MAXSIGN) {
      r.uint32();
      throw constraintError("maxsign is only valid for XMSS keys");
    } else if (kind === CONSTRAIN.EXTENSION) {
      const name = r.cstring();
      if (name === EXT_SK_PROVIDER) {
        if (c.skProvider !== undefined) throw constraintError(`${name} already set`);
        c.skProvider = r.cstring();
      } else if (name === EXT_RESTRICT_DESTINATION) {
        if (c.destinations !== undefined) continue; // OpenSSH 9.2 returns success here, body unread
        const b = subReader(r);
        const list: DestConstraint[] = [];
        while (b.remaining > 0 && list.length < MAX_DEST_CONSTRAINTS) list.push(readDestConstraint(b));
        c.destinations = list;
      } else {
        throw constraintError(`unsupported constraint ${JSON.stringify(name.slice(0, 64))}`);
      }
    } else throw constraintError(`unknown key constraint ${kind}`);
  }
  return c;
}

function writeDestHop(w: WireWriter, hop: DestHop): void {
  const b = new WireWriter()
    .string(hop.user ?? "")
    .string(hop.hostname ?? "")
    .string(Buffer.alloc(0));
  for (const k of hop.keys) b.string(k.blob).bool(k.isCa);
  w.string(b.toBuffer());
}

/** The body of a restrict-destination-v00@openssh.com extension, as ssh-add encodes it. */
export function encodeDestConstraints(list: readonly DestConstraint[]): Buffer {
  const all = new WireWriter();
  for (const dc of list) {
    const one = new WireWriter();
    writeDestHop(one, dc.from);
    writeDestHop(one, dc.to);
    one.string(Buffer.alloc(0));
    all.string(one.toBuffer());
  }
  return new WireWriter().string(all.toBuffer()).toBuffer();
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
        let constraints: Constraints;
        try {
          constraints = readConstraints(r);
        } catch (err) {
          // Truncated constraints too: OpenSSH answers FAILURE and keeps the client.
          if (err instanceof AgentProtocolError && err.code === "JG_AGENT_PROTOCOL") {
            throw constraintError(err.message);
          }
          throw err;
        }
        return { type: "addIdentity", key, comment, constraints };
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
        if (c.skProvider !== undefined)
          w.byte(CONSTRAIN.EXTENSION).string(EXT_SK_PROVIDER).string(c.skProvider);
        if (c.destinations && c.destinations.length > 0) {
          w.byte(CONSTRAIN.EXTENSION)
            .string(EXT_RESTRICT_DESTINATION)
            .raw(encodeDestConstraints(c.destinations));
        }
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
