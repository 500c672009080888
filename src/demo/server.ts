/**
 * One demo SSH host (jaguar or mcgonagall), built on ssh2's Server and kept deliberately small:
 *
 * - Authentication: public key only, for one user and one key. Everything else is refused, and
 *   the refusal advertises only "publickey" so no client ever falls back to a password prompt.
 * - Sessions: exec and shell run the built-in commands of commands.ts; a pty request is accepted
 *   and changes how output is written (see shell.ts). Nothing ever reaches a real shell.
 * - direct-tcpip (ssh -L, ssh -W, ProxyJump): `route` decides, per destination, which in-process
 *   handler gets the channel. Anything it does not know is refused as "administratively
 *   prohibited", as sshd does for a destination its PermitOpen does not allow.
 *
 * The ssh2 Server itself never listens. Connections come in through accept(): jaguar's are TCP
 * sockets from the lab's loopback listener, mcgonagall's are jaguar's forwarded channels. That one
 * door in makes the topology explicit: mcgonagall has no port, only jaguar can open it.
 */
import { timingSafeEqual } from "node:crypto";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import ssh2, {
  type AuthContext,
  type Connection,
  type ParsedKey,
  type PseudoTtyInfo,
  type RejectConnection,
  type ServerChannel,
  type Session,
} from "ssh2";
import { type CommandContext, runBuiltin } from "./commands.js";
import { FakeShell, ttyText } from "./shell.js";

// ssh2 is CommonJS and Node's ESM loader does not see `Server` as a named export; the default
// import is the whole module.exports object.
const { Server } = ssh2;

/** Where a direct-tcpip channel wants to go (RFC 4254 7.2: "host to connect", "port to connect"). */
export interface Destination {
  host: string;
  port: number;
}

/** Takes over an accepted channel, e.g. "speak SSH on it as mcgonagall" or "be the service". */
export type ChannelHandler = (channel: ServerChannel) => void;

export interface DemoServerOptions {
  /** Printed by `hostname` and used in log lines. */
  name: string;
  /** The host's private key (OpenSSH format). */
  hostKey: string;
  /** The one user name that may log in. */
  user: string;
  /** The one public key that may log in. */
  userKey: ParsedKey;
  /** Handler for a direct-tcpip destination, or undefined to refuse it. */
  route(dest: Destination): ChannelHandler | undefined;
  /** Diagnostics (refused logins and forwards, connection errors); silent when absent. */
  log?: (line: string) => void;
}

export interface DemoServer {
  readonly name: string;
  /** Runs the SSH server side on an already-connected byte stream. */
  accept(stream: Duplex): void;
  /** SSH connections that passed authentication since start. */
  connections(): number;
  /** pty-req requests accepted since start (e.g. `ssh -t`, or any interactive login). */
  ptyRequests(): number;
  /** Disconnects every client still connected. */
  disconnectAll(): void;
}

/** RFC 4254 5.1 reason code; ssh2's public reject() cannot send it (see rejectProhibited). */
const SSH_OPEN_ADMINISTRATIVELY_PROHIBITED = 1;

