/**
 * One SSH connection (an ssh2 Client) behind a small promise API. ssh2 callbacks and error strings
 * are translated here into JumpgateErrors with codes, so nothing above this file sees ssh2 events.
 */

import type { Duplex } from "node:stream";
import {
  type Algorithms,
  type AuthHandlerMiddleware,
  Client,
  type ClientChannel,
  type PseudoTtyOptions,
} from "ssh2";
import { JumpgateError } from "../errors.js";
import type { Logger } from "../util/log.js";
import { type AckNudge, startAckNudge } from "./acknudge.js";
import type { Ssh2Algorithms } from "./algorithms.js";

/** ssh2's authHandler callback, as auth.ts builds it. */
export type AuthHandler = AuthHandlerMiddleware;

/** How a session channel ended: the remote exit status, or the signal that killed the command. */
export interface ChannelOutcome {
  code: number | null;
  signal: string | null;
}

export interface RunningChannel {
  channel: ClientChannel;
  /** Settles when the channel closes. */
  done: Promise<ChannelOutcome>;
}

export interface HostKey {
  type: string;
  blob: Buffer;
}

export interface SessionOptions {
  sock: Duplex;
  username: string;
  hopName: string;
  algorithms: Ssh2Algorithms;
  /** Seconds between keepalives (ServerAliveInterval); 0 disables. */
  keepaliveInterval: number;
  keepaliveCountMax: number;
  /** Seconds for the whole handshake (ConnectTimeout covers it too, as with OpenSSH). */
  readyTimeout: number;
  verifyHostKey(key: HostKey): Promise<void>;
  auth: {
    handler: AuthHandler;
    failure(): JumpgateError;
    classifyError(error: unknown): "ignore" | "failed" | "other";
  };
  /** Agent socket for agent authentication and forwarding. */
  agent?: string;
  agentForward: boolean;
  /**
   * Rekey budget (RekeyLimit): ssh2 never rekeys on its own, so a long-lived tunnel would use one
   * key for ever. `bytes` counts both directions on the transport; `seconds` is the time limit.
   * 0 (or absent) means the default: 1 GiB (RFC 4253 section 9; within OpenSSH's "1G to 4G
   * depending on the cipher") and no time limit.
   */
  rekey?: { bytes: number; seconds: number };
  log: Logger;
}

/** Who connected to a remote forward (`-R`), as the server reports it. */
export interface IncomingTcp {
  kind: "tcp";
  /** The address and port the server listens on for this forward (port is the real one for 0). */
  destIP: string;
  destPort: number;
  srcIP: string;
  srcPort: number;
}

export interface IncomingUnix {
  kind: "unix";
  socketPath: string;
}

/** Accept (the channel) or refuse one connection the server forwards to us. */
export type IncomingHandler = (
  info: IncomingTcp | IncomingUnix,
  accept: () => ClientChannel,
  reject: () => void,
) => void;

/** RFC 4254 section 5.1 reason codes, as words for messages and stats. */
const OPEN_FAILURE_REASONS: Readonly<Record<number, string>> = {
  1: "administratively prohibited",
  2: "connect failed",
  3: "unknown channel type",
  4: "resource shortage",
};

/** The default rekey budget: one gibibyte each way combined (see SessionOptions.rekey). */
export const DEFAULT_REKEY_BYTES = 1024 ** 3;

/** The key type is the first string of the host key blob. */
export function hostKeyType(blob: Buffer): string {
  if (blob.length < 4) return "unknown";
  const length = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + length).toString("latin1");
}

export class SshSession {
  private closedReason: string | null = null;
  private readonly closeListeners: Array<(reason: string) => void> = [];
  private openChannels = 0;
  private readonly incomingTcp = new Map<string, IncomingHandler>();
  private readonly incomingUnix = new Map<string, IncomingHandler>();
  private rekeys = 0;
  private transportBytes = 0;
  private nudge: AckNudge | null = null;

