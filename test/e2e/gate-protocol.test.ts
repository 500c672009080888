/**
 * The gate protocol spoken by hand over the socket (docs/gate-protocol.md): raw frames built here,
 * not by the codec, so the test checks the documented bytes. A wrong version and garbage get the
 * sender dropped with an error while another client keeps being served; a session streams data,
 * EOF and the exit status as binary frames; a subscription receives the manager's events and a
 * stats snapshot.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type BastionLab, describeE2E, startBastionLab } from "../support/lab.js";
import { useTempDirs } from "../support/tmp.js";

const tempDir = useTempDirs();

const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const bin = join(repo, "bin/jumpgate.js");

/** u32 length · u8 type · payload, as the document says. */
function rawFrame(type: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length + 1, 0);
  head.writeUInt8(type, 4);
  return Buffer.concat([head, payload]);
}
const json = (value: unknown) => rawFrame(0, Buffer.from(JSON.stringify(value)));

interface RawFrame {
  type: number;
  payload: Buffer;
}

/** A hand-made client: collects whole frames, and knows when the gate hung up. */
class RawClient {
  private buffer = Buffer.alloc(0);
  readonly frames: RawFrame[] = [];
  closed = false;
  private waiters: Array<() => void> = [];

  constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      while (this.buffer.length >= 4 && this.buffer.length >= 4 + this.buffer.readUInt32BE(0)) {
        const length = this.buffer.readUInt32BE(0);
        this.frames.push({ type: this.buffer.readUInt8(4), payload: this.buffer.subarray(5, 4 + length) });
        this.buffer = this.buffer.subarray(4 + length);
      }
      this.wake();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
  }

  static open(path: string): Promise<RawClient> {
    return new Promise((resolveOpen, reject) => {
      const s = connect(path, () => resolveOpen(new RawClient(s)));
      s.once("error", reject);
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  controls(): Array<Record<string, unknown>> {
    return this.frames.filter((f) => f.type === 0).map((f) => JSON.parse(f.payload.toString()));
  }

  async until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }

  async hello(): Promise<Record<string, unknown>> {
    this.socket.write(json({ t: "hello", version: 1 }));
    return this.until("hello", () => this.controls().find((m) => m.t === "hello"));
  }
}

describeE2E("the gate protocol, spoken directly", "netns", () => {
  let lab: BastionLab;
  let runtime: string;
  let socketPath: string;
  let cfg: string;

  /** A `session` request running `command` on mcgonagall, no pty, as the CLI sends it. */
  const sessionRequest = (id: number, command: string) =>
    json({
      t: "req",
      id,
      op: "session",
      args: {
        items: [{ kind: "destination", value: "mcgonagall" }],
        configFile: cfg,
        cwd: "/",
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
        command: [command],
        tty: "no",
        noCommand: false,
        escapeChar: null,
        stdinIsTTY: false,
      },
    });

  beforeAll(async () => {
    lab = await startBastionLab();
    const work = tempDir("jg-gate-proto-");
    cfg = join(work, "config");
    writeFileSync(cfg, `Include ${lab.configPath}\n`);
    runtime = tempDir("jg-gate-rt-");
    chmodSync(runtime, 0o700);
    const r = spawnSync(process.execPath, [bin, "gate", "start"], {
      env: { ...process.env, XDG_RUNTIME_DIR: runtime },
      encoding: "utf8",
    });
    expect(r.status).toBe(0);
    socketPath = join(runtime, "jumpgate", "gate.sock");
  }, 60_000);

  afterAll(async () => {
    spawnSync(process.execPath, [bin, "gate", "stop"], { env: { ...process.env, XDG_RUNTIME_DIR: runtime } });
    await lab?.stop();
  });

  it("answers hello with its version and pid, and a status request by id", async () => {
    const c = await RawClient.open(socketPath);
    const hello = await c.hello();
    expect(hello.version).toBe(1);
    expect(hello.pid).toEqual(expect.any(Number));
    c.socket.write(json({ t: "req", id: 41, op: "status" }));
    const res = await c.until("status", () => c.controls().find((m) => m.t === "res" && m.id === 41));
    expect(res.ok).toBe(true);
    expect((res.result as { gate: { protocol: number } }).gate.protocol).toBe(1);
    c.socket.write(json({ t: "req", id: 42, op: "no-such-op" }));
    const bad = await c.until("error response", () => c.controls().find((m) => m.t === "res" && m.id === 42));
    expect(bad).toMatchObject({ ok: false, error: { code: "JG_GATE_PROTOCOL" } });
    c.socket.end();
  });

  it("drops a client with the wrong version or garbage, and keeps serving the others", async () => {
    const good = await RawClient.open(socketPath);
    await good.hello();

    const old = await RawClient.open(socketPath);
    old.socket.write(json({ t: "hello", version: 99 }));
    await old.until("the drop", () => old.closed);
    expect(old.controls()).toEqual([
      {
        t: "error",
        error: { code: "JG_GATE_VERSION", message: expect.stringMatching(/version 1, this client 99/) },
      },
    ]);

    const garbage = await RawClient.open(socketPath);
    await garbage.hello();
    garbage.socket.write(Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    await garbage.until("the drop", () => garbage.closed);
    expect(garbage.controls().at(-1)).toMatchObject({ t: "error", error: { code: "JG_GATE_PROTOCOL" } });

    const badJson = await RawClient.open(socketPath);
    await badJson.hello();
    badJson.socket.write(rawFrame(0, Buffer.from("{not json")));
    await badJson.until("the drop", () => badJson.closed);
    expect(badJson.controls().at(-1)).toMatchObject({
      error: { message: expect.stringMatching(/not JSON/) },
    });

    const noHello = await RawClient.open(socketPath);
    noHello.socket.write(json({ t: "req", id: 1, op: "status" }));
    await noHello.until("the drop", () => noHello.closed);
    expect(noHello.controls().some((m) => m.t === "res")).toBe(false);

    // The first client never noticed.
    good.socket.write(json({ t: "req", id: 7, op: "status" }));
    const res = await good.until("status", () => good.controls().find((m) => m.t === "res" && m.id === 7));
    expect(res.ok).toBe(true);
    expect(good.closed).toBe(false);
    good.socket.end();
  });

  it("runs a session: stdin as DATA frames, stdout/stderr back, EOF, then EXIT with the status", async () => {
    const c = await RawClient.open(socketPath);
    await c.hello();
    c.socket.write(sessionRequest(1, "tr a-z A-Z; echo oops >&2; exit 3"));
    const res = await c.until("the session", () => c.controls().find((m) => m.t === "res" && m.id === 1));
    expect(res).toMatchObject({ ok: true, result: { pty: false, host: "mcgonagall" } });
    const stream = (res.result as { stream: number }).stream;
    const head = Buffer.alloc(5);
    head.writeUInt32BE(stream, 0);
    head.writeUInt8(0, 4);
    c.socket.write(rawFrame(1, Buffer.concat([head, Buffer.from("hello gate\n")])));
    c.socket.write(rawFrame(2, head));
    const exit = await c.until("EXIT", () => c.frames.find((f) => f.type === 3));
    expect(exit.payload.readUInt32BE(0)).toBe(stream);
    expect(exit.payload.readInt32BE(4)).toBe(3);
    const data = (fd: number) =>
      Buffer.concat(
        c.frames
          .filter((f) => f.type === 1 && f.payload.readUInt8(4) === fd)
          .map((f) => f.payload.subarray(5)),
      ).toString();
    expect(data(1)).toBe("HELLO GATE\n");
    expect(data(2)).toBe("oops\n");
    // EOF on stdout (fd 1) came before EXIT.
    const eofAt = c.frames.findIndex((f) => f.type === 2 && f.payload.readUInt8(4) === 1);
    expect(eofAt).toBeGreaterThanOrEqual(0);
    expect(eofAt).toBeLessThan(c.frames.indexOf(exit));
    c.socket.end();
  });

  it("a client whose command exited without reading its flooded stdin is let go when it leaves", async () => {
    /** The gate's count of connected clients, asked on a connection of its own (counted too). */
    const clientCount = async () => {
      const q = await RawClient.open(socketPath);
      await q.hello();
      q.socket.write(json({ t: "req", id: 7, op: "status" }));
      const res = await q.until("status", () => q.controls().find((m) => m.t === "res" && m.id === 7));
      q.socket.end();
      return (res.result as { gate: { clients: number } }).gate.clients - 1;
    };
    const before = await clientCount();
    const c = await RawClient.open(socketPath);
    await c.hello();
    c.socket.write(sessionRequest(1, "sleep 1"));
    const res = await c.until("the session", () => c.controls().find((m) => m.t === "res" && m.id === 1));
    const head = Buffer.alloc(5);
    head.writeUInt32BE((res.result as { stream: number }).stream, 0);
    // 8 MiB of stdin for a command that never reads it: more than the channel's window and buffer,
    // so the gate stops reading this client until the channel drains, which it never does.
    const chunk = rawFrame(1, Buffer.concat([head, Buffer.alloc(64 * 1024, 120)]));
    for (let i = 0; i < 128; i++) c.socket.write(chunk);
    await c.until("EXIT", () => c.frames.find((f) => f.type === 3));
    c.socket.destroy();
    // The gate notices the client is gone (it used to keep it, paused, forever).
    let now = await clientCount();
    for (let i = 0; i < 50 && now !== before; i++) {
      await new Promise((r) => setTimeout(r, 100));
      now = await clientCount();
    }
    expect(now).toBe(before);
  });

  it("streams events and stats snapshots to a subscriber", async () => {
    // A fresh route: jaguar as another user name is another connection (the manager keys by user@host:port).
    const sub = await RawClient.open(socketPath);
    await sub.hello();
    sub.socket.write(json({ t: "req", id: 5, op: "subscribe" }));
    await sub.until("the snapshot", () => sub.controls().find((m) => m.t === "res" && m.id === 5));
    spawnSync(
      process.execPath,
      [
        bin,
        "ssh",
        "-F",
        cfg,
        "-o",
        `ProxyCommand=ssh -F ${lab.configPath} -W %h:%p jaguar`,
        "mcgonagall",
        "true",
      ],
      {
        env: { ...process.env, XDG_RUNTIME_DIR: runtime },
      },
    );
    const events = () =>
      sub
        .controls()
        .filter((m) => m.t === "event" && m.id === 5)
        .map((m) => m.event as { kind: string });
    await sub.until("connecting, ready and a stats snapshot", () => {
      const kinds = events().map((e) => e.kind);
      return kinds.includes("connecting") && kinds.includes("ready") && kinds.includes("stats");
    });
    const stats = events()
      .filter((e) => e.kind === "stats")
      .at(-1) as unknown as { connections: Array<{ route: string }> };
    expect(stats.connections.some((c) => c.route.startsWith("{ssh "))).toBe(true);
    sub.socket.end();
  }, 30_000);
});
