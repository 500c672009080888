/**
 * Destination constraints: the restrict-destination-v00@openssh.com parser (malformed -> a typed
 * JG_AGENT_CONSTRAINT error, which the server answers with FAILURE without dropping the client),
 * and the policy of OpenSSH 9.2p1's ssh-agent (session binds, hop matching, userauth-only signing).
 */
import { createPrivateKey, sign as cryptoSign } from "node:crypto";
import { connect } from "node:net";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import {
  AgentConnection,
  checkConstrainedSign,
  identityPermitted,
  parseUserauthRequest,
  sessionBind,
} from "../../../src/agent/destination.js";
import { Keyring } from "../../../src/agent/keyring.js";
import {
  AgentProtocolError,
  CONSTRAIN,
  type Constraints,
  type DestConstraint,
  decodeMessage,
  EXT_RESTRICT_DESTINATION,
  encodeDestConstraints,
  encodeMessage,
  FrameDecoder,
  MAX_DEST_CONSTRAINTS,
  MSG,
  publicBlobOf,
  WireWriter,
} from "../../../src/agent/protocol.js";
import { listenAgent } from "../../../src/agent/server.js";
import { JumpgateError } from "../../../src/errors.js";
import { ed25519Key, rsaKey, type TestKey } from "./keys.js";

const user = ed25519Key();
const userBlob = publicBlobOf(user.key);

/** A host: its key blob and a way to sign a session id as its KEX signature would. */
function host(): { blob: Buffer; signSid: (sid: Buffer) => Buffer; key: TestKey } {
  const key = ed25519Key();
  const pk = key.key;
  if (pk.type !== "ssh-ed25519") throw new Error("unreachable");
  const priv = createPrivateKey({
    format: "jwk",
    key: {
      kty: "OKP",
      crv: "Ed25519",
      d: pk.privateKey.subarray(0, 32).toString("base64url"),
      x: pk.publicKey.toString("base64url"),
    },
  });
  return {
    blob: publicBlobOf(pk),
    key,
    signSid: (sid) =>
      new WireWriter()
        .string("ssh-ed25519")
        .string(cryptoSign(null, sid, priv))
        .toBuffer(),
  };
}

const jaguar = host();
const mcgonagall = host();
const other = host();

const hop = (h: { blob: Buffer } | undefined, name?: string, u?: string) =>
  h === undefined
    ? { keys: [] }
    : { ...(u ? { user: u } : {}), hostname: name ?? "h", keys: [{ blob: h.blob, isCa: false }] };
const toJaguar: DestConstraint = { from: hop(undefined), to: hop(jaguar, "jaguar") };
const jaguarToMcg: DestConstraint = { from: hop(jaguar, "jaguar"), to: hop(mcgonagall, "mcgonagall") };

function bindContents(h: ReturnType<typeof host>, sid: Buffer, forwarding: boolean, sig?: Buffer): Buffer {
  return new WireWriter()
    .string(h.blob)
    .string(sid)
    .string(sig ?? h.signSid(sid))
    .bool(forwarding)
    .toBuffer();
}

function conn(...binds: [ReturnType<typeof host>, Buffer, boolean][]): AgentConnection {
  const c = new AgentConnection();
  for (const [h, sid, fwd] of binds)
    expect(sessionBind(c, bindContents(h, sid, fwd)).result).toBe("recorded");
  return c;
}

function userauth(sid: Buffer, name: string, opts: { hostKey?: Buffer; alg?: string; key?: Buffer } = {}) {
  const w = new WireWriter()
    .string(sid)
    .byte(50)
    .string(name)
    .string("ssh-connection")
    .string(opts.hostKey ? "publickey-hostbound-v00@openssh.com" : "publickey")
    .bool(true)
    .string(opts.alg ?? "ssh-ed25519")
    .string(opts.key ?? userBlob);
  if (opts.hostKey) w.string(opts.hostKey);
  return w.toBuffer();
}

const sid1 = Buffer.alloc(32, 1);
const sid2 = Buffer.alloc(32, 2);

/** An ADD_ID_CONSTRAINED payload (no frame header) with raw constraint bytes. */
function addWith(constraintBytes: Buffer): Buffer {
  const frame = encodeMessage({ type: "addIdentity", key: user.key, comment: "c", constraints: {} });
  return Buffer.concat([frame.subarray(4), constraintBytes]);
}

