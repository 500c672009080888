/**
 * A client for any ssh-agent (OpenSSH's, jumpgate's): one Unix socket, one request in flight at a
 * time (the protocol has no request ids, so answers are matched by order), and a 256 KiB cap on
 * answers like OpenSSH's AGENT_MAX_LEN (the frame header is checked before anything is buffered).
 *
 * Outcomes: an answer the agent refused is a JumpgateError JG_AGENT_REFUSED; no agent to talk to is
 * JG_AGENT_UNAVAILABLE (exit 2, as ssh-add); a broken or oversized answer is JG_AGENT_PROTOCOL /
 * JG_AGENT_FRAME_TOO_LARGE, after which the connection is closed (the stream cannot be resynced).
 */
import { createConnection, type Socket } from "node:net";
import { JumpgateError } from "../errors.js";
import {
  type AgentMessage,
  type AgentPrivateKey,
  type Constraints,
  type DestConstraint,
  decodeMessage,
  encodeMessage,
  FrameDecoder,
  type Identity,
  MAX_FRAME_BYTES,
} from "./protocol.js";

export interface AddOptions {
  /** Seconds; the agent forgets the key after that. */
  lifetime?: number;
  /** The agent asks the user before each use of the key. */
  confirm?: boolean;
  /** `ssh-add -h`: the hops the key may be used on (restrict-destination-v00@openssh.com). */
  destinations?: DestConstraint[];
}

export interface AgentClientOptions {
  /** Largest answer accepted (default and maximum: 256 KiB). */
  maxResponseBytes?: number;
}

/** ssh-add's wording, used whether SSH_AUTH_SOCK is unset or names nothing that answers. */
export const NO_AGENT_MESSAGE = "Could not open a connection to your authentication agent.";

interface Pending {
  resolve: (msg: AgentMessage) => void;
  reject: (err: Error) => void;
}

export class AgentClient {
  private readonly decoder: FrameDecoder;
  private queue: Promise<unknown> = Promise.resolve();
  private pending: Pending | null = null;
  private failure: Error | null = null;

