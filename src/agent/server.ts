/**
 * Serving the agent protocol: one client connection (`serveAgent`) and a Unix socket
 * (`listenAgent`) that OpenSSH's ssh and ssh-add accept as $SSH_AUTH_SOCK.
 *
 * Requests on one connection are answered strictly in order. A frame larger than 256 KiB, a zero
 * length, or a malformed body closes that client only; other clients and the listener go on.
 */
import { chmodSync, mkdtempSync, rmdirSync, unlinkSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import os from "node:os";
import path from "node:path";
import type { Duplex } from "node:stream";
import { JumpgateError } from "../errors.js";
import { AgentConnection } from "./destination.js";
import type { AgentBackend } from "./keyring.js";
import {
  type AgentMessage,
  decodeMessage,
  encodeMessage,
  FrameDecoder,
  MAX_FRAME_BYTES,
} from "./protocol.js";

/** Requests decoded but not yet answered on one connection before we stop reading from it. */
const MAX_PENDING = 16;

/**
 * Answers one request received on `conn` (the client connection: its session binds decide what
 * destination-constrained keys it sees). Expected failures become FAILURE.
 */
export async function handleRequest(
  backend: AgentBackend,
  msg: AgentMessage,
  conn: AgentConnection = new AgentConnection(),
): Promise<AgentMessage> {
  try {
    switch (msg.type) {
      case "requestIdentities":
        return { type: "identitiesAnswer", identities: await backend.list(conn) };
      case "signRequest":
        return {
          type: "signResponse",
          signature: await backend.sign(msg.keyBlob, msg.data, msg.flags, conn),
        };
      case "addIdentity":
        await backend.add(msg.key, msg.comment, msg.constraints, conn);
        return { type: "success" };
      case "removeIdentity":
        await backend.remove(msg.keyBlob, conn);
        return { type: "success" };
      case "removeAllIdentities":
        await backend.removeAll();
        return { type: "success" };
      case "lock":
        await backend.lock(msg.passphrase);
        return { type: "success" };
      case "unlock":
        await backend.unlock(msg.passphrase);
        return { type: "success" };
      case "extension": {
        const body = await backend.extension(msg.name, msg.contents, conn);
        return body.length > 0 ? { type: "success", body } : { type: "success" };
      }
      default:
        // Replies and unknown requests: OpenSSH answers SSH_AGENT_FAILURE.
        return { type: "failure" };
    }
  } catch {
    // Expected refusals are JumpgateErrors; anything unexpected from a backend still must not kill
    // the agent or leak details to the client. Either way the client sees SSH_AGENT_FAILURE.
    return { type: "failure" };
  }
}

export interface ServeOptions {
  /** Called when a client is dropped for a protocol violation (diagnostics; no key material). */
  onProtocolError?: (err: JumpgateError) => void;
}

/** Serves one client connection. Resolves when the connection is closed. */
export function serveAgent(backend: AgentBackend, duplex: Duplex, opts: ServeOptions = {}): Promise<void> {
  return new Promise((resolve) => {
    // Wipe consumed input and each handled request: ADD_IDENTITY carries private keys, LOCK and
    // UNLOCK passphrases. (node:crypto's KeyObjects keep their own copy, out of our reach.)
    const decoder = new FrameDecoder(MAX_FRAME_BYTES, { wipeConsumed: true });
    // This client's session binds, for destination constraints; they live as long as the connection.
    const conn = new AgentConnection();
    let queue: Promise<void> = Promise.resolve();
    let dead = false;
    let pending = 0;

    const drop = (err: unknown) => {
      if (dead) return;
      dead = true;
      if (err instanceof JumpgateError) opts.onProtocolError?.(err);
      duplex.destroy();
    };

    const answer = async (payload: Buffer): Promise<void> => {
      let msg: AgentMessage;
      try {
        msg = decodeMessage(payload);
      } catch (err) {
        // An unsupported key type, or constraints OpenSSH's agent refuses (unknown, repeated,
        // malformed), are answered with FAILURE, the client staying connected, as OpenSSH does.
        if (
          err instanceof JumpgateError &&
          (err.code === "JG_AGENT_UNSUPPORTED_KEY" || err.code === "JG_AGENT_CONSTRAINT")
        ) {
          if (!duplex.destroyed) duplex.write(encodeMessage({ type: "failure" }));
          return;
        }
        drop(err);
        return;
      }
      const reply = await handleRequest(backend, msg, conn);
      let frame: Buffer;
      try {
        frame = encodeMessage(reply);
      } catch {
        // A reply over 256 KiB (thousands of keys) is more than clients accept: refuse instead.
        frame = encodeMessage({ type: "failure" });
      }
      if (!dead && !duplex.destroyed) duplex.write(frame);
    };

    duplex.on("data", (chunk: Buffer) => {
      if (dead) return;
      let payloads: Buffer[];
      try {
        payloads = decoder.push(chunk);
      } catch (err) {
        drop(err);
        return;
      }
      for (const payload of payloads) {
        pending++;
        // A client that pipelines faster than we answer (e.g. while a confirm prompt is open) is
        // paused rather than buffered without bound.
        if (pending > MAX_PENDING) duplex.pause();
        queue = queue.then(async () => {
          try {
            if (!dead) await answer(payload);
          } catch (err) {
            drop(err); // never leave the chain rejected: later requests would go unanswered
          } finally {
            payload.fill(0);
            pending--;
            if (pending <= MAX_PENDING && !dead) duplex.resume();
          }
        });
      }
    });
    const finish = () => {
      dead = true;
      resolve();
    };
    duplex.on("error", () => {});
    duplex.on("close", finish);
    duplex.on("end", () => {
      // Answer what was already asked, then close our side.
      void queue.then(() => duplex.end());
    });
  });
}

export interface ListenAgentOptions {
  keyring: AgentBackend;
  /** Socket path; default a fresh 0700 directory `<tmpdir>/jumpgate-XXXXXX/agent.<pid>`. */
  path?: string;
  serve?: ServeOptions;
}

export interface AgentListener {
  path: string;
  close(): Promise<void>;
}

/**
 * Listens on a Unix socket. Node cannot read the peer's uid (no SO_PEERCRED / getpeereid in
 * node:net), so unlike OpenSSH's agent we cannot refuse other users per connection: we rely on the
 * directory being mode 0700 and the socket 0600 instead. With a caller-chosen `path`, the caller is
 * responsible for the directory's permissions.
 */
export async function listenAgent(opts: ListenAgentOptions): Promise<AgentListener> {
  let dir: string | undefined;
  let socketPath = opts.path;
  if (!socketPath) {
    dir = mkdtempSync(path.join(os.tmpdir(), "jumpgate-"));
    chmodSync(dir, 0o700);
    socketPath = path.join(dir, `agent.${process.pid}`);
  }
  const sockets = new Set<Socket>();
  // allowHalfOpen: a client that sends its requests and then shuts down its side still gets answers.
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    void serveAgent(opts.keyring, socket, opts.serve);
  });
  const finalPath = socketPath;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      // Create the socket with no group/other bits from the start, then make sure with chmod.
      // (process.umask cannot be set in worker threads; the chmod below still applies there.)
      let oldMask: number | undefined;
      try {
        oldMask = process.umask(0o177);
      } catch {
        oldMask = undefined;
      }
      try {
        server.listen(finalPath, () => {
          server.off("error", reject);
          resolve();
        });
      } finally {
        if (oldMask !== undefined) process.umask(oldMask);
      }
    });
    chmodSync(finalPath, 0o600);
  } catch (err) {
    server.close();
    if (dir) rmdirSync(dir);
    throw new JumpgateError("JG_AGENT_SOCKET", `cannot listen on ${finalPath}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  let closed: Promise<void> | undefined;
  return {
    path: finalPath,
    close() {
      closed ??= new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          try {
            unlinkSync(finalPath);
          } catch {
            // already gone
          }
          if (dir) {
            try {
              rmdirSync(dir);
            } catch {
              // not empty or gone
            }
          }
          resolve();
        });
      });
      return closed;
    },
  };
}
