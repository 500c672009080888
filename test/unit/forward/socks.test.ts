import { connect, createServer, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { JumpgateError } from "../../../src/errors.js";
import {
  parseSocks4,
  parseSocks5Greeting,
  parseSocks5Request,
  replyCodeFor,
  SOCKS5_REPLY,
  socksHandshake,
} from "../../../src/forward/socks.js";

const port = (p: number) => [p >> 8, p & 255];

describe("SOCKS parsers", () => {
  it("reads a SOCKS4 CONNECT by address and a SOCKS4a one by name", () => {
    const v4 = Buffer.from([4, 1, ...port(80), 10, 0, 0, 1, 0x75, 0]);
    expect(parseSocks4(v4)).toEqual({
      status: "done",
      value: { version: 4, target: { host: "10.0.0.1", port: 80 } },
      consumed: 10,
    });
    const v4a = Buffer.concat([
      Buffer.from([4, 1, ...port(12345), 0, 0, 0, 9, 0]),
      Buffer.from("localhost\0"),
    ]);
    expect(parseSocks4(v4a)).toMatchObject({
      status: "done",
      value: { target: { host: "localhost", port: 12345 } },
    });
    expect(parseSocks4(v4a.subarray(0, 12)).status).toBe("more");
    expect(parseSocks4(Buffer.from([4, 2, 0, 80, 1, 2, 3, 4, 0]))).toMatchObject({ status: "error" });
  });

  it("reads SOCKS5 greetings and requests for IPv4, IPv6 and names, byte by byte", () => {
    expect(parseSocks5Greeting(Buffer.from([5, 2, 2, 0]))).toEqual({
      status: "done",
      value: { noAuth: true },
      consumed: 4,
    });
    expect(parseSocks5Greeting(Buffer.from([5, 1, 2]))).toMatchObject({ value: { noAuth: false } });
    expect(parseSocks5Greeting(Buffer.from([5, 2, 0])).status).toBe("more");
    const name = Buffer.concat([
      Buffer.from([5, 1, 0, 3, 9]),
      Buffer.from("localhost"),
      Buffer.from(port(12345)),
    ]);
    for (let i = 0; i < name.length; i++) expect(parseSocks5Request(name.subarray(0, i)).status).toBe("more");
    expect(parseSocks5Request(name)).toEqual({
      status: "done",
      value: { version: 5, target: { host: "localhost", port: 12345 } },
      consumed: name.length,
    });
    const v4 = Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, ...port(22)]);
    expect(parseSocks5Request(v4)).toMatchObject({ value: { target: { host: "127.0.0.1", port: 22 } } });
    const v6 = Buffer.from([5, 1, 0, 4, ...Array(15).fill(0), 1, ...port(443)]);
    expect(parseSocks5Request(v6)).toMatchObject({
      value: { target: { host: "0:0:0:0:0:0:0:1", port: 443 } },
    });
  });

  it("refuses BIND/UDP and unknown address types with the RFC 1928 codes", () => {
    const bind = parseSocks5Request(Buffer.from([5, 2, 0, 1, 1, 2, 3, 4, 0, 80]));
    expect(bind).toMatchObject({ status: "error" });
    expect(bind.status === "error" && bind.reply?.[1]).toBe(SOCKS5_REPLY.commandNotSupported);
    const atyp = parseSocks5Request(Buffer.from([5, 1, 0, 9, 0, 0]));
    expect(atyp.status === "error" && atyp.reply?.[1]).toBe(SOCKS5_REPLY.addressTypeNotSupported);
  });

  it("maps channel-open failures onto SOCKS5 reply codes", () => {
    expect(replyCodeFor("open channel to x:1 failed: Connection refused (connect failed)")).toBe(
      SOCKS5_REPLY.connectionRefused,
    );
    expect(replyCodeFor("administratively prohibited: open failed")).toBe(SOCKS5_REPLY.notAllowed);
    expect(replyCodeFor("getaddrinfo: Name or service not known")).toBe(SOCKS5_REPLY.hostUnreachable);
    expect(replyCodeFor("something else")).toBe(SOCKS5_REPLY.generalFailure);
  });
});

