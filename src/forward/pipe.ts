/**
 * The one symmetric pipe every forward uses: a local stream (TCP or Unix socket) on one side, an
 * SSH channel on the other. It
 *
 * - carries data both ways with backpressure: a side that cannot keep up pauses the other, so
 *   memory stays bounded by the two streams' buffers whatever the speeds;
 * - preserves half-close: EOF one way (a client's shutdown(SHUT_WR), the channel's EOF) ends only
 *   that direction, and the reply still flows back the other way;
 * - turns resets and errors into closes of the other side, and reports them;
 * - counts bytes each way;
 * - sets no-delay on TCP sockets (interactive protocols through a tunnel must not wait 40 ms);
 * - guards two open ssh2 flow-control bugs:
 *   #1505: ssh2 accepts CHANNEL_DATA beyond the window it advertised (it only refuses at exactly 0,
 *   then lets the window go negative), so a peer can make it buffer without bound. A channel whose
 *   incoming window goes negative is destroyed here.
 *   #1508: Channel.close() while writes wait for window credit silently drops them. This pipe never
 *   closes a channel with writes pending: it ends the channel (EOF after the last write) and lets
 *   the peer's CLOSE finish it; close() is only for resets, where the data is lost anyway.
 */
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";

/** The parts of an ssh2 ClientChannel the pipe uses (kept structural so tests can pass fakes). */
export interface ChannelLike extends Duplex {
  /** ssh2's receive-window bookkeeping ({ window }); a negative window means an overrun (#1505). */
  incoming?: unknown;
  close?(): void;
}

/** The receive window ssh2 has left for this channel, when it is an ssh2 channel. */
function incomingWindow(channel: ChannelLike): number | null {
  const incoming = channel.incoming as { window?: unknown } | undefined;
  return typeof incoming?.window === "number" ? incoming.window : null;
}

export interface PipeStats {
  /** Bytes that went from the local stream into the channel (towards the far side). */
  bytesOut: number;
  /** Bytes that came back from the channel to the local stream. */
  bytesIn: number;
}

export interface PipeResult extends PipeStats {
  /** Why the pipe ended abnormally (a reset, an error, a window overrun); null for a clean end. */
  error: string | null;
}

export interface PipeOptions {
  /** Called after every chunk with the direction and size (tunnel byte counters, events). */
  onBytes?(direction: "in" | "out", bytes: number): void;
}

export interface Pipe {
  readonly stats: PipeStats;
  /** Settles once both sides are closed; never rejects. */
  readonly done: Promise<PipeResult>;
  /** Tears both sides down now (Ctrl-C, cancel): a reset, not a graceful end. */
  destroy(reason?: string): void;
}

function isSocket(stream: Duplex): stream is Socket {
  return typeof (stream as Socket).setNoDelay === "function";
}

/**
 * Joins `local` and `channel`. `local` must have been created with allowHalfOpen (net.Server
 * option), otherwise Node ends its write side as soon as the client's FIN arrives and the reply
 * is lost. Any data `local` already holds (e.g. read past a SOCKS request) is passed in `head`.
 */
export function pipeStreams(
  local: Duplex,
  channel: ChannelLike,
  opts: PipeOptions = {},
  head?: Buffer,
): Pipe {
  const stats: PipeStats = { bytesIn: 0, bytesOut: 0 };
  let error: string | null = null;
  let localClosed = false;
  let channelClosed = false;
  let resolveDone: (r: PipeResult) => void = () => {};
  const done = new Promise<PipeResult>((resolve) => {
    resolveDone = resolve;
  });
  const settle = () => {
    if (localClosed && channelClosed) resolveDone({ ...stats, error });
  };
  if (isSocket(local) && local.setNoDelay) {
    try {
      local.setNoDelay(true);
    } catch {
      // Unix sockets and closed sockets have no Nagle to switch off.
    }
  }

  const fail = (reason: string) => {
    error ??= reason;
    // A reset: both sides go now. Data still queued is lost, as with a TCP RST.
    if (!local.destroyed) local.destroy();
    resetChannel();
  };
  const resetChannel = () => {
    if (channelClosed) return;
    // close() sends CHANNEL_CLOSE without waiting for pending writes (#1508): right for a reset.
    if (typeof channel.close === "function") channel.close();
    else channel.destroy();
  };

  // local -> channel
  const onLocalData = (chunk: Buffer) => {
    stats.bytesOut += chunk.length;
    opts.onBytes?.("out", chunk.length);
    if (!channel.write(chunk)) local.pause();
  };
  channel.on("drain", () => local.resume());
  local.on("data", onLocalData);
  local.on("end", () => {
    // Half-close: EOF goes after the last byte written (ssh2 sends it from 'finish').
    channel.end();
  });

  // channel -> local
  channel.on("data", (chunk: Buffer) => {
    const window = incomingWindow(channel);
    if (window !== null && window < 0) {
      fail("the server sent more data than the channel window allows (closed to bound memory)");
      return;
    }
    stats.bytesIn += chunk.length;
    opts.onBytes?.("in", chunk.length);
    if (local.destroyed) return;
    if (!local.write(chunk)) channel.pause();
  });
  local.on("drain", () => channel.resume());
  channel.on("end", () => {
    if (!local.destroyed) local.end();
  });

  local.on("error", (e: NodeJS.ErrnoException) => {
    fail(e.code === "ECONNRESET" ? "connection reset by the local peer" : e.message);
  });
  channel.on("error", (e: Error) => fail(e.message));
  local.on("close", () => {
    localClosed = true;
    // The local side went away without a clean end (RST, destroy): nothing will be read from or
    // written to it again, so the channel is reset too. After a clean end both ways, the channel
    // closes itself when the peer answers our EOF.
    if (!channelClosed && (local.readableEnded === false || local.writableFinished === false)) {
      error ??= "the local connection closed before the forward finished";
      resetChannel();
    }
    settle();
  });
  channel.on("close", () => {
    channelClosed = true;
    // The far side is gone: flush what we hold to the local peer, then close it.
    if (!local.destroyed) {
      if (local.writableEnded) {
        // Already ending; 'close' follows once flushed.
      } else local.end();
      // A local peer that never reads must not keep this pipe (and its buffers) forever.
      local.once("finish", () => local.destroy());
    }
    settle();
  });

  if (head && head.length > 0) onLocalData(head);
  local.resume();

  return {
    stats,
    done,
    destroy(reason = "closed by jumpgate") {
      fail(reason);
    },
  };
}
