/**
 * The ACK nudge on a stand-in transport: a small unanswered burst gets exactly one SSH_MSG_IGNORE
 * (type 2, empty string) built through ssh2's packet writer; an answered burst, a bulk burst, a
 * key exchange in progress and a stopped nudge get none.
 */
import { Duplex } from "node:stream";
import { setImmediate as turn } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { startAckNudge } from "../../../src/connection/acknudge.js";

/** ssh2's Protocol as acknudge.ts uses it: packets are built at offset 5 and "encrypted" into a list. */
function fakeProtocol() {
  const sent: Buffer[] = [];
  const protocol: {
    _kexinit?: unknown;
    _packetRW: { write: { allocStart: number; alloc(n: number): Buffer; finalize(p: Buffer): Buffer } };
    _cipher: { encrypt(p: Buffer): void };
  } = {
    _packetRW: {
      write: {
        allocStart: 5,
        alloc: (n: number) => Buffer.alloc(5 + n),
        finalize: (p: Buffer) => p,
      },
    },
    _cipher: { encrypt: (p: Buffer) => sent.push(Buffer.from(p.subarray(5))) },
  };
  return { protocol, sent };
}

/** A transport whose writes go to the "server" (nowhere) and whose reads the test emits. */
function transport(): Duplex {
  return new Duplex({ read() {}, write: (_chunk, _encoding, callback) => callback() });
}

describe("startAckNudge", () => {
  it("sends one IGNORE after a small burst nobody answered in that turn", async () => {
    const sock = transport();
    const { protocol, sent } = fakeProtocol();
    const nudge = startAckNudge(sock, () => protocol);
    sock.emit("data", Buffer.alloc(116));
    sock.emit("data", Buffer.alloc(36));
    await turn();
    expect(sent).toEqual([Buffer.from([2, 0, 0, 0, 0])]);
    expect(nudge.sent).toBe(1);
    await turn();
    expect(sent).toHaveLength(1);
    nudge.stop();
  });

  it("stays quiet when jumpgate wrote in the same turn, for bulk, during a key exchange, and once stopped", async () => {
    const sock = transport();
    const { protocol, sent } = fakeProtocol();
    const nudge = startAckNudge(sock, () => protocol);
    sock.emit("data", Buffer.alloc(100));
    sock.write(Buffer.alloc(52)); // the answer carries the ACK
    await turn();
    sock.emit("data", Buffer.alloc(64 * 1024)); // the kernel ACKs this much at once
    await turn();
    protocol._kexinit = {};
    sock.emit("data", Buffer.alloc(100));
    await turn();
    delete protocol._kexinit;
    nudge.stop();
    sock.emit("data", Buffer.alloc(100));
    await turn();
    expect(sent).toHaveLength(0);
    expect(nudge.sent).toBe(0);
  });

  it("nudges the newest (innermost) session first, so its IGNORE also answers the outer one", async () => {
    const outerSock = transport();
    const innerSock = transport();
    const outer = fakeProtocol();
    const inner = fakeProtocol();
    // The inner session's packets travel as data on the outer transport, as through a jump hop.
    inner.protocol._cipher.encrypt = (p: Buffer) => {
      inner.sent.push(Buffer.from(p.subarray(5)));
      outerSock.write(p);
    };
    const outerNudge = startAckNudge(outerSock, () => outer.protocol);
    const innerNudge = startAckNudge(innerSock, () => inner.protocol);
    outerSock.emit("data", Buffer.alloc(164));
    innerSock.emit("data", Buffer.alloc(124));
    await turn();
    expect(inner.sent).toHaveLength(1);
    expect(outer.sent).toHaveLength(0);
    outerNudge.stop();
    innerNudge.stop();
  });
});