export function createDemoServer(opts: DemoServerOptions): DemoServer {
  const log = opts.log ?? (() => {});
  const live = new Set<Connection>();
  let authenticated = 0;
  let ptys = 0;

  const server = new Server({ hostKeys: [opts.hostKey], ident: `jumpgate_demo_${opts.name}` }, (conn) => {
    live.add(conn);
    conn.on("close", () => live.delete(conn));
    // A client that resets the connection is routine; without a listener it would crash the demo.
    conn.on("error", (err: Error) => log(`${opts.name}: connection error: ${err.message}`));
    conn.on("authentication", (ctx) => authenticate(ctx, opts, log));
    conn.on("ready", () => {
      authenticated++;
      conn.on("session", (acceptSession) => {
        handleSession(acceptSession(), { hostname: opts.name, user: opts.user }, () => ptys++);
      });
      conn.on("tcpip", (acceptChannel, reject, info) => {
        const dest = { host: info.destIP, port: info.destPort };
        const handler = opts.route(dest);
        if (handler === undefined) {
          log(`${opts.name}: refused direct-tcpip to ${dest.host}:${dest.port}`);
          rejectProhibited(conn, reject);
          return;
        }
        const channel = acceptChannel();
        channel.on("error", (err: Error) => log(`${opts.name}: channel error: ${err.message}`));
        handler(channel);
      });
    });
  });

  return {
    name: opts.name,
    accept(stream) {
      // ssh2 types injectSocket as taking a net.Socket, but its server only uses the Duplex
      // interface (data/end/close events, write, end, pause, resume) plus the optional
      // remoteAddress/remotePort for the "connection" event. A forwarded channel provides all of it.
      server.injectSocket(stream as Socket);
    },
    connections: () => authenticated,
    ptyRequests: () => ptys,
    disconnectAll() {
      // end() sends SSH_MSG_DISCONNECT and half-closes the transport; the lab destroys TCP
      // sockets that do not close on their own.
      for (const conn of live) conn.end();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Authentication

/** Constant-time comparison that also tolerates different lengths (as in ssh2's README). */
function sameBytes(input: Buffer, expected: Buffer): boolean {
  // Compare against ourselves when lengths differ, so the time taken does not leak the length.
  const lengthsMatch = input.length === expected.length;
  return timingSafeEqual(input, lengthsMatch ? expected : input) && lengthsMatch;
}

function authenticate(ctx: AuthContext, opts: DemoServerOptions, log: (line: string) => void): void {
  const refusal = refusalReason(ctx, opts);
  if (refusal === undefined) {
    ctx.accept();
    return;
  }
  // The client's first "none" probe is routine, not worth a log line.
  if (ctx.method !== "none")
    log(`${opts.name}: refused ${ctx.method} login for "${ctx.username}": ${refusal}`);
  // Every refusal lists only "publickey": an OpenSSH client then never tries password or
  // keyboard-interactive, so a wrong key fails fast instead of prompting.
  ctx.reject(["publickey"]);
}

/** Why this login attempt is refused, or undefined to accept it. */
function refusalReason(ctx: AuthContext, opts: DemoServerOptions): string | undefined {
  if (ctx.method !== "publickey") return "only public keys are accepted";

  const allowed = opts.userKey;
  if (!sameBytes(Buffer.from(ctx.username), Buffer.from(opts.user)))
    return `only user "${opts.user}" may log in`;
  // The key the client offers must be exactly ours: same algorithm name and same public blob.
  if (ctx.key.algo !== allowed.type || !sameBytes(ctx.key.data, allowed.getPublicSSH())) return "unknown key";

  // No signature: the client only asks "would this key do?" (RFC 4252 7). Saying yes is safe; the
  // login itself needs the signed request that follows.
  if (ctx.signature === undefined || ctx.blob === undefined) return undefined;

  // The signature over the session-bound blob proves the client holds the private key. verify()
  // returns an Error object (not false) for some failures, hence the strict comparison.
  return allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true ? undefined : "bad signature";
}

// ---------------------------------------------------------------------------------------------
// Sessions

function handleSession(session: Session, ctx: CommandContext, onPty: () => void): void {
  // Recorded per session: output is written differently when the client has a terminal.
  let pty: PseudoTtyInfo | undefined;

  // accept is absent when the client did not ask for a reply (want-reply false).
  session.on("pty", (accept: (() => void) | undefined, _reject: RejectConnection, info: PseudoTtyInfo) => {
    pty = info;
    onPty();
    accept?.();
  });
  session.on("window-change", (accept: (() => void) | undefined) => accept?.());

  session.on("exec", (accept, _reject, info) => {
    const channel = accept();
    const result = runBuiltin(info.command, ctx);
    if (pty !== undefined) {
      // With a pty, stderr and stdout share the terminal, as they do under a real sshd.
      channel.write(ttyText(result.stdout + result.stderr));
    } else {
      if (result.stdout !== "") channel.write(result.stdout);
      if (result.stderr !== "") channel.stderr.write(result.stderr);
    }
    // exit-status must precede the channel close that end() triggers on a server channel.
    channel.exit(result.exitCode);
    channel.end();
  });

  session.on("shell", (accept) => {
    const channel = accept();
    const shell = new FakeShell(
      ctx,
      {
        stdout: (text) => channel.write(text),
        stderr: (text) => channel.stderr.write(text),
        exit: (code) => {
          channel.exit(code);
          channel.end();
        },
      },
      pty !== undefined,
    );
    channel.setEncoding("utf8");
    channel.on("data", (text: string) => shell.feed(text));
    channel.on("end", () => shell.end());
    shell.start();
  });
  // Anything else (env, subsystem/sftp, x11, agent forwarding) has no listener, which makes ssh2
  // refuse it; clients treat such refusals as non-fatal or report them clearly.
}

// ---------------------------------------------------------------------------------------------
// Refusing forwards the way sshd does

/** The slice of ssh2's private protocol object that rejectProhibited() touches. */
interface ProtocolWithOpenFail {
  channelOpenFail(recipient: number, reason: number, description: string): void;
}

/**
 * Refuses a channel open with reason 1, "administratively prohibited" (sshd's answer for a
 * forward its policy forbids), instead of the "connect failed" that ssh2's public reject()
 * always sends once a listener has been called. The reason code is what clients print
 * ("open failed: administratively prohibited") and what tells "not allowed" apart from "target
 * down", so the demo should get it right.
 *
 * ssh2 1.17 has no public way to choose the reason, so this wraps its internal
 * `_protocol.channelOpenFail` for the duration of the synchronous reject() call. If a future ssh2
 * changes that internal, this falls back to the plain reject() (the channel is still refused), and
 * test/unit/demo/lab.test.ts, which checks the reason code, says so.
 */
function rejectProhibited(conn: Connection, reject: RejectConnection): void {
  const proto = (conn as unknown as { _protocol?: Partial<ProtocolWithOpenFail> })._protocol;
  const original = proto?.channelOpenFail;
  if (proto === undefined || typeof original !== "function") {
    reject();
    return;
  }
  const hadOwn = Object.hasOwn(proto, "channelOpenFail");
  proto.channelOpenFail = (recipient: number) =>
    // "open failed" is sshd's description for the same refusal; ssh prints both parts.
    original.call(proto, recipient, SSH_OPEN_ADMINISTRATIVELY_PROHIBITED, "open failed");
  try {
    reject();
  } finally {
    // Put things back exactly: the method normally lives on the prototype, not the instance.
    if (hadOwn) proto.channelOpenFail = original;
    else delete proto.channelOpenFail;
  }
}