  private constructor(
    private readonly socket: Socket,
    opts: AgentClientOptions,
  ) {
    this.decoder = new FrameDecoder(Math.min(opts.maxResponseBytes ?? MAX_FRAME_BYTES, MAX_FRAME_BYTES));
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (err) => this.fail(agentGone(err.message, err)));
    socket.on("close", () => this.fail(agentGone("the agent closed the connection")));
  }

  /** Connects to the agent's socket; JG_AGENT_UNAVAILABLE (exit 2) when there is none. */
  static connect(socketPath: string | undefined, opts: AgentClientOptions = {}): Promise<AgentClient> {
    if (socketPath === undefined || socketPath === "") {
      return Promise.reject(
        new JumpgateError(
          "JG_AGENT_UNAVAILABLE",
          `${NO_AGENT_MESSAGE} (SSH_AUTH_SOCK is not set: start one with 'eval $(ssh-agent)'.)`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const socket = createConnection({ path: socketPath });
      const onError = (err: NodeJS.ErrnoException): void => {
        socket.destroy();
        reject(
          new JumpgateError(
            "JG_AGENT_UNAVAILABLE",
            `${NO_AGENT_MESSAGE} (${socketPath}: ${err.code ?? err.message}; is SSH_AUTH_SOCK current?)`,
            { cause: err },
          ),
        );
      };
      socket.once("error", onError);
      socket.once("connect", () => {
        socket.off("error", onError);
        resolve(new AgentClient(socket, opts));
      });
    });
  }

  /** REQUEST_IDENTITIES: the agent's public keys and their comments. */
  async list(): Promise<Identity[]> {
    const answer = await this.request({ type: "requestIdentities" });
    if (answer.type === "identitiesAnswer") return answer.identities;
    throw unexpected("identities", answer);
  }

  /** SIGN_REQUEST: the signature blob (string type + string signature). */
  async sign(blob: Buffer, data: Buffer, flags = 0): Promise<Buffer> {
    const answer = await this.request({ type: "signRequest", keyBlob: blob, data, flags });
    if (answer.type === "signResponse") return answer.signature;
    throw unexpected("sign", answer);
  }

  /** ADD_IDENTITY, or ADD_ID_CONSTRAINED with a lifetime or confirmation. */
  async add(key: AgentPrivateKey, comment: string, opts: AddOptions = {}): Promise<void> {
    const constraints: Constraints = {};
    if (opts.lifetime !== undefined) constraints.lifetime = opts.lifetime;
    if (opts.confirm) constraints.confirm = true;
    const restricted = opts.destinations !== undefined && opts.destinations.length > 0;
    if (restricted) constraints.destinations = opts.destinations;
    const constrained = opts.lifetime !== undefined || opts.confirm === true || restricted;
    const msg: AgentMessage = constrained
      ? { type: "addIdentity", key, comment, constraints }
      : { type: "addIdentity", key, comment };
    await this.simple("add", msg);
  }

  remove(blob: Buffer): Promise<void> {
    return this.simple("remove", { type: "removeIdentity", keyBlob: blob });
  }

  removeAll(): Promise<void> {
    return this.simple("remove all", { type: "removeAllIdentities" });
  }

  lock(passphrase: string | Buffer): Promise<void> {
    return this.simple("lock", { type: "lock", passphrase: Buffer.from(passphrase) });
  }

  unlock(passphrase: string | Buffer): Promise<void> {
    return this.simple("unlock", { type: "unlock", passphrase: Buffer.from(passphrase) });
  }

  /**
   * The "query" extension (draft-miller-ssh-agent): the extension names the agent supports, or
   * null when it does not implement the extension (OpenSSH's ssh-agent does not).
   */
  async query(): Promise<string[] | null> {
    const answer = await this.request({ type: "extension", name: "query", contents: Buffer.alloc(0) });
    if (answer.type === "failure" || answer.type === "extensionFailure") return null;
    if (answer.type !== "success") throw unexpected("query", answer);
    const body = answer.body ?? Buffer.alloc(0);
    const names: string[] = [];
    let pos = 0;
    // The answer is `string "query"` followed by a list of strings, or (some agents) just the list.
    while (pos + 4 <= body.length) {
      const len = body.readUInt32BE(pos);
      if (pos + 4 + len > body.length) throw protocolError("query answer is truncated");
      names.push(body.subarray(pos + 4, pos + 4 + len).toString("utf8"));
      pos += 4 + len;
    }
    if (pos !== body.length) throw protocolError("query answer has trailing bytes");
    if (names[0] === "query" && names.length > 0) names.shift();
    return names;
  }

  close(): void {
    this.fail(agentGone("the client closed the connection"));
    this.socket.destroy();
  }

  private async simple(what: string, msg: AgentMessage): Promise<void> {
    const answer = await this.request(msg);
    if (answer.type === "success") return;
    throw unexpected(what, answer);
  }

  /** Sends one request after every earlier one got its answer. */
  request(msg: AgentMessage): Promise<AgentMessage> {
    const run = (): Promise<AgentMessage> =>
      new Promise<AgentMessage>((resolve, reject) => {
        if (this.failure) {
          reject(this.failure);
          return;
        }
        let frame: Buffer;
        try {
          frame = encodeMessage(msg);
        } catch (err) {
          reject(err as Error);
          return;
        }
        this.pending = { resolve, reject };
        this.socket.write(frame);
      });
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private onData(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.fail(err as Error);
      this.socket.destroy();
      return;
    }
    for (const frame of frames) {
      const pending = this.pending;
      this.pending = null;
      if (pending === null) {
        this.fail(protocolError("the agent sent an answer nobody asked for"));
        this.socket.destroy();
        return;
      }
      try {
        pending.resolve(decodeMessage(frame));
      } catch (err) {
        pending.reject(err as Error);
      }
    }
  }

  private fail(err: Error): void {
    if (this.failure === null) this.failure = err;
    const pending = this.pending;
    this.pending = null;
    pending?.reject(err);
  }
}

function agentGone(detail: string, cause?: unknown): JumpgateError {
  return new JumpgateError("JG_AGENT_SOCKET", `Lost the connection to the agent: ${detail}.`, { cause });
}

function protocolError(detail: string): JumpgateError {
  return new JumpgateError("JG_AGENT_PROTOCOL", `The agent's answer is malformed: ${detail}.`);
}

/** ssh-add says "agent refused operation" for SSH_AGENT_FAILURE; anything else is a protocol error. */
function unexpected(what: string, answer: AgentMessage): JumpgateError {
  if (answer.type === "failure" || answer.type === "extensionFailure") {
    return new JumpgateError("JG_AGENT_REFUSED", "agent refused operation");
  }
  return protocolError(`expected an answer to ${what}, got ${answer.type}`);
}
