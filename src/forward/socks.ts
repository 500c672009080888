/**
 * The SOCKS side of -D: SOCKS4, SOCKS4a and SOCKS5 (RFC 1928), CONNECT only, no authentication,
 * names resolved by the server (they travel to it as text in the direct-tcpip request, so a
 * localhost-only name on the far side works and nothing is looked up here).
 *
 * The parsers are pure functions over the bytes received so far; `socksHandshake` drives them on
 * a socket. Unlike OpenSSH, which answers "success" before it knows, the reply here waits for the
 * channel: a refused or unreachable far side gets the matching SOCKS error code instead of a
 * connection that just closes.
 */
import type { Duplex } from "node:stream";
import { JumpgateError } from "../errors.js";
import type { Target } from "./spec.js";

/** Longest handshake we accept: SOCKS4a user id plus name, or SOCKS5 greeting plus request. */
const MAX_HANDSHAKE = 1024;

export type SocksVersion = 4 | 5;

/** RFC 1928 reply codes (SOCKS5); SOCKS4 has only "granted" (0x5a) and "rejected" (0x5b). */
export const SOCKS5_REPLY = {
  succeeded: 0x00,
  generalFailure: 0x01,
  notAllowed: 0x02,
  networkUnreachable: 0x03,
  hostUnreachable: 0x04,
  connectionRefused: 0x05,
  commandNotSupported: 0x07,
  addressTypeNotSupported: 0x08,
} as const;

export type ParseResult<T> =
  | { status: "more" }
  | { status: "error"; message: string; reply?: Buffer }
  | { status: "done"; value: T; consumed: number };

export interface SocksRequest {
  version: SocksVersion;
  target: { host: string; port: number };
}

function more<T>(): ParseResult<T> {
  return { status: "more" };
}

function cstring(buf: Buffer, from: number): { text: string; end: number } | null {
  const nul = buf.indexOf(0, from);
  if (nul < 0) return null;
  return { text: buf.toString("latin1", from, nul), end: nul + 1 };
}

/** SOCKS4 / SOCKS4a CONNECT: VN=4 CD=1 DSTPORT DSTIP USERID\0 [HOST\0 when DSTIP is 0.0.0.x]. */
export function parseSocks4(buf: Buffer): ParseResult<SocksRequest> {
  if (buf.length < 8) return more();
  const reject = socks4Reply(false);
  if (buf[1] !== 1) return { status: "error", message: "SOCKS4: only CONNECT is supported", reply: reject };
  const port = buf.readUInt16BE(2);
  const user = cstring(buf, 8);
  if (user === null) return more();
  const ip = [buf[4], buf[5], buf[6], buf[7]] as number[];
  // 0.0.0.x with x != 0 marks SOCKS4a: the name follows the user id.
  if (ip[0] === 0 && ip[1] === 0 && ip[2] === 0 && ip[3] !== 0) {
    const name = cstring(buf, user.end);
    if (name === null) return more();
    if (name.text === "") return { status: "error", message: "SOCKS4a: empty host name", reply: reject };
    return { status: "done", value: { version: 4, target: { host: name.text, port } }, consumed: name.end };
  }
  return { status: "done", value: { version: 4, target: { host: ip.join("."), port } }, consumed: user.end };
}

/** SOCKS5 greeting: VER NMETHODS METHODS; we take "no authentication" (0) or nothing. */
export function parseSocks5Greeting(buf: Buffer): ParseResult<{ noAuth: boolean }> {
  if (buf.length < 2) return more();
  const n = buf[1] as number;
  if (buf.length < 2 + n) return more();
  const methods = buf.subarray(2, 2 + n);
  return { status: "done", value: { noAuth: methods.includes(0) }, consumed: 2 + n };
}

/** SOCKS5 request: VER CMD RSV ATYP DST.ADDR DST.PORT. */
export function parseSocks5Request(buf: Buffer): ParseResult<SocksRequest> {
  if (buf.length < 5) return more();
  if (buf[0] !== 5) return { status: "error", message: `SOCKS5: bad request version ${buf[0]}` };
  const cmd = buf[1];
  const atyp = buf[3];
  let host: string;
  let end: number;
  if (atyp === 1) {
    end = 4 + 4;
    if (buf.length < end + 2) return more();
    host = [...buf.subarray(4, 8)].join(".");
  } else if (atyp === 3) {
    const len = buf[4] as number;
    end = 5 + len;
    if (buf.length < end + 2) return more();
    host = buf.toString("latin1", 5, end);
    if (host === "") {
      return {
        status: "error",
        message: "SOCKS5: empty host name",
        reply: socks5Reply(SOCKS5_REPLY.generalFailure),
      };
    }
  } else if (atyp === 4) {
    end = 4 + 16;
    if (buf.length < end + 2) return more();
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(buf.readUInt16BE(4 + i).toString(16));
    host = groups.join(":");
  } else {
    return {
      status: "error",
      message: `SOCKS5: address type ${atyp} is not supported`,
      reply: socks5Reply(SOCKS5_REPLY.addressTypeNotSupported),
    };
  }
  if (cmd !== 1) {
    return {
      status: "error",
      message: `SOCKS5: command ${cmd} is not supported (CONNECT only)`,
      reply: socks5Reply(SOCKS5_REPLY.commandNotSupported),
    };
  }
  const port = buf.readUInt16BE(end);
  return { status: "done", value: { version: 5, target: { host, port } }, consumed: end + 2 };
}

