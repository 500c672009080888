import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AgentMessage,
  AgentProtocolError,
  decodeFrames,
  decodeMessage,
  encodeMessage,
  FrameDecoder,
  MAX_FRAME_BYTES,
  MSG,
  publicBlobOf,
  WireReader,
} from "../../../src/agent/protocol.js";
import { JumpgateError } from "../../../src/errors.js";
import { ecdsaKey, ed25519Key, rsaKey } from "./keys.js";

const ed = ed25519Key().key;
const ec = ecdsaKey("nistp384").key;
const rsa = rsaKey(1024).key;

const samples: AgentMessage[] = [
  { type: "failure" },
  { type: "success" },
  { type: "success", body: Buffer.from([0, 0, 0, 1, 65]) },
  { type: "extensionFailure" },
  { type: "requestIdentities" },
  { type: "identitiesAnswer", identities: [] },
  {
    type: "identitiesAnswer",
    identities: [
      { blob: publicBlobOf(ed), comment: "me@host" },
      { blob: publicBlobOf(rsa), comment: "" },
    ],
  },
  { type: "signRequest", keyBlob: publicBlobOf(ed), data: Buffer.from("data"), flags: 4 },
  { type: "signResponse", signature: Buffer.from("sig") },
  { type: "addIdentity", key: ed, comment: "ed" },
  { type: "addIdentity", key: ec, comment: "ec" },
  { type: "addIdentity", key: rsa, comment: "rsa" },
  { type: "addIdentity", key: ed, comment: "c", constraints: { lifetime: 60, confirm: true } },
  {
    type: "addIdentity",
    key: ed,
    comment: "x",
    constraints: {
      lifetime: 5,
      destinations: [
        { from: { keys: [] }, to: { hostname: "jaguar", keys: [{ blob: publicBlobOf(ed), isCa: false }] } },
        {
          from: { hostname: "jaguar", keys: [{ blob: publicBlobOf(ed), isCa: false }] },
          to: { user: "u*", hostname: "mcgonagall", keys: [{ blob: publicBlobOf(ec), isCa: true }] },
        },
      ],
    },
  },
  { type: "addIdentity", key: rsa, comment: "sk", constraints: { skProvider: "internal" } },
  { type: "removeIdentity", keyBlob: publicBlobOf(ec) },
  { type: "removeAllIdentities" },
  { type: "lock", passphrase: Buffer.from("pw") },
  { type: "unlock", passphrase: Buffer.from("pw") },
  { type: "extension", name: "query", contents: Buffer.alloc(0) },
  { type: "extension", name: "session-bind@openssh.com", contents: Buffer.from([1, 2, 3]) },
  { type: "unknown", code: 99, body: Buffer.from([7]) },
];

function expectTyped(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AgentProtocolError);
    expect(err).toBeInstanceOf(JumpgateError);
  }
}

describe("agent protocol codec", () => {
  it.each(samples.map((m) => [m.type, m] as const))("round-trips %s", (_t, msg) => {
    const frame = encodeMessage(msg);
    expect(frame.readUInt32BE(0)).toBe(frame.length - 4);
    const [decoded, ...rest] = decodeFrames(frame);
    expect(rest).toEqual([]);
    expect(decoded).toEqual(msg);
  });

  it("uses the draft's message numbers", () => {
    expect(encodeMessage({ type: "requestIdentities" })[4]).toBe(11);
    expect(encodeMessage({ type: "addIdentity", key: ed, comment: "" })[4]).toBe(17);
    expect(encodeMessage({ type: "addIdentity", key: ed, comment: "", constraints: {} })[4]).toBe(25);
    expect(MSG.EXTENSION_FAILURE).toBe(28);
  });

  it("decodes frames split at every byte boundary", () => {
    const bytes = Buffer.concat(samples.map(encodeMessage));
    const d = new FrameDecoder();
    const out: Buffer[] = [];
    for (const byte of bytes) out.push(...d.push(Buffer.from([byte])));
    expect(out.map(decodeMessage)).toEqual(samples);
  });

  it("with wipeConsumed, zeroes the input of each frame it hands out", () => {
    const frame = encodeMessage({ type: "lock", passphrase: Buffer.from("hunter2") });
    const a = Buffer.from(frame.subarray(0, 6));
    const b = Buffer.from(frame.subarray(6));
    const d = new FrameDecoder(MAX_FRAME_BYTES, { wipeConsumed: true });
    expect(d.push(a)).toEqual([]);
    const [payload] = d.push(b);
    expect(decodeMessage(payload!)).toEqual({ type: "lock", passphrase: Buffer.from("hunter2") });
    expect(a.every((x) => x === 0) && b.every((x) => x === 0)).toBe(true);
  });

  it("refuses a frame over 256 KiB from its header alone", () => {
    const d = new FrameDecoder();
    const header = Buffer.alloc(4);
    header.writeUInt32BE(MAX_FRAME_BYTES + 1);
    expect(() => d.push(header)).toThrow(AgentProtocolError);
    const huge = Buffer.from([0xff, 0xff, 0xff, 0xff]);
    try {
      new FrameDecoder().push(huge);
      expect.unreachable();
    } catch (err) {
      expect((err as JumpgateError).code).toBe("JG_AGENT_FRAME_TOO_LARGE");
    }
    const ok = Buffer.alloc(4);
    ok.writeUInt32BE(MAX_FRAME_BYTES);
    expect(new FrameDecoder().push(ok)).toEqual([]);
  });

  it("gives typed errors for truncated, trailing and unsupported bodies", () => {
    expect(() => decodeMessage(Buffer.from([MSG.SIGN_REQUEST, 0, 0]))).toThrow(AgentProtocolError);
    expect(() => decodeMessage(Buffer.from([MSG.REQUEST_IDENTITIES, 1]))).toThrow(/trailing/);
    expect(() => decodeMessage(Buffer.alloc(0))).toThrow(AgentProtocolError);
    const dss = Buffer.concat([Buffer.from([MSG.ADD_IDENTITY, 0, 0, 0, 7]), Buffer.from("ssh-dss")]);
    try {
      decodeMessage(dss);
      expect.unreachable();
    } catch (err) {
      expect((err as JumpgateError).code).toBe("JG_AGENT_UNSUPPORTED_KEY");
    }
    expect(() => new WireReader(Buffer.from([0, 0, 0, 1, 0x80])).mpint()).toThrow(/negative/);
  });

  it("random bytes never throw anything but the typed error", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (arr) => {
        expectTyped(() => decodeFrames(Buffer.from(arr)));
        expectTyped(() => decodeMessage(Buffer.from(arr)));
      }),
      { numRuns: 2000 },
    );
  });

  it("mutated valid frames never throw anything but the typed error", () => {
    const frames = samples.map(encodeMessage);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: frames.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        fc.nat(),
        (i, edits, cut) => {
          const frame = Buffer.from(frames[i]!);
          for (const [pos, value] of edits) frame[pos % frame.length] = value;
          expectTyped(() => decodeFrames(frame));
          expectTyped(() => decodeMessage(frame.subarray(4)));
          expectTyped(() => decodeMessage(frame.subarray(4, 4 + (cut % frame.length))));
        },
      ),
      { numRuns: 3000 },
    );
  });
});