  private constructor(
    readonly client: Client,
    readonly hopName: string,
  ) {
    // ssh2 emits these only for forwards it requested; one dispatcher per session routes each to
    // the tunnel that asked for it (several -R share one connection).
    client.on("tcp connection", (info, accept, reject) => {
      const handler = this.incomingTcp.get(`${info.destIP}:${info.destPort}`);
      if (handler === undefined) reject();
      else handler({ kind: "tcp", ...info }, () => this.track(accept()), reject);
    });
    client.on("unix connection", (info, accept, reject) => {
      const handler = this.incomingUnix.get(info.socketPath);
      if (handler === undefined) reject();
      else
        handler(
          { kind: "unix", socketPath: info.socketPath },
          // @types/ssh2 types this accept() as the base Channel; at run time it is a ClientChannel.
          () => this.track(accept() as unknown as ClientChannel),
          reject,
        );
    });
  }

  /** Performs the handshake, host key check and authentication over `sock`. */
  static open(opts: SessionOptions): Promise<SshSession> {
    const client = new Client();
    const session = new SshSession(client, opts.hopName);
    return new Promise((resolve, reject) => {
      let verifierError: unknown;
      let verifiedKey: Buffer | null = null;
      let settled = false;
      let bannerTimer: NodeJS.Timeout | null = null;
      const finish = (error?: unknown) => {
        if (settled) return;
        settled = true;
        if (bannerTimer) clearTimeout(bannerTimer);
        if (error === undefined) resolve(session);
        else {
          client.end();
          reject(error);
        }
      };
      client.on("ready", () => {
        session.startRekeyBudget(opts.sock, opts.rekey, opts.log);
        // Without it, every request/reply through a jump hop waits ~40 ms (see acknudge.ts).
        const nudge = startAckNudge(opts.sock, () => (client as unknown as { _protocol?: object })._protocol);
        session.nudge = nudge;
        session.onClose(() => nudge.stop());
        finish();
      });
      // OpenSSH's ConnectTimeout also covers the banner exchange: a server that accepts the TCP
      // connection but never speaks SSH must not hang us.
      const limit = Math.max(opts.readyTimeout, 0);
      if (limit > 0) {
        bannerTimer = setTimeout(() => {
          finish(
            new JumpgateError(
              "JG_CONNECT_TIMEOUT",
              `${opts.hopName}: no SSH handshake within ${limit}s (ConnectTimeout): the server did not answer as an SSH server.`,
            ),
          );
          opts.sock.destroy();
        }, limit * 1000);
      }
      client.once("handshake", () => {
        if (bannerTimer) clearTimeout(bannerTimer);
      });
      client.on("error", (error: Error & { level?: string }) => {
        if (!settled) {
          const kind = opts.auth.classifyError(error);
          // A key that could not be used after all: ssh2 goes on with the next method.
          if (kind === "ignore") return;
          finish(kind === "failed" ? opts.auth.failure() : translateError(error, verifierError, opts));
          return;
        }
        session.markClosed(describeFailure(error));
      });
      client.on("close", () => {
        if (!settled)
          finish(
            new JumpgateError(
              "JG_CONNECTION_LOST",
              `${opts.hopName}: connection closed during the handshake.`,
            ),
          );
        session.markClosed(session.closedReason ?? "connection closed by the server");
      });
      client.connect({
        sock: opts.sock,
        username: opts.username,
        // The names were checked against ssh2's own supported lists in algorithms.ts.
        algorithms: opts.algorithms as Algorithms,
        keepaliveInterval: opts.keepaliveInterval * 1000,
        keepaliveCountMax: opts.keepaliveCountMax,
        // Prompts (host key, passphrase, password) may take the user any time: no overall limit.
        // ConnectTimeout bounds the part before them, up to the key exchange (see below).
        readyTimeout: 0,
        ...(opts.agent ? { agent: opts.agent } : {}),
        agentForward: opts.agentForward && opts.agent !== undefined,
        // ssh2 calls this with the raw host key blob; the answer may come later (a prompt).
        hostVerifier: (blob: Buffer, verify: (valid: boolean) => void) => {
          // A re-exchange (rekey) presents the key again. Answer at once: while an asynchronous
          // answer is pending, ssh2 sends channel data in the middle of the key exchange (a
          // protocol violation sshd drops) and corrupts the stream. The key may not change.
          if (verifiedKey !== null) {
            verify(blob.equals(verifiedKey));
            return;
          }
          opts
            .verifyHostKey({ type: hostKeyType(blob), blob })
            .then(() => {
              verifiedKey = Buffer.from(blob);
              verify(true);
            })
            .catch((error: unknown) => {
              verifierError = error;
              verify(false);
            });
        },
        authHandler: opts.auth.handler,
        debug: opts.log.enabled("DEBUG3") ? (line: string) => opts.log.debug(line, "DEBUG3") : undefined,
      });
    });
  }

