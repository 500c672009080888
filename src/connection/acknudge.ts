/**
 * Answers a server that stalls on Nagle: after the transport delivers a small burst and jumpgate
 * has written nothing back by the end of that event-loop turn, one SSH_MSG_IGNORE is sent so the
 * kernel's ACK leaves at once instead of ~40 ms later.
 *
 * Why: OpenSSH's sshd before 10.1 turns TCP_NODELAY on only when a session (exec, shell,
 * subsystem) starts on a connection (packet.c, ssh_packet_set_interactive). A connection used
 * only to jump (direct-tcpip channels: every jaguar in `you -> jaguar -> mcgonagall`), or one
 * before its first session, keeps Nagle on the server's side. When such a server writes twice
 * (a channel success, then the exit status; an SFTP status, then a window adjust) and the client
 * has nothing to say in between, Linux holds the client's ACK for its delayed-ACK minimum (40 ms)
 * and Nagle holds the server's second write until that ACK: every request/reply through a jump
 * hop cost ~40 ms. OpenSSH's own client suffers the same through such a hop unless it happens to
 * send something (its ControlMaster with an open stdin: 40-50 ms per `true`). Any data we send
 * carries the ACK; IGNORE is the one message every server must accept and never answers (RFC 4253
 * section 11.2), so it cannot start an exchange of its own.
 *
 * Cost: one ~36-byte packet per small inbound burst we do not answer anyway. Bursts of 64 KiB or
 * more are left alone: the kernel ACKs two full segments at once, and a bulk download must not
 * pay a packet per read. Sessions are nudged innermost first (a jump's inner session's IGNORE is
 * data on the outer one too, which then needs none).
 */
import type { Duplex } from "node:stream";

/** At or above this many bytes received since our last write, the kernel ACKs without help. */
const SMALL_BURST = 64 * 1024;
const MSG_IGNORE = 2;

/** The part of ssh2's (1.17) Protocol object a packet is built and sent with. */
interface PacketProtocol {
  _kexinit?: unknown;
  _packetRW?: {
    write?: {
      allocStart: number;
      alloc(size: number): Buffer;
      finalize(packet: Buffer): Buffer;
    };
  };
  _cipher?: { encrypt(packet: Buffer): void };
}

interface Nudged {
  order: number;
  sock: Duplex;
  protocol: () => PacketProtocol | undefined;
  /** Bytes received since our last write. */
  unanswered: number;
  active: boolean;
  sent: number;
}

let nextOrder = 0;
const due = new Set<Nudged>();
let scheduled = false;

function sendIgnore(protocol: PacketProtocol | undefined): boolean {
  const writer = protocol?._packetRW?.write;
  const cipher = protocol?._cipher;
  // During a key exchange ssh2 queues packets; an IGNORE is not worth joining that queue.
  if (!writer || !cipher || protocol._kexinit !== undefined) return false;
  if (typeof writer.alloc !== "function" || typeof writer.finalize !== "function") return false;
  const start = writer.allocStart;
  const packet = writer.alloc(5);
  packet[start] = MSG_IGNORE;
  packet.writeUInt32BE(0, start + 1); // string data: empty
  cipher.encrypt(writer.finalize(packet));
  return true;
}

function flush(): void {
  scheduled = false;
  // Newest first: an inner session (opened later, over a channel of an outer one) writes through
  // its outer session, which then has answered too.
  const list = [...due].sort((a, b) => b.order - a.order);
  due.clear();
  for (const n of list) {
    if (!n.active || n.unanswered === 0 || n.unanswered >= SMALL_BURST) continue;
    // Writes still queued in Node will reach the kernel, and carry the ACK, soon enough.
    if (n.sock.destroyed || n.sock.writableLength > 0) continue;
    try {
      if (sendIgnore(n.protocol())) n.sent++;
    } catch {
      // ssh2's internals are not what this file expects: stop nudging this session.
      n.active = false;
    }
  }
}

export interface AckNudge {
  /** IGNORE packets sent so far (tests, diagnostics). */
  readonly sent: number;
  stop(): void;
}

/**
 * Starts nudging on `sock`, the stream ssh2 reads and writes (TCP socket, ProxyCommand pipe or a
 * jump channel). Call after the handshake; `protocol` returns ssh2's Protocol object.
 */
export function startAckNudge(sock: Duplex, protocol: () => PacketProtocol | undefined): AckNudge {
  const n: Nudged = { order: nextOrder++, sock, protocol, unanswered: 0, active: true, sent: 0 };
  const write = sock.write.bind(sock) as (chunk: Buffer, ...rest: unknown[]) => boolean;
  (sock as { write: (chunk: Buffer, ...rest: unknown[]) => boolean }).write = (chunk, ...rest) => {
    n.unanswered = 0;
    return write(chunk, ...rest);
  };
  const onData = (chunk: Buffer) => {
    if (!n.active) return;
    n.unanswered += chunk.length;
    due.add(n);
    if (!scheduled) {
      scheduled = true;
      // After this turn's I/O callbacks and the promise jobs they start: whatever jumpgate
      // answers in the same turn goes first and makes the IGNORE unnecessary.
      setImmediate(flush);
    }
  };
  sock.on("data", onData);
  return {
    get sent() {
      return n.sent;
    },
    stop() {
      n.active = false;
      due.delete(n);
      sock.off("data", onData);
    },
  };
}
