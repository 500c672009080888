import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { Keyring } from "../../../src/agent/keyring.js";
import {
  type AgentMessage,
  decodeMessage,
  encodeMessage,
  FrameDecoder,
  publicBlobOf,
} from "../../../src/agent/protocol.js";
import { type AgentListener, listenAgent } from "../../../src/agent/server.js";
import { ed25519Key } from "./keys.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(keyring = new Keyring({ confirm: async () => false, unlockDelayMs: () => 0 })) {
  const agent = await listenAgent({ keyring });
  cleanups.push(() => keyring.close());
  cleanups.push(() => agent.close());
  return { agent, keyring };
}

/** A client that collects replies in order. */
function client(agent: AgentListener): {
  sock: Socket;
  replies: (n: number) => Promise<AgentMessage[]>;
  closed: Promise<void>;
} {
  const sock = connect(agent.path);
  cleanups.push(() => void sock.destroy());
  const dec = new FrameDecoder();
  const got: AgentMessage[] = [];
  let wake: () => void = () => {};
  sock.on("data", (c: Buffer) => {
    got.push(...dec.push(c).map(decodeMessage));
    wake();
  });
  sock.on("error", () => {});
  const closed = new Promise<void>((r) => sock.on("close", () => r()));
  return {
    sock,
    closed,
    replies: async (n) => {
      while (got.length < n) await new Promise<void>((r) => (wake = r));
      return got.splice(0, n);
    },
  };
}

