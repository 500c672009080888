/**
 * One `jumpgate ssh` session run by the gate for a CLI: resolve as the CLI would, lease the route
 * from the shared manager (no handshake when it is already open), open an exec or shell channel
 * with a pty when the CLI's terminal calls for one, and carry its bytes as binary frames.
 * The CLI keeps the terminal (raw mode, escapes, resize); the gate keeps the connection.
 */
import type { Options } from "../config/options.js";
import type { ConnectionManager, Lease } from "../connection/manager.js";
import type { RunningChannel } from "../connection/session.js";
import { JumpgateError } from "../errors.js";
import { matchPattern } from "../util/patterns.js";
import {
  encodeData as dataFrame,
  encodeEof as eofFrame,
  encodeExit as exitFrame,
  MAX_DATA,
} from "./protocol.js";
import { type ClientRequestContext, checkContext, resolveForClient } from "./resolve.js";
import type { GateSecurity, RequestContext } from "./security.js";

export type TtyRequest = "auto" | "yes" | "force" | "no";

export interface SessionArgs extends ClientRequestContext {
  command: string[];
  tty: TtyRequest;
  noCommand: boolean;
  /** -e as typed, or null to use the config's EscapeChar. */
  escapeChar: string | null;
  stdinIsTTY: boolean;
  term: string;
  rows: number;
  cols: number;
}

/** The answer to a session request; stream frames follow under `stream`. */
export interface SessionResult {
  stream: number;
  pty: boolean;
  /** The escape character in effect (`~`, `^A`), or null for none; the CLI filters stdin. */
  escapeChar: string | null;
  escapeCommandLine: boolean;
  /** The destination's name, for "Connection to X closed." */
  host: string;
}

/** What a session needs from the client connection it belongs to. */
export interface SessionPeer {
  context: RequestContext;
  /** A line for the CLI's stderr. */
  message(text: string): void;
  /** Sends a frame; false when the socket is congested (the peer calls resumeOutput later). */
  send(frame: Buffer): boolean;
}

/** The gate's side of a running stream, driven by the client's frames. */
export interface GateStream {
  input(fd: number, data: Buffer): boolean;
  inputEnd(fd: number): void;
  window(rows: number, cols: number): void;
  /** The client abandoned the stream or went away: close the channel, release the lease. */
  abort(reason: string): void;
  pauseOutput(): void;
  resumeOutput(): void;
  /** Resolves when the stream is over (after its EXIT frame was sent, or after abort()). */
  readonly finished: Promise<void>;
  /** Called once with a callback for when the channel can take stdin again. */
  onInputDrain(listener: () => void): void;
}

export function checkSessionArgs(value: unknown): SessionArgs {
  const base = checkContext(value);
  const v = value as Partial<SessionArgs>;
  const tty = v.tty ?? "auto";
  if (!["auto", "yes", "force", "no"].includes(tty) || !Array.isArray(v.command)) {
    throw new JumpgateError("JG_GATE_PROTOCOL", "session request: bad tty or command.");
  }
  return {
    ...base,
    command: v.command.filter((w): w is string => typeof w === "string"),
    tty,
    noCommand: v.noCommand === true,
    escapeChar: typeof v.escapeChar === "string" ? v.escapeChar : null,
    stdinIsTTY: v.stdinIsTTY === true,
    term: typeof v.term === "string" && v.term !== "" ? v.term : "vt100",
    rows: typeof v.rows === "number" && v.rows > 0 ? v.rows : 24,
    cols: typeof v.cols === "number" && v.cols > 0 ? v.cols : 80,
  };
}

/** SetEnv pairs, then the client's variables that SendEnv names (the server's AcceptEnv decides). */
function sessionEnvironment(o: Options, local: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of o.setEnv) {
    const eq = pair.indexOf("=");
    if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  for (const [name, value] of Object.entries(local)) {
    if (name in env) continue;
    if (o.sendEnv.some((pattern) => matchPattern(name, pattern))) env[name] = value;
  }
  return env;
}

function ttyRequest(flag: TtyRequest, requestTty: number): TtyRequest {
  if (flag !== "auto") return flag;
  // RequestTTY: no=0 yes=1 force=2 auto=3 (config/options.ts REQUEST_TTY).
  return requestTty === 0 ? "no" : requestTty === 1 ? "yes" : requestTty === 2 ? "force" : "auto";
}

/** As ssh: a pty for an interactive shell on a terminal, or when asked (-t, -tt, RequestTTY). */
function wantPty(tty: TtyRequest, command: string, stdinIsTTY: boolean, peer: SessionPeer): boolean {
  switch (tty) {
    case "no":
      return false;
    case "force":
      return true;
    case "yes":
      if (!stdinIsTTY) peer.message("Pseudo-terminal will not be allocated because stdin is not a terminal.");
      return stdinIsTTY;
    default:
      return command === "" && stdinIsTTY;
  }
}

const EXIT_SSH = 255;

/**
 * Opens the session. Resolves once the channel is open, with the result for the CLI and a function
 * that starts the byte flow (called after the response is on the wire, so that it precedes data).
 */
