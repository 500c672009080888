import { connect, createServer, type Server, type Socket } from "node:net";
import { Duplex } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { pipeStreams } from "../../../src/forward/pipe.js";

/** An ssh2-like channel: what the pipe writes shows up in `sent`, `fromFar()` feeds it. */
class FakeChannel extends Duplex {
  readonly sent: Buffer[] = [];
  incoming = { window: 2 * 1024 * 1024 };
  wasClosed = false;
  finished = false;
  constructor() {
    super({ allowHalfOpen: true, highWaterMark: 64 * 1024 });
    this.on("finish", () => {
      this.finished = true;
    });
  }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.sent.push(chunk);
    cb();
  }
  fromFar(data: Buffer | null): boolean {
    return this.push(data);
  }
  close(): void {
    if (this.wasClosed) return;
    this.wasClosed = true;
    this.emit("close");
  }
}

let server: Server | null = null;
afterEach(() => {
  server?.close();
  server = null;
});

/** A connected TCP pair: `client` is the user's side, `local` what a listener hands the pipe. */
async function socketPair(): Promise<{ client: Socket; local: Socket }> {
  let resolveLocal: (s: Socket) => void = () => {};
  const localP = new Promise<Socket>((r) => {
    resolveLocal = r;
  });
  server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, resolveLocal);
  await new Promise<void>((r) => server?.listen(0, "127.0.0.1", () => r()));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  const client = connect({ port, host: "127.0.0.1", allowHalfOpen: true });
  return { client, local: await localP };
}

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

describe("pipeStreams", () => {
  it("carries a half-close: the client's EOF reaches the channel, the reply still comes back", async () => {
    const { client, local } = await socketPair();
    const channel = new FakeChannel();
    const pipe = pipeStreams(local, channel);
    const received: Buffer[] = [];
    client.on("data", (c: Buffer) => received.push(c));
    const clientClosed = new Promise((r) => client.once("close", r));
    client.end("question");
    await tick(50);
    expect(Buffer.concat(channel.sent).toString()).toBe("question");
    expect(channel.finished).toBe(true);
    // The far side answers after the EOF, then ends and closes.
    channel.fromFar(Buffer.from("answer"));
    channel.fromFar(null);
    await tick(20);
    channel.close();
    await clientClosed;
    expect(Buffer.concat(received).toString()).toBe("answer");
    const result = await pipe.done;
    expect(result).toEqual({ bytesOut: 8, bytesIn: 6, error: null });
  });

  it("destroys a channel whose peer overran the window (ssh2 #1505)", async () => {
    const { client, local } = await socketPair();
    const channel = new FakeChannel();
    const pipe = pipeStreams(local, channel);
    client.on("error", () => {});
    channel.incoming.window = -1;
    channel.fromFar(Buffer.from("more than allowed"));
    const result = await pipe.done;
    expect(result.error).toMatch(/more data than the channel window allows/);
    expect(channel.wasClosed).toBe(true);
    expect(result.bytesIn).toBe(0);
  });

  it("turns a reset of the local connection into a channel close and reports it", async () => {
    const { client, local } = await socketPair();
    const channel = new FakeChannel();
    const pipe = pipeStreams(local, channel);
    client.write("partial");
    await tick();
    client.resetAndDestroy();
    const result = await pipe.done;
    expect(channel.wasClosed).toBe(true);
    expect(result.error).toMatch(/reset|closed before/);
  });

  it("pauses the channel while the local client does not read (bounded memory)", async () => {
    const { client, local } = await socketPair();
    client.pause();
    const channel = new FakeChannel();
    pipeStreams(local, channel);
    const chunk = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < 64; i++) channel.fromFar(chunk);
    await tick(100);
    expect(channel.isPaused()).toBe(true);
    client.destroy();
  });

  it("never closes a channel with writes pending on a clean end: it ends it (ssh2 #1508)", async () => {
    const { client, local } = await socketPair();
    const channel = new FakeChannel();
    pipeStreams(local, channel);
    client.end(Buffer.alloc(256 * 1024, 1));
    await tick(100);
    expect(channel.finished).toBe(true);
    expect(channel.wasClosed).toBe(false);
    expect(Buffer.concat(channel.sent).length).toBe(256 * 1024);
    client.destroy();
  });
});
