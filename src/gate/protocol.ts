/**
 * The gate's wire protocol (docs/gate-protocol.md is the reference): length-prefixed frames over a
 * Unix socket. One frame type carries JSON control messages (hello, requests, responses, events,
 * prompts); the others carry a session's stream data in binary, multiplexed by stream id, so that
 * terminal bytes never go through JSON.
 *
 * Frame: u32 length (of what follows, big-endian) · u8 type · payload.
 * This file is pure (no I/O) and light: the CLI's fast path loads it.
 */

/** Bumped on any incompatible change; the gate refuses other versions in the hello. */
export const PROTOCOL_VERSION = 1;

/** A frame larger than this is garbage or hostile: the peer is dropped. */
export const MAX_FRAME = 1024 * 1024;

/** How much stream data one DATA frame carries at most (well under MAX_FRAME). */
export const MAX_DATA = 64 * 1024;

export const FrameType = {
  /** JSON control message (UTF-8). */
  CONTROL: 0,
  /** u32 stream · u8 fd (0 stdin, 1 stdout, 2 stderr) · bytes. */
  DATA: 1,
  /** u32 stream · u8 fd: no more data in that direction. */
  EOF: 2,
  /** u32 stream · i32 exit code (-1: none) · UTF-8 signal name (empty: none). Last frame of a stream. */
  EXIT: 3,
  /** u32 stream · u16 rows · u16 cols: the client's terminal was resized. */
  WINDOW: 4,
  /** u32 stream: the client abandons the stream (the gate closes the channel). */
  CLOSE: 5,
} as const;

export type Frame =
  | { type: "control"; message: ControlMessage }
  | { type: "data"; stream: number; fd: number; data: Buffer }
  | { type: "eof"; stream: number; fd: number }
  | { type: "exit"; stream: number; code: number | null; signal: string | null }
  | { type: "window"; stream: number; rows: number; cols: number }
  | { type: "close"; stream: number };

/** An error as it travels: a jumpgate code and a message that says what to do. */
export interface WireError {
  code: string;
  message: string;
  /** The exit status, when it is not the code's usual one (e.g. a JG_USAGE from ssh's resolver: 255). */
  exitCode?: number;
}

/**
 * Control messages. `t` names the message; requests carry an `id` that the response (and the
 * events of a subscription, and the prompts of a request) repeat.
 */
export type ControlMessage =
  | { t: "hello"; version: number; client?: string; pid?: number; gateVersion?: string }
  | { t: "req"; id: number; op: string; args?: unknown }
  | { t: "res"; id: number; ok: true; result?: unknown }
  | { t: "res"; id: number; ok: false; error: WireError }
  | { t: "event"; id: number; event: unknown }
  | { t: "prompt"; id: number; req: number; question: string; echo: boolean }
  | { t: "answer"; id: number; answer?: string; refused?: string; message?: string }
  | { t: "message"; req: number; text: string }
  | { t: "error"; error: WireError };

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}

function frame(type: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + payload.length);
  out.writeUInt32BE(payload.length + 1, 0);
  out.writeUInt8(type, 4);
  payload.copy(out, 5);
  return out;
}

export function encodeControl(message: ControlMessage): Buffer {
  return frame(FrameType.CONTROL, Buffer.from(JSON.stringify(message), "utf8"));
}

export function encodeData(stream: number, fd: number, data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(10 + data.length);
  out.writeUInt32BE(data.length + 6, 0);
  out.writeUInt8(FrameType.DATA, 4);
  out.writeUInt32BE(stream, 5);
  out.writeUInt8(fd, 9);
  data.copy(out, 10);
  return out;
}

export function encodeEof(stream: number, fd: number): Buffer {
  const p = Buffer.allocUnsafe(5);
  p.writeUInt32BE(stream, 0);
  p.writeUInt8(fd, 4);
  return frame(FrameType.EOF, p);
}