  get closed(): boolean {
    return this.closedReason !== null;
  }

  get reason(): string | null {
    return this.closedReason;
  }

  get channels(): number {
    return this.openChannels;
  }

  /** How many rekeys this session started on its budget (tests, `jumpgate doctor`-style stats). */
  get rekeyCount(): number {
    return this.rekeys;
  }

  /** SSH_MSG_IGNORE packets sent to hurry a Nagle-bound server's ACK (see acknudge.ts). */
  get ackNudges(): number {
    return this.nudge?.sent ?? 0;
  }

  /** Bytes on the transport (both directions, encrypted) since the last rekey. */
  get bytesSinceRekey(): number {
    return this.transportBytes;
  }

  /**
   * Counts the transport's bytes and asks ssh2 for a new key exchange when the budget is spent.
   * ssh2 has no public rekey(); its Protocol object has one (used by its own server side), which
   * is what OpenSSH does on RekeyLimit: a KEXINIT mid-stream, channels carry on.
   */
  private startRekeyBudget(sock: Duplex, budget: SessionOptions["rekey"], log: Logger): void {
    const limit = budget && budget.bytes > 0 ? budget.bytes : DEFAULT_REKEY_BYTES;
    const seconds = budget?.seconds ?? 0;
    let pending = false;
    const rekey = (why: string) => {
      pending = false;
      const protocol = (this.client as unknown as { _protocol?: { rekey?: () => void } })._protocol;
      if (this.closed || typeof protocol?.rekey !== "function") return;
      this.transportBytes = 0;
      this.rekeys++;
      log.debug(`${this.hopName}: rekeying (${why}).`);
      protocol.rekey();
    };
    const count = (n: number) => {
      this.transportBytes += n;
      if (this.transportBytes < limit || pending) return;
      // Never from inside a write: KEXINIT would overtake the packet being written (already
      // encrypted with the previous sequence number) and the server would read garbage.
      pending = true;
      process.nextTick(() => rekey(`RekeyLimit ${limit} bytes reached`));
    };
    // Attached after the handshake: ssh2 has its own 'data' listener by then, so observing does
    // not change the stream's flow. ssh2 writes through sock.write, looked up at each call.
    sock.on("data", (chunk: Buffer) => count(chunk.length));
    const write = sock.write.bind(sock) as (chunk: Buffer, ...rest: unknown[]) => boolean;
    // ssh2 writes each packet on its own; corking until the end of the tick turns the packets
    // one event produces (data for several channels, window adjusts) into one writev.
    let corked = false;
    const uncork = () => {
      corked = false;
      sock.uncork();
    };
    (sock as { write: (chunk: Buffer, ...rest: unknown[]) => boolean }).write = (chunk, ...rest) => {
      if (!corked) {
        corked = true;
        sock.cork();
        process.nextTick(uncork);
      }
      const result = write(chunk, ...rest);
      count(chunk.length);
      return result;
    };
    if (seconds > 0) {
      const timer = setInterval(() => rekey(`RekeyLimit interval ${seconds}s`), seconds * 1000);
      timer.unref();
      this.onClose(() => clearInterval(timer));
    }
  }

  onClose(listener: (reason: string) => void): void {
    if (this.closedReason !== null) listener(this.closedReason);
    else this.closeListeners.push(listener);
  }

  /** Ends the connection; `reason` is what listeners (and the dashboard) are told. */
  close(reason = "closed by jumpgate"): void {
    if (this.closedReason === null) this.closedReason = reason;
    this.client.end();
    // A peer that does not answer our disconnect must not keep the process alive.
    setTimeout(() => this.client.destroy(), 2000).unref();
  }

  private markClosed(reason: string): void {
    if (this.closedReason !== null && this.closeListeners.length === 0) return;
    this.closedReason ??= reason;
    const listeners = this.closeListeners.splice(0);
    for (const listener of listeners) listener(this.closedReason);
  }

  private track(channel: ClientChannel): ClientChannel {
    this.openChannels++;
    channel.once("close", () => {
      this.openChannels--;
    });
    return channel;
  }