describe("socksHandshake", () => {
  async function handshakeWith(bytes: Buffer) {
    const server = createServer({ allowHalfOpen: true });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const address = server.address();
    const p = typeof address === "object" && address !== null ? address.port : 0;
    const accepted = new Promise<Socket>((r) => server.once("connection", r));
    const client = connect(p, "127.0.0.1");
    const fromServer: Buffer[] = [];
    client.on("data", (c: Buffer) => fromServer.push(c));
    client.on("error", () => {});
    client.write(bytes);
    const socket = await accepted;
    // A test client that leaves at once resets the connection: not what these tests look at.
    socket.on("error", () => {});
    try {
      return {
        result: await socksHandshake(socket).then(
          (h) => ({ ok: h }),
          (e: unknown) => ({ error: e }),
        ),
        fromServer,
        client,
      };
    } finally {
      server.close();
    }
  }

  it("answers a SOCKS5 client that offers only authentication with 'no acceptable method' and fails with JG_FORWARD_SOCKS", async () => {
    const { result, fromServer, client } = await handshakeWith(Buffer.from([5, 1, 2]));
    expect("error" in result).toBe(true);
    if ("error" in result) {
      expect(result.error).toBeInstanceOf(JumpgateError);
      expect((result.error as JumpgateError).code).toBe("JG_FORWARD_SOCKS");
      expect((result.error as JumpgateError).message).toMatch(/authentication/);
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(Buffer.concat(fromServer)).toEqual(Buffer.from([5, 0xff]));
    client.destroy();
  });

  it("refuses what is not SOCKS at all", async () => {
    const { result, client } = await handshakeWith(Buffer.from("GET / HTTP/1.1\r\n\r\n"));
    expect("error" in result && (result.error as Error).message).toMatch(/not a SOCKS4\/5 request/);
    client.destroy();
  });

  it("keeps bytes sent after the request for the channel", async () => {
    const req = Buffer.concat([
      Buffer.from([5, 1, 0, 5, 1, 0, 3, 1]),
      Buffer.from("h"),
      Buffer.from(port(1)),
      Buffer.from("early"),
    ]);
    const { result, fromServer, client } = await handshakeWith(req);
    expect("ok" in result).toBe(true);
    if ("ok" in result) {
      expect(result.ok.head.toString()).toBe("early");
      expect(result.ok.target).toEqual({ host: "h", port: 1 });
      result.ok.reply(false, "Connection refused");
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(Buffer.concat(fromServer)).toEqual(Buffer.from([5, 0, 5, 5, 0, 1, 0, 0, 0, 0, 0, 0]));
    client.destroy();
  });

  it("keeps a large payload sent with the request (optimistic data), but bounds an unfinished handshake", async () => {
    const payload = Buffer.alloc(4000, 97);
    const socks5 = Buffer.concat([
      Buffer.from([5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1]),
      Buffer.from(port(80)),
      payload,
    ]);
    const five = await handshakeWith(socks5);
    expect("ok" in five.result && five.result.ok.head.equals(payload)).toBe(true);
    five.client.destroy();
    const socks4 = Buffer.concat([
      Buffer.from([4, 1]),
      Buffer.from(port(80)),
      Buffer.from([127, 0, 0, 1, 0]),
      payload,
    ]);
    const four = await handshakeWith(socks4);
    expect("ok" in four.result && four.result.ok.head.equals(payload)).toBe(true);
    four.client.destroy();
    // A SOCKS4 user id that never ends is still cut off.
    const endless = await handshakeWith(Buffer.concat([Buffer.from([4, 1, 0, 80, 127, 0, 0, 1]), payload]));
    expect("error" in endless.result && (endless.result.error as Error).message).toMatch(/too long/);
    endless.client.destroy();
  });
});
