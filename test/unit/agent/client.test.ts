/**
 * AgentClient against an in-process fake agent: a net.Server on a Unix socket that decodes each
 * request and answers with canned frames.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AgentClient } from "../../../src/agent/client.js";
import {
  type AgentMessage,
  type AgentPrivateKey,
  decodeMessage,
  encodeMessage,
  FrameDecoder,
  MAX_FRAME_BYTES,
  WireWriter,
} from "../../../src/agent/protocol.js";
import { JumpgateError } from "../../../src/errors.js";

type Handler = (msg: AgentMessage, socket: Socket) => Buffer | null | Promise<Buffer | null>;

interface FakeAgent {
  path: string;
  received: AgentMessage[];
  /** When each request arrived and when its answer was sent (ms, monotonic). */
  timeline: { event: "request" | "answer"; at: number }[];
  close(): Promise<void>;
}

let dir: string;
const clients: AgentClient[] = [];
const agents: FakeAgent[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "jg-agent-client-"));
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const a of agents.splice(0)) await a.close();
  rmSync(dir, { recursive: true, force: true });
});

async function fakeAgent(handler: Handler): Promise<FakeAgent> {
  const path = join(dir, `agent-${agents.length}.sock`);
  const received: AgentMessage[] = [];
  const timeline: FakeAgent["timeline"] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    const decoder = new FrameDecoder();
    let chain = Promise.resolve();
    socket.on("data", (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) {
        const msg = decodeMessage(frame);
        received.push(msg);
        timeline.push({ event: "request", at: performance.now() });
        chain = chain.then(async () => {
          const answer = await handler(msg, socket);
          if (answer !== null && !socket.destroyed) {
            timeline.push({ event: "answer", at: performance.now() });
            socket.write(answer);
          }
        });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const agent: FakeAgent = {
    path,
    received,
    timeline,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  agents.push(agent);
  return agent;
}

async function connect(path: string): Promise<AgentClient> {
  const client = await AgentClient.connect(path);
  clients.push(client);
  return client;
}

const ok = encodeMessage({ type: "success" });
const failure = encodeMessage({ type: "failure" });
const blobA = new WireWriter().string("ssh-ed25519").string(Buffer.alloc(32, 1)).toBuffer();
const blobB = new WireWriter().string("ssh-ed25519").string(Buffer.alloc(32, 2)).toBuffer();

function rawFrame(payload: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(payload.length);
  return Buffer.concat([header, payload]);
}

async function errorOf(p: Promise<unknown>): Promise<JumpgateError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(JumpgateError);
    return err as JumpgateError;
  }
  throw new Error("expected a rejection");
}

describe("AgentClient", () => {
  it("lists identities with their comments", async () => {
    const agent = await fakeAgent(() =>
      encodeMessage({
        type: "identitiesAnswer",
        identities: [
          { blob: blobA, comment: "alice@laptop" },
          { blob: blobB, comment: "" },
        ],
      }),
    );
    const client = await connect(agent.path);
    const ids = await client.list();
    expect(ids).toHaveLength(2);
    expect(ids[0]!.blob.equals(blobA)).toBe(true);
    expect(ids[0]!.comment).toBe("alice@laptop");
    expect(ids[1]!.comment).toBe("");
    expect(agent.received).toEqual([{ type: "requestIdentities" }]);
  });

  it("sends one request at a time and matches answers in order", async () => {
    let n = 0;
    const agent = await fakeAgent(async () => {
      n++;
      const mine = n;
      // The first answer is slow: a client that pipelined would have sent request 2 before it.
      if (mine === 1) await new Promise((r) => setTimeout(r, 80));
      return encodeMessage({
        type: "identitiesAnswer",
        identities: [{ blob: blobA, comment: `answer ${mine}` }],
      });
    });
    const client = await connect(agent.path);
    const [a, b, c] = await Promise.all([client.list(), client.list(), client.list()]);
    expect([a[0]!.comment, b[0]!.comment, c[0]!.comment]).toEqual(["answer 1", "answer 2", "answer 3"]);
    expect(agent.timeline.map((t) => t.event)).toEqual([
      "request",
      "answer",
      "request",
      "answer",
      "request",
      "answer",
    ]);
  });

  it("keeps going after a refused request in the queue", async () => {
    let n = 0;
    const agent = await fakeAgent(() => (++n === 1 ? failure : ok));
    const client = await connect(agent.path);
    const first = client.removeAll();
    const second = client.removeAll();
    expect((await errorOf(first)).code).toBe("JG_AGENT_REFUSED");
    await expect(second).resolves.toBeUndefined();
  });

  it("adds a key with ADD_IDENTITY, or ADD_ID_CONSTRAINED with a lifetime and confirmation", async () => {
    const agent = await fakeAgent(() => ok);
    const client = await connect(agent.path);
    const seed = Buffer.alloc(32, 7);
    const pub = Buffer.alloc(32, 9);
    const key: AgentPrivateKey = {
      type: "ssh-ed25519",
      publicKey: pub,
      privateKey: Buffer.concat([seed, pub]),
    };
    await client.add(key, "plain");
    await client.add(key, "timed", { lifetime: 90, confirm: true });
    await client.add(key, "confirm only", { confirm: true });
    expect(agent.received[0]).toEqual({ type: "addIdentity", key, comment: "plain" });
    expect(agent.received[1]).toEqual({
      type: "addIdentity",
      key,
      comment: "timed",
      constraints: { lifetime: 90, confirm: true },
    });
    expect(agent.received[2]).toEqual({
      type: "addIdentity",
      key,
      comment: "confirm only",
      constraints: { confirm: true },
    });
  });

  it("encodes remove, remove all, lock and unlock", async () => {
    const agent = await fakeAgent(() => ok);
    const client = await connect(agent.path);
    await client.remove(blobA);
    await client.removeAll();
    await client.lock("hunter2");
    await client.unlock(Buffer.from("hunter2"));
    expect(agent.received).toEqual([
      { type: "removeIdentity", keyBlob: blobA },
      { type: "removeAllIdentities" },
      { type: "lock", passphrase: Buffer.from("hunter2") },
      { type: "unlock", passphrase: Buffer.from("hunter2") },
    ]);
  });

  it("signs, passing the flags through", async () => {
    const signature = new WireWriter().string("rsa-sha2-512").string(Buffer.alloc(8, 3)).toBuffer();
    const agent = await fakeAgent(() => encodeMessage({ type: "signResponse", signature }));
    const client = await connect(agent.path);
    const out = await client.sign(blobA, Buffer.from("data"), 4);
    expect(out.equals(signature)).toBe(true);
    expect(agent.received).toEqual([
      { type: "signRequest", keyBlob: blobA, data: Buffer.from("data"), flags: 4 },
    ]);
  });

  it("reports a refusal as JG_AGENT_REFUSED with ssh-add's words", async () => {
    const agent = await fakeAgent(() => failure);
    const client = await connect(agent.path);
    const err = await errorOf(client.unlock("wrong"));
    expect(err.code).toBe("JG_AGENT_REFUSED");
    expect(err.message).toBe("agent refused operation");
    expect(err.exitCode).toBe(1);
  });

  it("treats an answer of the wrong type as a protocol error", async () => {
    const agent = await fakeAgent(() => ok);
    const client = await connect(agent.path);
    expect((await errorOf(client.list())).code).toBe("JG_AGENT_PROTOCOL");
  });

  it("reads the query extension's list, and null from an agent without it", async () => {
    const body = new WireWriter().string("query").string("session-bind@openssh.com").toBuffer();
    let n = 0;
    const agent = await fakeAgent((msg) => {
      expect(msg).toEqual({ type: "extension", name: "query", contents: Buffer.alloc(0) });
      return ++n === 1 ? encodeMessage({ type: "success", body }) : failure;
    });
    const client = await connect(agent.path);
    expect(await client.query()).toEqual(["session-bind@openssh.com"]);
    expect(await client.query()).toBeNull();
  });

  it("says there is no agent (exit 2) when the socket does not exist", async () => {
    const err = await errorOf(AgentClient.connect(join(dir, "missing.sock")));
    expect(err.code).toBe("JG_AGENT_UNAVAILABLE");
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/^Could not open a connection to your authentication agent\./);
  });

  it("says there is no agent when SSH_AUTH_SOCK is unset", async () => {
    for (const path of [undefined, ""]) {
      const err = await errorOf(AgentClient.connect(path));
      expect(err.code).toBe("JG_AGENT_UNAVAILABLE");
      expect(err.exitCode).toBe(2);
    }
  });

  it("refuses an answer over 256 KiB from its header, and fails later requests too", async () => {
    const agent = await fakeAgent(() => {
      const header = Buffer.alloc(5);
      header.writeUInt32BE(MAX_FRAME_BYTES + 1);
      header[4] = 12;
      return header; // only the header: the client must not wait for (or buffer) the rest
    });
    const client = await connect(agent.path);
    expect((await errorOf(client.list())).code).toBe("JG_AGENT_FRAME_TOO_LARGE");
    expect((await errorOf(client.list())).code).toBe("JG_AGENT_FRAME_TOO_LARGE");
  });

  it("accepts an answer of exactly 256 KiB", async () => {
    // type + count + blob string + comment string = MAX_FRAME_BYTES.
    const fixed = 1 + 4 + 4 + blobA.length + 4;
    const comment = "c".repeat(MAX_FRAME_BYTES - fixed);
    const payload = new WireWriter().byte(12).uint32(1).string(blobA).string(comment).toBuffer();
    expect(payload.length).toBe(MAX_FRAME_BYTES);
    const agent = await fakeAgent(() => rawFrame(payload));
    const client = await connect(agent.path);
    const ids = await client.list();
    expect(ids[0]!.comment.length).toBe(comment.length);
  });

  it("honours a smaller cap when asked", async () => {
    const agent = await fakeAgent(() =>
      encodeMessage({ type: "identitiesAnswer", identities: [{ blob: blobA, comment: "x".repeat(200) }] }),
    );
    const client = await AgentClient.connect(agent.path, { maxResponseBytes: 100 });
    clients.push(client);
    expect((await errorOf(client.list())).code).toBe("JG_AGENT_FRAME_TOO_LARGE");
  });

  it("fails the request in flight when the agent hangs up", async () => {
    const agent = await fakeAgent((_msg, socket) => {
      socket.destroy();
      return null;
    });
    const client = await connect(agent.path);
    expect((await errorOf(client.list())).code).toBe("JG_AGENT_SOCKET");
  });

  it("gets answers split across many small writes", async () => {
    const agent = await fakeAgent((_msg, socket) => {
      const frame = encodeMessage({
        type: "identitiesAnswer",
        identities: [{ blob: blobA, comment: "split" }],
      });
      for (const byte of frame) socket.write(Buffer.from([byte]));
      return null;
    });
    const client = await connect(agent.path);
    expect((await client.list())[0]!.comment).toBe("split");
  });

  it("rejects requests after close()", async () => {
    const agent = await fakeAgent(() => ok);
    const client = await connect(agent.path);
    client.close();
    expect((await errorOf(client.removeAll())).code).toBe("JG_AGENT_SOCKET");
  });
});
