/**
 * Destination constraints (`ssh-add -h`), enforced as OpenSSH 9.2p1's ssh-agent enforces them.
 *
 * Each client connection to the agent carries the session-bind@openssh.com records it received
 * (`AgentConnection`): ssh binds its agent connection to the host key and session id of the SSH
 * connection it authenticates (forwarding = false), and binds a forwarded agent channel to the
 * connection it travels over (forwarding = true). A key added with destination constraints may
 * then be listed and used on a connection only when every recorded hop, from the origin through
 * each forwarding to the last host, is allowed by one of the key's constraints; a signature must
 * be a publickey userauth request for the most recently bound session.
 *
 * Host certificates are not supported (a certificate host key cannot be bound; see docs/agent.md),
 * so a CA entry (`@cert-authority` in known_hosts) never matches here.
 */
import { matchPattern } from "../util/patterns.js";
import { type DestConstraint, type DestHop, WireReader } from "./protocol.js";
import { verifySshSignature } from "./verify.js";

export interface SessionBind {
  hostKey: Buffer;
  sessionId: Buffer;
  signature: Buffer;
  forwarding: boolean;
}

/** OpenSSH's AGENT_MAX_SESSION_IDS: binds recorded per connection. */
export const MAX_SESSION_BINDS = 16;

/** Per-client-connection state: the session binds received on this connection, in order. */
export class AgentConnection {
  readonly binds: SessionBind[] = [];
}

export type BindResult = "recorded" | "already-recorded" | "refused";

/**
 * process_ext_session_bind(): verifies the host key's signature over the session id, refuses a
 * connection already bound for authentication, a session id seen with another key, and more than
 * 16 binds; the same (key, session id) twice is accepted and not recorded again. Throws
 * AgentProtocolError when the contents do not parse (bytes after the flag are ignored, as OpenSSH).
 */
export function sessionBind(
  conn: AgentConnection,
  contents: Buffer,
): { result: BindResult; bind: SessionBind } {
  const r = new WireReader(contents);
  const bind: SessionBind = {
    hostKey: Buffer.from(r.string()),
    sessionId: Buffer.from(r.string()),
    signature: Buffer.from(r.string()),
    forwarding: r.byte() !== 0,
  };
  if (!verifySshSignature(bind.hostKey, bind.signature, bind.sessionId)) return { result: "refused", bind };
  for (const b of conn.binds) {
    if (!b.forwarding) return { result: "refused", bind }; // bound for authentication already
    const sidMatch = b.sessionId.equals(bind.sessionId);
    if (sidMatch && b.hostKey.equals(bind.hostKey)) return { result: "already-recorded", bind };
    if (sidMatch) return { result: "refused", bind };
  }
  if (conn.binds.length >= MAX_SESSION_BINDS) return { result: "refused", bind };
  conn.binds.push(bind);
  return { result: "recorded", bind };
}

/** match_key_hop(): a plain host key matches a plain (non-CA) entry with the same key. */
function matchKeyHop(key: Buffer, hop: DestHop): boolean {
  return hop.keys.some((k) => !k.isCa && k.blob.equals(key));
}

/**
 * permitted_by_dest_constraints(): is there a constraint from `fromKey` (undefined: the origin)
 * to `toKey` (undefined: every host) for `user` (undefined: every user)?
 */
export function permittedByDestConstraints(
  fromKey: Buffer | undefined,
  toKey: Buffer | undefined,
  constraints: readonly DestConstraint[],
  user: string | undefined,
): boolean {
  for (const d of constraints) {
    if (fromKey === undefined) {
      if (d.from.hostname !== undefined || d.from.keys.length !== 0) continue;
    } else if (!matchKeyHop(fromKey, d.from)) continue;
    if (toKey !== undefined && !matchKeyHop(toKey, d.to)) continue;
    if (d.to.user !== undefined && user !== undefined && !matchPattern(user, d.to.user)) continue;
    return true;
  }
  return false;
}

/**
 * identity_permitted(): may a key with these constraints be seen (user undefined) or used to sign
 * for `user` over this connection's binds?
 */