describe("listenAgent / serveAgent", () => {
  it("answers pipelined requests in order", async () => {
    const { agent } = await start();
    const { key } = ed25519Key();
    const c = client(agent);
    c.sock.write(
      Buffer.concat([
        encodeMessage({ type: "requestIdentities" }),
        encodeMessage({ type: "addIdentity", key, comment: "k" }),
        encodeMessage({ type: "requestIdentities" }),
        encodeMessage({ type: "signRequest", keyBlob: publicBlobOf(key), data: Buffer.from("x"), flags: 0 }),
        encodeMessage({ type: "removeIdentity", keyBlob: publicBlobOf(key) }),
        encodeMessage({ type: "removeIdentity", keyBlob: publicBlobOf(key) }),
        encodeMessage({ type: "unknown", code: 200, body: Buffer.alloc(0) }),
        encodeMessage({ type: "extension", name: "nope@example.com", contents: Buffer.alloc(0) }),
      ]),
    );
    const r = await c.replies(8);
    expect(r.map((m) => m.type)).toEqual([
      "identitiesAnswer",
      "success",
      "identitiesAnswer",
      "signResponse",
      "success",
      "failure",
      "failure",
      "failure",
    ]);
    expect(r[0]).toEqual({ type: "identitiesAnswer", identities: [] });
    expect(r[2]).toEqual({
      type: "identitiesAnswer",
      identities: [{ blob: publicBlobOf(key), comment: "k" }],
    });
  });

  it("pauses a client that pipelines while a confirm is pending, then answers everything in order", async () => {
    let release: (v: boolean) => void = () => {};
    let asked = 0;
    const keyring = new Keyring({
      confirm: () => {
        asked++;
        return new Promise<boolean>((r) => (release = r));
      },
    });
    const { agent } = await start(keyring);
    const { key } = ed25519Key();
    await keyring.add(key, "guarded", { confirm: true });
    const c = client(agent);
    const sign = encodeMessage({
      type: "signRequest",
      keyBlob: publicBlobOf(key),
      data: Buffer.from("x"),
      flags: 0,
    });
    const n = 40;
    c.sock.write(
      Buffer.concat([sign, ...Array.from({ length: n }, () => encodeMessage({ type: "requestIdentities" }))]),
    );
    await new Promise((r) => setTimeout(r, 50));
    expect(asked).toBe(1);
    release(true);
    const r = await c.replies(n + 1);
    expect(r[0]!.type).toBe("signResponse");
    expect(r.slice(1).every((m) => m.type === "identitiesAnswer")).toBe(true);
  });

  it("answers what was asked before the client half-closed", async () => {
    const { agent } = await start();
    const c = client(agent);
    c.sock.end(
      Buffer.concat([
        encodeMessage({ type: "requestIdentities" }),
        encodeMessage({ type: "removeAllIdentities" }),
      ]),
    );
    expect((await c.replies(2)).map((m) => m.type)).toEqual(["identitiesAnswer", "success"]);
    await c.closed;
  });

  it("answers FAILURE when the reply would exceed 256 KiB, and keeps serving", async () => {
    const { agent, keyring } = await start();
    const big = "c".repeat(20_000);
    for (let i = 0; i < 14; i++) await keyring.add(ed25519Key().key, big);
    const c = client(agent);
    c.sock.write(
      Buffer.concat([
        encodeMessage({ type: "requestIdentities" }),
        encodeMessage({ type: "removeAllIdentities" }),
      ]),
    );
    expect((await c.replies(2)).map((m) => m.type)).toEqual(["failure", "success"]);
  });

  it("answers FAILURE for an unsupported key type and keeps the connection", async () => {
    const { agent } = await start();
    const c = client(agent);
    const body = Buffer.concat([Buffer.from([17, 0, 0, 0, 7]), Buffer.from("ssh-dss"), Buffer.alloc(8)]);
    const frame = Buffer.alloc(4);
    frame.writeUInt32BE(body.length);
    c.sock.write(Buffer.concat([frame, body, encodeMessage({ type: "requestIdentities" })]));
    expect((await c.replies(2)).map((m) => m.type)).toEqual(["failure", "identitiesAnswer"]);
  });

  it("closes only the client that sends an oversized or malformed frame", async () => {
    const { agent } = await start();
    const good = client(agent);
    const bad1 = client(agent);
    bad1.sock.write(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    await bad1.closed;
    const bad2 = client(agent);
    bad2.sock.write(Buffer.from([0, 0, 0, 2, 11, 0])); // trailing byte after REQUEST_IDENTITIES
    await bad2.closed;
    const bad3 = client(agent);
    bad3.sock.write(Buffer.from([0, 0, 0, 0]));
    await bad3.closed;
    good.sock.write(encodeMessage({ type: "requestIdentities" }));
    expect((await good.replies(1))[0]!.type).toBe("identitiesAnswer");
  });

  it("makes a 0700 directory and a 0600 socket, removed on close", async () => {
    const { agent } = await start();
    expect(path.basename(agent.path)).toBe(`agent.${process.pid}`);
    expect(statSync(agent.path).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(agent.path)).mode & 0o777).toBe(0o700);
    await agent.close();
    expect(existsSync(agent.path)).toBe(false);
    expect(existsSync(path.dirname(agent.path))).toBe(false);
  });

  it("listens on a given path and removes only the socket", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "jg-agent-unit-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const keyring = new Keyring({ confirm: async () => false });
    const agent = await listenAgent({ keyring, path: path.join(dir, "sock") });
    expect(agent.path).toBe(path.join(dir, "sock"));
    expect(statSync(agent.path).mode & 0o777).toBe(0o600);
    await agent.close();
    keyring.close();
    expect(existsSync(agent.path)).toBe(false);
    expect(existsSync(dir)).toBe(true);
  });

  it("reports a socket that cannot be created with a typed error", async () => {
    const keyring = new Keyring({ confirm: async () => false });
    await expect(listenAgent({ keyring, path: "/nonexistent-dir/x/sock" })).rejects.toMatchObject({
      code: "JG_AGENT_SOCKET",
    });
  });

  it("survives random bytes and mutated frames on live connections (fast-check)", async () => {
    const { agent, keyring } = await start();
    const { key } = ed25519Key();
    await keyring.add(key, "k");
    const valid = [
      encodeMessage({ type: "requestIdentities" }),
      encodeMessage({ type: "signRequest", keyBlob: publicBlobOf(key), data: Buffer.from("d"), flags: 4 }),
      encodeMessage({
        type: "addIdentity",
        key: ed25519Key().key,
        comment: "x",
        constraints: { lifetime: 9 },
      }),
      encodeMessage({ type: "extension", name: "query", contents: Buffer.alloc(0) }),
    ];
    const input = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 300 }).map((a) => Buffer.from(a)),
      fc
        .tuple(
          fc.constantFrom(...valid),
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        )
        .map(([f, edits]) => {
          const b = Buffer.from(f);
          for (const [pos, v] of edits) b[pos % b.length] = v;
          return b;
        }),
    );
    await fc.assert(
      fc.asyncProperty(input, async (bytes) => {
        const s = connect(agent.path);
        s.on("error", () => {});
        s.on("data", () => {});
        await new Promise<void>((r) => s.on("connect", () => r()));
        s.write(bytes);
        await new Promise((r) => setTimeout(r, 2));
        s.destroy();
      }),
      { numRuns: 150 },
    );
    const c = client(agent);
    c.sock.write(encodeMessage({ type: "requestIdentities" }));
    const [answer] = await c.replies(1);
    expect(answer!.type).toBe("identitiesAnswer");
  });
});