  /**
   * A session channel (exec or shell) with its outcome captured from the start: through a jump
   * hop, success, output, exit status and close can arrive in one read, before any code awaiting
   * the channel runs, so listeners attached later would miss them.
   */
  private running(channel: ClientChannel): RunningChannel {
    let code: number | null = null;
    let signal: string | null = null;
    channel.on("exit", (exitCode: number | null, exitSignal?: string) => {
      if (typeof exitCode === "number") code = exitCode;
      if (exitSignal) signal = exitSignal;
    });
    const done = new Promise<ChannelOutcome>((resolve) => {
      channel.once("close", () => resolve({ code, signal }));
    });
    return { channel: this.track(channel), done };
  }

  /**
   * A direct-tcpip channel to host:port as seen from this server. `origin` is the address of the
   * client the channel is for (OpenSSH reports it in the server's log); a loopback placeholder
   * when there is none.
   */
  forwardOut(
    host: string,
    port: number,
    origin: { address: string; port: number } = { address: "127.0.0.1", port: 0 },
  ): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      const done = (error: Error | undefined, channel: ClientChannel) => {
        if (error) reject(this.openFailure(`${host}:${port}`, error));
        else resolve(this.track(channel));
      };
      try {
        this.client.forwardOut(origin.address, origin.port, host, port, done);
      } catch (error) {
        reject(this.openFailure(`${host}:${port}`, error as Error));
      }
    });
  }

  /** A direct-streamlocal@openssh.com channel to a Unix socket on the server. */
  forwardOutStreamLocal(socketPath: string): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      const done = (error: Error | undefined, channel: ClientChannel) => {
        if (error) reject(this.openFailure(socketPath, error));
        else resolve(this.track(channel));
      };
      try {
        this.client.openssh_forwardOutStreamLocal(socketPath, done);
      } catch (error) {
        reject(this.openFailure(socketPath, error as Error));
      }
    });
  }

  /** The error for a channel the server would not open, with RFC 4254's reason in words. */
  private openFailure(target: string, error: Error & { reason?: number | string }): JumpgateError {
    const reason = typeof error.reason === "number" ? OPEN_FAILURE_REASONS[error.reason] : undefined;
    const detail = reason && !error.message.includes(reason) ? `${error.message} (${reason})` : error.message;
    return new JumpgateError(
      "JG_CHANNEL_OPEN",
      `${this.hopName}: open channel to ${target} failed: ${detail}`,
      {
        cause: error,
      },
    );
  }

  /**
   * Asks the server to listen on bindAddr:port (tcpip-forward) and send us what connects there.
   * Resolves with the port the server bound (the allocated one for port 0).
   */
  forwardIn(bindAddr: string, port: number, handler: IncomingHandler): Promise<number> {
    return new Promise((resolve, reject) => {
      const refused = (error: Error) =>
        new JumpgateError(
          "JG_FORWARD_REMOTE",
          `${this.hopName}: the server refused to listen on ${bindAddr === "" ? "*" : bindAddr}:${port} (remote port forwarding failed: ${error.message}). Check sshd's AllowTcpForwarding/PermitListen and that the port is free there.`,
          { cause: error },
        );
      try {
        this.client.forwardIn(bindAddr, port, (error, bound) => {
          if (error) {
            reject(refused(error));
            return;
          }
          this.incomingTcp.set(`${bindAddr}:${bound}`, handler);
          resolve(bound);
        });
      } catch (error) {
        reject(refused(error as Error));
      }
    });
  }

  /** Cancels a forwardIn(); `port` is the bound port forwardIn() resolved with. */
  unforwardIn(bindAddr: string, port: number, requestedPort = port): Promise<void> {
    this.incomingTcp.delete(`${bindAddr}:${port}`);
    return new Promise((resolve) => {
      if (this.closed) {
        resolve();
        return;
      }
      try {
        // OpenSSH's server matches the cancel on the port it bound, also for a dynamic one.
        this.client.unforwardIn(bindAddr, requestedPort === 0 ? port : requestedPort, () => resolve());
        // A server that never answers (it is closing) must not hold up our exit.
        setTimeout(resolve, 2000).unref();
      } catch {
        resolve();
      }
    });
  }

  /** streamlocal-forward@openssh.com: the server listens on a Unix socket path for us. */
  forwardInStreamLocal(socketPath: string, handler: IncomingHandler): Promise<void> {
    return new Promise((resolve, reject) => {
      const refused = (error: Error) =>
        new JumpgateError(
          "JG_FORWARD_REMOTE",
          `${this.hopName}: the server refused to listen on ${socketPath} (remote forwarding failed: ${error.message}). Check sshd's AllowStreamLocalForwarding and that the path is free (StreamLocalBindUnlink on the server).`,
          { cause: error },
        );
      try {
        this.client.openssh_forwardInStreamLocal(socketPath, (error) => {
          if (error) {
            reject(refused(error));
            return;
          }
          this.incomingUnix.set(socketPath, handler);
          resolve();
        });
      } catch (error) {
        reject(refused(error as Error));
      }
    });
  }

  unforwardInStreamLocal(socketPath: string): Promise<void> {
    this.incomingUnix.delete(socketPath);
    return new Promise((resolve) => {
      if (this.closed) {
        resolve();
        return;
      }
      try {
        this.client.openssh_unforwardInStreamLocal(socketPath, () => resolve());
        setTimeout(resolve, 2000).unref();
      } catch {
        resolve();
      }
    });
  }

  exec(
    command: string,
    opts: { pty?: PseudoTtyOptions | false; env?: Record<string, string> } = {},
  ): Promise<RunningChannel> {
    return new Promise((resolve, reject) => {
      const execOptions = { ...(opts.pty ? { pty: opts.pty } : {}), ...(opts.env ? { env: opts.env } : {}) };
      this.client.exec(command, execOptions, (error, channel) => {
        if (error)
          reject(
            new JumpgateError("JG_CHANNEL_OPEN", `${this.hopName}: exec request failed: ${error.message}`, {
              cause: error,
            }),
          );
        else resolve(this.running(channel));
      });
    });
  }

  shell(opts: { pty: PseudoTtyOptions | false; env?: Record<string, string> }): Promise<RunningChannel> {
    return new Promise((resolve, reject) => {
      const callback = (error: Error | undefined, channel: ClientChannel) => {
        if (error)
          reject(
            new JumpgateError("JG_CHANNEL_OPEN", `${this.hopName}: shell request failed: ${error.message}`, {
              cause: error,
            }),
          );
        else resolve(this.running(channel));
      };
      const env = opts.env ? { env: opts.env } : {};
      if (opts.pty === false) this.client.shell(false, env, callback);
      else this.client.shell(opts.pty, env, callback);
    });
  }

  /**
   * An SFTP session (the "sftp" subsystem) for transfer/. ssh2 resolves it after the version
   * exchange and the limits@openssh.com request, so its read/write sizes already follow the server.
   * The caller ends it with `end()`.
   */
  sftp(): Promise<import("ssh2").SFTPWrapper> {
    return new Promise((resolve, reject) => {
      this.client.sftp((error, sftp) => {
        if (error)
          reject(
            new JumpgateError(
              "JG_CHANNEL_OPEN",
              `${this.hopName}: SFTP subsystem request failed: ${error.message}`,
              { cause: error },
            ),
          );
        else {
          this.openChannels++;
          sftp.once("close", () => {
            this.openChannels--;
          });
          resolve(sftp);
        }
      });
    });
  }
}