export function identityPermitted(
  constraints: readonly DestConstraint[] | undefined,
  conn: Readonly<AgentConnection>,
  user: string | undefined,
): boolean {
  if (constraints === undefined || constraints.length === 0) return true; // unconstrained
  const binds = conn.binds;
  if (binds.length === 0) return true; // local use
  let fromKey: Buffer | undefined;
  for (let i = 0; i < binds.length; i++) {
    const b = binds[i]!;
    let testUser: string | undefined;
    if (i === binds.length - 1) {
      // The user can only be checked at the final hop; signing on a forwarding bind is refused.
      testUser = user;
      if (b.forwarding && user !== undefined) return false;
    } else if (!b.forwarding) {
      return false; // forwarding through a connection that was bound for authentication
    }
    if (!permittedByDestConstraints(fromKey, b.hostKey, constraints, testUser)) return false;
    fromKey = b.hostKey;
  }
  // Listing over a forwarding: hide keys allowed *to* this host but not for use beyond it.
  const last = binds[binds.length - 1]!;
  if (
    last.forwarding &&
    user === undefined &&
    !permittedByDestConstraints(last.hostKey, undefined, constraints, undefined)
  ) {
    return false;
  }
  return true;
}

export interface UserauthRequest {
  user: string;
  sessionId: Buffer;
  /** Present for publickey-hostbound-v00@openssh.com. */
  hostKey?: Buffer;
}

/** sshkey_type_from_name() reduced to what parse_userauth_request() compares: the plain key type. */
function keyTypeOfAlgorithm(alg: string): string | undefined {
  if (alg === "ssh-rsa" || alg === "rsa-sha2-256" || alg === "rsa-sha2-512") return "rsa";
  if (alg === "ssh-ed25519") return "ed25519";
  if (/^ecdsa-sha2-nistp(256|384|521)$/.test(alg)) return "ecdsa";
  return undefined;
}

function keyTypeOfBlob(blob: Buffer): string | undefined {
  try {
    return keyTypeOfAlgorithm(new WireReader(blob).cstring());
  } catch {
    return undefined;
  }
}

/**
 * parse_userauth_request(): the data to sign must be an SSH publickey userauth request
 * (RFC 4252 section 7, or OpenSSH's publickey-hostbound-v00 with the host key appended) for the
 * key being used. Returns undefined when it is anything else.
 */
export function parseUserauthRequest(data: Buffer, expectedKey: Buffer): UserauthRequest | undefined {
  try {
    const r = new WireReader(data);
    const sessionId = Buffer.from(r.string());
    if (sessionId.length === 0) return undefined;
    const msgType = r.byte();
    const user = r.cstring();
    const service = r.cstring();
    const method = r.cstring();
    const sigFollows = r.byte();
    const alg = r.cstring();
    const key = r.string();
    const expectedType = keyTypeOfBlob(expectedKey);
    if (
      msgType !== 50 || // SSH2_MSG_USERAUTH_REQUEST
      sigFollows !== 1 ||
      service !== "ssh-connection" ||
      !key.equals(expectedKey) ||
      expectedType === undefined ||
      keyTypeOfAlgorithm(alg) !== expectedType
    ) {
      return undefined;
    }
    let hostKey: Buffer | undefined;
    if (method === "publickey-hostbound-v00@openssh.com") hostKey = Buffer.from(r.string());
    else if (method !== "publickey") return undefined;
    if (r.remaining !== 0) return undefined;
    return hostKey ? { user, sessionId, hostKey } : { user, sessionId };
  } catch {
    return undefined;
  }
}

/**
 * The checks process_sign_request2() makes before signing with a destination-constrained key.
 * Returns the confirm prompt's extra line on success, or a reason (for debugging) on refusal.
 */
export function checkConstrainedSign(
  constraints: readonly DestConstraint[],
  conn: Readonly<AgentConnection>,
  keyBlob: Buffer,
  data: Buffer,
): { ok: true; detail: string } | { ok: false; reason: string } {
  const binds = conn.binds;
  if (binds.length === 0) {
    return { ok: false, reason: "destination-constrained key used on an unbound connection" };
  }
  const req = parseUserauthRequest(data, keyBlob);
  if (!req) return { ok: false, reason: "destination-constrained key asked to sign an unidentified request" };
  if (!identityPermitted(constraints, conn, req.user)) {
    return { ok: false, reason: "destination not permitted for this key" };
  }
  const last = binds[binds.length - 1]!;
  if (!req.sessionId.equals(last.sessionId)) return { ok: false, reason: "unexpected session id" };
  if (binds.length > 1 && req.hostKey === undefined) {
    return { ok: false, reason: "no host key in the request on a forwarded connection" };
  }
  if (req.hostKey !== undefined && !req.hostKey.equals(last.hostKey)) {
    return { ok: false, reason: "host key in the request is not the one last bound" };
  }
  return { ok: true, detail: `public key authentication request for user "${req.user}" to listed host` };
}