const restrictExt = (body: Buffer) =>
  Buffer.concat([
    Buffer.from([CONSTRAIN.EXTENSION]),
    new WireWriter().string(EXT_RESTRICT_DESTINATION).toBuffer(),
    body,
  ]);

function hopBytes(
  u: string,
  name: string,
  keys: { blob: Buffer; ca?: boolean }[],
  reserved = Buffer.alloc(0),
) {
  const w = new WireWriter().string(u).string(name).string(reserved);
  for (const k of keys) w.string(k.blob).bool(k.ca === true);
  return w.toBuffer();
}
function constraintBytes(from: Buffer, to: Buffer, reserved = Buffer.alloc(0)) {
  return new WireWriter()
    .string(new WireWriter().string(from).string(to).string(reserved).toBuffer())
    .toBuffer();
}
const outer = (...constraints: Buffer[]) => new WireWriter().string(Buffer.concat(constraints)).toBuffer();

function constraintCode(payload: Buffer): string | undefined {
  try {
    decodeMessage(payload);
    return undefined;
  } catch (err) {
    return (err as JumpgateError).code;
  }
}

describe("restrict-destination-v00@openssh.com parser", () => {
  const good = constraintBytes(hopBytes("", "", []), hopBytes("", "jaguar", [{ blob: jaguar.blob }]));

  it("decodes what ssh-add sends, and encodes it back the same", () => {
    const body = outer(good);
    const msg = decodeMessage(addWith(restrictExt(body)));
    if (msg.type !== "addIdentity") throw new Error("unexpected");
    expect(msg.constraints?.destinations).toEqual([
      { from: { keys: [] }, to: { hostname: "jaguar", keys: [{ blob: jaguar.blob, isCa: false }] } },
    ]);
    expect(encodeDestConstraints(msg.constraints?.destinations ?? [])).toEqual(body);
  });

  it.each([
    [
      "an unknown extension",
      Buffer.concat([Buffer.from([255]), new WireWriter().string("x@example.com").toBuffer()]),
    ],
    ["an unknown constraint type", Buffer.from([9])],
    ["maxsign (XMSS only)", Buffer.from([CONSTRAIN.MAXSIGN, 0, 0, 0, 5])],
    ["lifetime twice", Buffer.from([1, 0, 0, 0, 5, 1, 0, 0, 0, 5])],
    ["confirm twice", Buffer.from([2, 2])],
    [
      "sk-provider twice",
      Buffer.concat(
        [0, 1].map(() =>
          Buffer.concat([
            Buffer.from([255]),
            new WireWriter().string("sk-provider@openssh.com").string("internal").toBuffer(),
          ]),
        ),
      ),
    ],
    ["a truncated lifetime", Buffer.from([1, 0, 0])],
    ["a truncated constraint list", restrictExt(Buffer.from([0, 0, 0, 9, 0, 0]))],
    [
      "a user on the from hop",
      restrictExt(
        outer(
          constraintBytes(
            hopBytes("u", "jaguar", [{ blob: jaguar.blob }]),
            hopBytes("", "m", [{ blob: mcgonagall.blob }]),
          ),
        ),
      ),
    ],
    [
      "a from hostname without keys",
      restrictExt(
        outer(constraintBytes(hopBytes("", "jaguar", []), hopBytes("", "m", [{ blob: mcgonagall.blob }]))),
      ),
    ],
    [
      "from keys without a hostname",
      restrictExt(
        outer(
          constraintBytes(
            hopBytes("", "", [{ blob: jaguar.blob }]),
            hopBytes("", "m", [{ blob: mcgonagall.blob }]),
          ),
        ),
      ),
    ],
    [
      "a to hop without hostname (ssh-add -h user@)",
      restrictExt(outer(constraintBytes(hopBytes("", "", []), hopBytes("u", "", [])))),
    ],
    [
      "a to hop without keys",
      restrictExt(outer(constraintBytes(hopBytes("", "", []), hopBytes("", "m", [])))),
    ],
    [
      "hop extensions",
      restrictExt(
        outer(
          constraintBytes(
            hopBytes("", "", []),
            hopBytes("", "m", [{ blob: mcgonagall.blob }], Buffer.from("x")),
          ),
        ),
      ),
    ],
    [
      "constraint extensions",
      restrictExt(
        outer(
          constraintBytes(
            hopBytes("", "", []),
            hopBytes("", "m", [{ blob: mcgonagall.blob }]),
            Buffer.from("x"),
          ),
        ),
      ),
    ],
    [
      "an ssh-dss host key",
      restrictExt(
        outer(
          constraintBytes(
            hopBytes("", "", []),
            hopBytes("", "m", [{ blob: new WireWriter().string("ssh-dss").toBuffer() }]),
          ),
        ),
      ),
    ],
    [
      "a short ed25519 host key",
      restrictExt(
        outer(
          constraintBytes(
            hopBytes("", "", []),
            hopBytes("", "m", [
              { blob: new WireWriter().string("ssh-ed25519").string(Buffer.alloc(31)).toBuffer() },
            ]),
          ),
        ),
      ),
    ],
    [
      "an rsa host key under 1024 bits",
      restrictExt(
        outer(
          constraintBytes(hopBytes("", "", []), hopBytes("", "m", [{ blob: publicBlobOf(rsaKey(512).key) }])),
        ),
      ),
    ],
    [
      "a NUL inside a hostname",
      restrictExt(
        outer(constraintBytes(hopBytes("", "", []), hopBytes("", "a\u0000b", [{ blob: mcgonagall.blob }]))),
      ),
    ],
  ])("refuses %s with JG_AGENT_CONSTRAINT", (_what, bytes) => {
    expect(constraintCode(addWith(bytes))).toBe("JG_AGENT_CONSTRAINT");
  });

  it("ignores bytes after a constraint's reserved field, as OpenSSH does", () => {
    const padded = new WireWriter()
      .string(
        new WireWriter()
          .string(hopBytes("", "", []))
          .string(hopBytes("", "jaguar", [{ blob: jaguar.blob }]))
          .string(Buffer.alloc(0))
          .raw(Buffer.from("junk"))
          .toBuffer(),
      )
      .toBuffer();
    const msg = decodeMessage(addWith(restrictExt(outer(padded))));
    expect(msg.type === "addIdentity" && msg.constraints?.destinations?.length).toBe(1);
  });

  it("keeps the first 1024 constraints and drops the rest silently (OpenSSH 9.2)", () => {
    const many = outer(...Array.from({ length: MAX_DEST_CONSTRAINTS + 3 }, () => good));
    const msg = decodeMessage(addWith(restrictExt(many)));
    expect(msg.type === "addIdentity" && msg.constraints?.destinations?.length).toBe(MAX_DEST_CONSTRAINTS);
  });

  it("skips a second restrict-destination by its name, reading its body as more constraints", () => {
    // An empty list is one uint32 0: its first byte reads as constraint type 0, which is refused.
    const twice = Buffer.concat([restrictExt(outer(good)), restrictExt(outer())]);
    expect(constraintCode(addWith(twice))).toBe("JG_AGENT_CONSTRAINT");
  });

  it("random constraint bytes only ever give the typed error", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (arr) => {
        try {
          decodeMessage(addWith(restrictExt(Buffer.from(arr))));
        } catch (err) {
          expect(err).toBeInstanceOf(AgentProtocolError);
          expect((err as JumpgateError).code).toBe("JG_AGENT_CONSTRAINT");
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("mutated valid constraints only ever give the typed error", () => {
    const valid = restrictExt(
      outer(
        good,
        constraintBytes(
          hopBytes("", "jaguar", [{ blob: jaguar.blob }]),
          hopBytes("u*", "m", [{ blob: mcgonagall.blob, ca: true }]),
        ),
      ),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        (edits, cut) => {
          const bytes = Buffer.from(valid);
          for (const [pos, value] of edits) bytes[pos % bytes.length] = value;
          for (const b of [bytes, bytes.subarray(0, cut % bytes.length)]) {
            try {
              decodeMessage(addWith(b));
            } catch (err) {
              expect((err as JumpgateError).code).toBe("JG_AGENT_CONSTRAINT");
            }
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe("session binds (process_ext_session_bind)", () => {
  it("records a verified bind, accepts the same one again, refuses bad ones", () => {
    const c = new AgentConnection();
    expect(sessionBind(c, bindContents(jaguar, sid1, true, Buffer.from("bad"))).result).toBe("refused");
    expect(sessionBind(c, bindContents(jaguar, sid1, true)).result).toBe("recorded");
    expect(sessionBind(c, bindContents(jaguar, sid1, true)).result).toBe("already-recorded");
    // The same session id with another key.
    expect(sessionBind(c, bindContents(other, sid1, true, other.signSid(sid1))).result).toBe("refused");
    expect(sessionBind(c, bindContents(mcgonagall, sid2, false)).result).toBe("recorded");
    // Bound for authentication: nothing more may be bound.
    expect(sessionBind(c, bindContents(other, Buffer.alloc(32, 3), true)).result).toBe("refused");
    expect(c.binds.map((b) => b.forwarding)).toEqual([true, false]);
  });

  it("holds at most 16 binds per connection", () => {
    const c = new AgentConnection();
    for (let i = 0; i < 16; i++)
      expect(sessionBind(c, bindContents(jaguar, Buffer.alloc(8, i + 1), true)).result).toBe("recorded");
    expect(sessionBind(c, bindContents(jaguar, Buffer.alloc(8, 99), true)).result).toBe("refused");
  });
});

describe("identity_permitted", () => {
  it("unconstrained keys and unbound connections are always permitted", () => {
    expect(identityPermitted(undefined, conn([other, sid1, false]), "u")).toBe(true);
    expect(identityPermitted([toJaguar], new AgentConnection(), undefined)).toBe(true);
  });

  it("a first hop must be allowed from the origin", () => {
    expect(identityPermitted([toJaguar], conn([jaguar, sid1, false]), "u")).toBe(true);
    expect(identityPermitted([toJaguar], conn([mcgonagall, sid1, false]), "u")).toBe(false);
    expect(identityPermitted([jaguarToMcg], conn([mcgonagall, sid1, false]), "u")).toBe(false);
  });

  it("a forwarded hop needs from>to; listing beyond a forwarding needs a way onward", () => {
    const through = conn([jaguar, sid1, true], [mcgonagall, sid2, false]);
    expect(identityPermitted([toJaguar], through, "u")).toBe(false);
    expect(identityPermitted([toJaguar, jaguarToMcg], through, "u")).toBe(true);
    const forwarded = conn([jaguar, sid1, true]);
    expect(identityPermitted([toJaguar], forwarded, undefined)).toBe(false);
    expect(identityPermitted([toJaguar, jaguarToMcg], forwarded, undefined)).toBe(true);
    // Signing on a forwarding bind is refused outright.
    expect(identityPermitted([toJaguar, jaguarToMcg], forwarded, "u")).toBe(false);
  });

  it("checks the user pattern at the last hop only", () => {
    const c: DestConstraint = { from: hop(undefined), to: hop(jaguar, "jaguar", "ad*") };
    expect(identityPermitted([c], conn([jaguar, sid1, false]), "admin")).toBe(true);
    expect(identityPermitted([c], conn([jaguar, sid1, false]), "root")).toBe(false);
    expect(identityPermitted([c], conn([jaguar, sid1, false]), undefined)).toBe(true);
  });

  it("a CA entry does not match a plain host key", () => {
    const ca: DestConstraint = {
      from: hop(undefined),
      to: { hostname: "jaguar", keys: [{ blob: jaguar.blob, isCa: true }] },
    };
    expect(identityPermitted([ca], conn([jaguar, sid1, false]), "u")).toBe(false);
  });
});

describe("parse_userauth_request and the sign checks", () => {
  it("accepts publickey and publickey-hostbound requests for the key; nothing else", () => {
    expect(parseUserauthRequest(userauth(sid1, "u"), userBlob)).toEqual({ user: "u", sessionId: sid1 });
    expect(parseUserauthRequest(userauth(sid1, "u", { hostKey: jaguar.blob }), userBlob)?.hostKey).toEqual(
      jaguar.blob,
    );
    expect(parseUserauthRequest(userauth(sid1, "u", { alg: "rsa-sha2-512" }), userBlob)).toBeUndefined();
    expect(parseUserauthRequest(userauth(sid1, "u", { key: jaguar.blob }), userBlob)).toBeUndefined();
    expect(parseUserauthRequest(userauth(Buffer.alloc(0), "u"), userBlob)).toBeUndefined();
    expect(
      parseUserauthRequest(Buffer.concat([userauth(sid1, "u"), Buffer.from([0])]), userBlob),
    ).toBeUndefined();
    expect(parseUserauthRequest(Buffer.from("SSHSIG...."), userBlob)).toBeUndefined();
  });

  it("parse_userauth_request never throws on random input", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (arr) => {
        expect(() => parseUserauthRequest(Buffer.from(arr), userBlob)).not.toThrow();
      }),
    );
  });

  it("signs only for the most recently bound session and its host key", () => {
    const direct = conn([jaguar, sid1, false]);
    expect(checkConstrainedSign([toJaguar], direct, userBlob, userauth(sid1, "u")).ok).toBe(true);
    expect(checkConstrainedSign([toJaguar], direct, userBlob, userauth(sid2, "u")).ok).toBe(false);
    expect(
      checkConstrainedSign([toJaguar], direct, userBlob, userauth(sid1, "u", { hostKey: other.blob })).ok,
    ).toBe(false);
    expect(checkConstrainedSign([toJaguar], new AgentConnection(), userBlob, userauth(sid1, "u")).ok).toBe(
      false,
    );
    const through = conn([jaguar, sid1, true], [mcgonagall, sid2, false]);
    const both = [toJaguar, jaguarToMcg];
    // Beyond the first hop, the request must name the host key (publickey-hostbound).
    expect(checkConstrainedSign(both, through, userBlob, userauth(sid2, "u")).ok).toBe(false);
    expect(
      checkConstrainedSign(both, through, userBlob, userauth(sid2, "u", { hostKey: mcgonagall.blob })).ok,
    ).toBe(true);
  });
});

describe("the keyring and server with constrained keys", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("hides, refuses and signs per connection", async () => {
    const k = new Keyring({ confirm: async () => true });
    cleanups.push(() => k.close());
    const restricted: Constraints = { destinations: [toJaguar] };
    await k.add(user.key, "restricted", restricted);
    const toMcg = conn([mcgonagall, sid1, false]);
    expect(await k.list(toMcg)).toEqual([]);
    expect(await k.list(conn([jaguar, sid1, false]))).toHaveLength(1);
    // Not visible on this connection: cannot be removed or replaced through it.
    await expect(k.remove(userBlob, toMcg)).rejects.toBeInstanceOf(JumpgateError);
    await expect(k.add(user.key, "again", {}, toMcg)).rejects.toBeInstanceOf(JumpgateError);
    const onJaguar = conn([jaguar, sid1, false]);
    await expect(k.sign(userBlob, Buffer.from("not userauth"), 0, onJaguar)).rejects.toMatchObject({
      code: "JG_AGENT_CONSTRAINT",
    });
    expect((await k.sign(userBlob, userauth(sid1, "u"), 0, onJaguar)).length).toBeGreaterThan(64);
  });

  it("answers a malformed constraint with FAILURE and keeps serving that client", async () => {
    const keyring = new Keyring({ confirm: async () => false });
    const agent = await listenAgent({ keyring });
    cleanups.push(() => keyring.close());
    cleanups.push(() => agent.close());
    const sock = connect(agent.path);
    cleanups.push(() => void sock.destroy());
    const dec = new FrameDecoder();
    const got: number[] = [];
    let wake = () => {};
    sock.on("data", (c: Buffer) => {
      got.push(...dec.push(c).map((p) => p[0]!));
      wake();
    });
    const payload = addWith(Buffer.from([2, 2]));
    const header = Buffer.alloc(4);
    header.writeUInt32BE(payload.length);
    sock.write(Buffer.concat([header, payload]));
    sock.write(encodeMessage({ type: "requestIdentities" }));
    while (got.length < 2) await new Promise<void>((r) => (wake = r));
    expect(got).toEqual([MSG.FAILURE, MSG.IDENTITIES_ANSWER]);
  });
});
