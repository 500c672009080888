import { describe, expect, it } from "vitest";
import {
  encodeClose,
  encodeControl,
  encodeData,
  encodeEof,
  encodeExit,
  encodeWindow,
  FrameDecoder,
  MAX_FRAME,
  ProtocolError,
} from "../../../src/gate/protocol.js";

describe("gate protocol codec", () => {
  it("round-trips every frame type, split at every byte boundary", () => {
    const bytes = Buffer.concat([
      encodeControl({ t: "req", id: 3, op: "status" }),
      encodeData(7, 1, Buffer.from([0, 1, 2, 255])),
      encodeEof(7, 0),
      encodeExit(7, 42, null),
      encodeExit(8, null, "SIGTERM"),
      encodeWindow(7, 40, 120),
      encodeClose(9),
    ]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const d = new FrameDecoder();
      const frames = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))];
      expect(frames).toEqual([
        { type: "control", message: { t: "req", id: 3, op: "status" } },
        { type: "data", stream: 7, fd: 1, data: Buffer.from([0, 1, 2, 255]) },
        { type: "eof", stream: 7, fd: 0 },
        { type: "exit", stream: 7, code: 42, signal: null },
        { type: "exit", stream: 8, code: null, signal: "SIGTERM" },
        { type: "window", stream: 7, rows: 40, cols: 120 },
        { type: "close", stream: 9 },
      ]);
      expect(d.pending).toBe(0);
    }
  });

  it("uses the documented layout: u32 length, u8 type, payload", () => {
    const f = encodeData(1, 2, Buffer.from("hi"));
    expect([...f]).toEqual([0, 0, 0, 8, 1, 0, 0, 0, 1, 2, 0x68, 0x69]);
  });

  it("rejects garbage: oversized, empty, unknown type, short payloads, non-JSON and typeless control", () => {
    const bad = (bytes: Buffer) => () => new FrameDecoder().push(bytes);
    const head = (length: number, type: number) => {
      const b = Buffer.alloc(5);
      b.writeUInt32BE(length, 0);
      b.writeUInt8(type, 4);
      return b;
    };
    expect(bad(head(MAX_FRAME + 1, 0))).toThrow(ProtocolError);
    expect(bad(Buffer.from([0, 0, 0, 0]))).toThrow(/empty frame/);
    expect(bad(head(1, 9))).toThrow(/unknown frame type 9/);
    expect(bad(Buffer.concat([head(3, 1), Buffer.from([0, 0])]))).toThrow(/DATA frame too short/);
    expect(bad(Buffer.concat([head(4, 0), Buffer.from("{x}")]))).toThrow(/not JSON/);
    expect(bad(Buffer.concat([head(3, 0), Buffer.from("[]")]))).toThrow(/not a JSON object/);
    expect(bad(Buffer.concat([head(3, 0), Buffer.from("{}")]))).toThrow(/without a type/);
  });
});