export function socks4Reply(granted: boolean): Buffer {
  return Buffer.from([0, granted ? 0x5a : 0x5b, 0, 0, 0, 0, 0, 0]);
}

/** A reply with BND.ADDR 0.0.0.0:0: the bound address of a channel has no meaning here. */
export function socks5Reply(code: number): Buffer {
  return Buffer.from([5, code, 0, 1, 0, 0, 0, 0, 0, 0]);
}

/** Picks the SOCKS5 reply code for why the channel did not open (RFC 4254 reason words). */
export function replyCodeFor(message: string): number {
  if (/administratively prohibited/i.test(message)) return SOCKS5_REPLY.notAllowed;
  if (/refused/i.test(message)) return SOCKS5_REPLY.connectionRefused;
  if (/unreachable|no route|not known|resolve|getaddrinfo|name or service/i.test(message))
    return SOCKS5_REPLY.hostUnreachable;
  return SOCKS5_REPLY.generalFailure;
}

export interface SocksHandshake {
  request: SocksRequest;
  target: Target;
  /** Bytes the client sent after its request (sent on once the channel is open). */
  head: Buffer;
  /** Tells the client the outcome; on failure the caller then closes the socket. */
  reply(ok: boolean, failure?: string): void;
}

/**
 * Reads one SOCKS handshake from `socket` (paused or not). Rejects with JG_FORWARD_SOCKS on
 * garbage, an unsupported request, or a client that goes away; the error reply (if the protocol
 * has one) is already written then.
 */
export function socksHandshake(socket: Duplex): Promise<SocksHandshake> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    let stage: "start" | "socks4" | "greeting" | "request" | "done" = "start";
    let version: SocksVersion = 5;
    const cleanup = () => {
      socket.off("data", onData);
      socket.off("end", onGone);
      socket.off("close", onGone);
      socket.off("error", onGone);
    };
    const fail = (message: string, reply?: Buffer) => {
      stage = "done";
      cleanup();
      if (reply && !socket.destroyed) socket.end(reply);
      else socket.destroy();
      reject(new JumpgateError("JG_FORWARD_SOCKS", message));
    };
    const onGone = () => fail("SOCKS client went away during the handshake");
    const step = (): void => {
      if (stage === "start") {
        if (buf.length < 1) return;
        if (buf[0] === 4) {
          stage = "socks4";
          version = 4;
        } else if (buf[0] === 5) stage = "greeting";
        else {
          fail(`not a SOCKS4/5 request (first byte 0x${(buf[0] as number).toString(16)})`);
          return;
        }
      }
      if (stage === "greeting") {
        const r = parseSocks5Greeting(buf);
        if (r.status === "more") return;
        if (r.status === "error") {
          fail(r.message, r.reply);
          return;
        }
        if (!r.value.noAuth) {
          fail("SOCKS5: the client offers no method without authentication", Buffer.from([5, 0xff]));
          return;
        }
        socket.write(Buffer.from([5, 0]));
        buf = buf.subarray(r.consumed);
        stage = "request";
      }
      const r = stage === "socks4" ? parseSocks4(buf) : parseSocks5Request(buf);
      if (r.status === "more") return;
      if (r.status === "error") {
        fail(r.message, r.reply);
        return;
      }
      stage = "done";
      cleanup();
      socket.pause();
      const head = buf.subarray(r.consumed);
      resolve({
        request: r.value,
        target: r.value.target,
        head,
        reply: (ok, failure) => {
          if (socket.destroyed) return;
          if (version === 4) socket.write(socks4Reply(ok));
          else socket.write(socks5Reply(ok ? SOCKS5_REPLY.succeeded : replyCodeFor(failure ?? "")));
        },
      });
    };
    const onData = (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      step();
      // Only an unfinished handshake is bounded: bytes a client sends right after a complete
      // request (optimistic data) are its payload, passed on once the channel is open.
      if (stage !== "done" && buf.length > MAX_HANDSHAKE) fail("SOCKS handshake too long");
    };
    socket.on("data", onData);
    socket.once("end", onGone);
    socket.once("close", onGone);
    socket.once("error", onGone);
    socket.resume();
  });
}