function describeFailure(error: Error & { level?: string }): string {
  if (/keepalive/i.test(error.message))
    return "the server stopped answering keepalives (ServerAliveInterval/ServerAliveCountMax)";
  return error.message;
}

/** Maps ssh2's handshake errors onto jumpgate's codes and messages. */
function translateError(
  error: Error & { level?: string },
  verifierError: unknown,
  opts: SessionOptions,
): unknown {
  if (verifierError !== undefined) return verifierError;
  if (error.level === "client-authentication") return opts.auth.failure();
  if (/Timed out while waiting for handshake/i.test(error.message)) {
    return new JumpgateError(
      "JG_CONNECT_TIMEOUT",
      `${opts.hopName}: the SSH handshake timed out (ConnectTimeout).`,
      { cause: error },
    );
  }
  if (/no matching/i.test(error.message) || error.level === "handshake") {
    return new JumpgateError(
      "JG_ALGORITHM_UNSUPPORTED",
      `${opts.hopName}: no common algorithm with the server: ${error.message}. Adjust Ciphers/MACs/KexAlgorithms/HostKeyAlgorithms.`,
      { cause: error },
    );
  }
  return new JumpgateError("JG_CONNECTION_LOST", `${opts.hopName}: ${error.message}`, { cause: error });
}