export function encodeExit(stream: number, code: number | null, signal: string | null): Buffer {
  const name = Buffer.from(signal ?? "", "utf8");
  const p = Buffer.allocUnsafe(8 + name.length);
  p.writeUInt32BE(stream, 0);
  p.writeInt32BE(code ?? -1, 4);
  name.copy(p, 8);
  return frame(FrameType.EXIT, p);
}

export function encodeWindow(stream: number, rows: number, cols: number): Buffer {
  const p = Buffer.allocUnsafe(8);
  p.writeUInt32BE(stream, 0);
  p.writeUInt16BE(Math.min(Math.max(rows, 0), 0xffff), 4);
  p.writeUInt16BE(Math.min(Math.max(cols, 0), 0xffff), 6);
  return frame(FrameType.WINDOW, p);
}

export function encodeClose(stream: number): Buffer {
  const p = Buffer.allocUnsafe(4);
  p.writeUInt32BE(stream, 0);
  return frame(FrameType.CLOSE, p);
}

function need(payload: Buffer, size: number, what: string): void {
  if (payload.length < size) throw new ProtocolError(`${what} frame too short (${payload.length} bytes)`);
}

function decodeControl(payload: Buffer): ControlMessage {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString("utf8"));
  } catch {
    throw new ProtocolError("control frame is not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProtocolError("control frame is not a JSON object");
  }
  const t = (value as { t?: unknown }).t;
  if (typeof t !== "string") throw new ProtocolError("control message without a type ('t')");
  // Fields are checked by whoever handles the message type; this layer only frames.
  return value as ControlMessage;
}

function decodeFrame(type: number, payload: Buffer): Frame {
  switch (type) {
    case FrameType.CONTROL:
      return { type: "control", message: decodeControl(payload) };
    case FrameType.DATA:
      need(payload, 5, "DATA");
      return {
        type: "data",
        stream: payload.readUInt32BE(0),
        fd: payload.readUInt8(4),
        data: payload.subarray(5),
      };
    case FrameType.EOF:
      need(payload, 5, "EOF");
      return { type: "eof", stream: payload.readUInt32BE(0), fd: payload.readUInt8(4) };
    case FrameType.EXIT: {
      need(payload, 8, "EXIT");
      const code = payload.readInt32BE(4);
      const signal = payload.subarray(8).toString("utf8");
      return {
        type: "exit",
        stream: payload.readUInt32BE(0),
        code: code < 0 ? null : code,
        signal: signal === "" ? null : signal,
      };
    }
    case FrameType.WINDOW:
      need(payload, 8, "WINDOW");
      return {
        type: "window",
        stream: payload.readUInt32BE(0),
        rows: payload.readUInt16BE(4),
        cols: payload.readUInt16BE(6),
      };
    case FrameType.CLOSE:
      need(payload, 4, "CLOSE");
      return { type: "close", stream: payload.readUInt32BE(0) };
    default:
      throw new ProtocolError(`unknown frame type ${type}`);
  }
}

/**
 * Reassembles frames from a byte stream. push() returns the complete frames so far and throws a
 * ProtocolError on garbage: the caller drops that peer (and only that peer).
 */
export class FrameDecoder {
  private buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const frames: Frame[] = [];
    while (this.buffer.length >= 4) {
      const length = this.buffer.readUInt32BE(0);
      if (length === 0) throw new ProtocolError("empty frame");
      if (length > MAX_FRAME) throw new ProtocolError(`frame of ${length} bytes exceeds ${MAX_FRAME}`);
      if (this.buffer.length < 4 + length) break;
      const type = this.buffer.readUInt8(4);
      // Copy out of the shared buffer: DATA payloads outlive the next push().
      const payload = Buffer.from(this.buffer.subarray(5, 4 + length));
      this.buffer = this.buffer.subarray(4 + length);
      frames.push(decodeFrame(type, payload));
    }
    return frames;
  }

  /** Bytes received but not yet a whole frame. */
  get pending(): number {
    return this.buffer.length;
  }
}