export async function openSession(
  args: SessionArgs,
  streamId: number,
  deps: { manager: ConnectionManager; security: GateSecurity; peer: SessionPeer },
): Promise<{ result: SessionResult; stream: GateStream; start(): void }> {
  const { manager, security, peer } = deps;
  const { resolved, hops } = resolveForClient(args);
  for (const warning of resolved.warnings) peer.message(warning);
  security.tag(hops, peer.context);
  const o = resolved.options;
  // Forwards named in the config (LocalForward, RemoteForward, DynamicForward) belong to this
  // ssh's own lifetime: the CLI sets them up on a direct connection rather than losing them here.
  if (o.localForwards.length > 0 || o.remoteForwards.length > 0) {
    throw new JumpgateError(
      "JG_GATE_DIRECT",
      "the configuration sets up forwards for this destination: connecting directly.",
    );
  }
  const lease: Lease = await manager.acquire(hops);
  let running: RunningChannel;
  let pty: boolean;
  try {
    const commandLine = args.command.join(" ");
    const command = commandLine !== "" ? commandLine : (o.remoteCommand ?? "");
    pty = wantPty(ttyRequest(args.tty, o.requestTty), commandLine, args.stdinIsTTY, peer);
    const env = sessionEnvironment(o, args.env);
    const envOption = Object.keys(env).length > 0 ? { env } : {};
    const ptyOptions = pty
      ? { term: args.term, rows: args.rows, cols: args.cols, width: 0, height: 0 }
      : false;
    running =
      command !== ""
        ? await lease.session.exec(command, { pty: ptyOptions, ...envOption })
        : await lease.session.shell({ pty: ptyOptions, ...envOption });
  } catch (error) {
    lease.release();
    throw error;
  }
  const escapeChar = args.escapeChar ?? (o.escapeChar < 0 ? null : String.fromCharCode(o.escapeChar));
  const result: SessionResult = {
    stream: streamId,
    pty,
    escapeChar,
    escapeCommandLine: o.enableEscapeCommandline === 1,
    host: lease.session.hopName,
  };
  const stream = channelStream(streamId, running, lease, peer);
  return { result, stream: stream.stream, start: stream.start };
}

function channelStream(
  id: number,
  { channel, done }: RunningChannel,
  lease: Lease,
  peer: SessionPeer,
): { stream: GateStream; start(): void } {
  let over = false;
  let resolveFinished: () => void = () => {};
  const finished = new Promise<void>((r) => {
    resolveFinished = r;
  });
  /** Clients waiting for the channel to take input again (see onInputDrain). */
  const drainWaiters: Array<() => void> = [];
  const end = () => {
    if (over) return;
    over = true;
    lease.release();
    resolveFinished();
    for (const wake of drainWaiters.splice(0)) wake();
  };
  // Large chunks are split so that no frame nears MAX_FRAME. When the socket is full, the peer
  // pauses every stream of its client until it drains (send() returning false says so).
  const sendData = (fd: number, chunk: Buffer) => {
    for (let at = 0; at < chunk.length; at += MAX_DATA)
      peer.send(dataFrame(id, fd, chunk.subarray(at, at + MAX_DATA)));
  };
  const outputEnded = (readable: NodeJS.ReadableStream) =>
    new Promise<void>((resolve) => {
      readable.once("end", resolve);
      readable.once("close", resolve);
    });

  const stream: GateStream = {
    finished,
    input(fd, data) {
      if (over || fd !== 0) return true;
      return channel.write(data);
    },
    inputEnd(fd) {
      if (!over && fd === 0) channel.end();
    },
    window(rows, cols) {
      if (!over) channel.setWindow(rows, cols, 0, 0);
    },
    abort() {
      if (over) return;
      // The CLI is gone: its channel goes, the connection stays for everyone else. The command
      // sees end of input, as when an ssh client dies; sshd keeps the channel until it exits.
      if (channel.writable) channel.end();
      channel.close();
      end();
    },
    pauseOutput() {
      channel.pause();
      channel.stderr.pause();
    },
    resumeOutput() {
      channel.resume();
      channel.stderr.resume();
    },
    onInputDrain(listener) {
      // Also when the stream ends without the channel draining (the command exited without
      // reading its input, and ssh2 then never drains nor closes the channel): the client's
      // socket was paused for this channel and must be read again, or the gate would never see
      // that client's CLOSE, nor its end (a client kept forever).
      let called = false;
      const once = () => {
        if (called) return;
        called = true;
        channel.off("drain", once);
        const i = drainWaiters.indexOf(once);
        if (i >= 0) drainWaiters.splice(i, 1);
        listener();
      };
      if (over) return once();
      channel.once("drain", once);
      drainWaiters.push(once);
    },
  };
  const start = () => {
    channel.on("data", (chunk: Buffer) => sendData(1, chunk));
    channel.stderr.on("data", (chunk: Buffer) => sendData(2, chunk));
    const stdoutDone = outputEnded(channel).then(() => {
      if (!over) peer.send(eofFrame(id, 1));
    });
    const stderrDone = outputEnded(channel.stderr);
    let lostReason: string | null = null;
    lease.session.onClose((reason) => {
      lostReason = reason;
    });
    // The outcome was captured when the channel opened (through a jump it can come first); the
    // EXIT frame goes after the last byte of output.
    Promise.all([done, stdoutDone, stderrDone]).then(([{ code, signal }]) => {
      if (over) return;
      if (code === null && signal === null && lostReason !== null) {
        peer.message(`Connection to ${lease.session.hopName} closed: ${lostReason}.`);
        peer.send(exitFrame(id, EXIT_SSH, null));
      } else peer.send(exitFrame(id, code ?? (signal === null ? EXIT_SSH : null), signal));
      end();
    });
  };
  return { stream, start };
}
