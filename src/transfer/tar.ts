/**
 * `push` and `pull`: tar over one SSH exec channel, the in-process counterpart of
 * `tar -C localdir -c . | ssh host 'tar -x -C remotedir'` and its reverse.
 *
 * Library API, usable from the CLI and from a long-lived process: the caller supplies a function
 * that yields a connected SshSession for the destination (the CLI gets it from the connection
 * manager), absolute local paths, an AbortSignal and a progress listener. Nothing here resolves
 * configuration or prints.
 *
 * There is no --delete: files present in the target but not in the source stay, as with tar.
 */
import { once } from "node:events";
import { mkdir, open, readdir, rename, rmdir, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { createGunzip, createGzip } from "node:zlib";
import type { ClientChannel } from "ssh2";
import type { RunningChannel, SshSession } from "../connection/session.js";
import { JumpgateError } from "../errors.js";
import {
  createExtractor,
  type ExtractLimits,
  type Extractor,
  type ExtractSummary,
  type Refusal,
} from "./extract.js";
import { CHUNK, describeFsError, packTree, type Skipped, scanTree } from "./pack.js";
import type { ProgressListener, TransferEvent } from "./progress.js";
import { type Compression, pullCommand, pushCommand, remoteFailure } from "./remote-tar.js";
import { findLocalZstd, noLocalZstd, startZstd, type ZstdStage } from "./zstd-process.js";

export type CompressOption = Compression;

interface Common {
  /** Yields a connected session to the destination; the caller owns it (and closes it). */
  session: () => Promise<SshSession>;
  /** How the destination is named in messages and the progress bar, e.g. "mcgonagall". */
  host: string;
  /** The remote directory as written by the user ("" = the remote home). */
  remoteDir: string;
  compress?: CompressOption;
  /** Remote tar program; default "tar". */
  remoteTar?: string;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

export interface PushRequest extends Common {
  /** Absolute path of the local directory whose contents are sent. */
  localDir: string;
  exclude?: readonly string[];
  gitignore?: boolean;
}

export interface PushResult {
  files: number;
  bytes: number;
  /** Local things not sent, and why (unreadable, sockets...). */
  skipped: Skipped[];
}

export interface PullRequest extends Common {
  /** Absolute path of the local directory to extract into (created if missing). */
  localDir?: string;
  /** Absolute path of an archive file to save the stream to instead of extracting. */
  toFile?: string;
  limits?: Partial<ExtractLimits>;
  /** Each refused entry, as it happens. */
  onRefused?(refusal: Refusal): void;
  /** Each change made to an entry (a setuid bit dropped). */
  onNote?(note: Refusal): void;
}

export interface PullResult {
  files: number;
  bytes: number;
  refused: Refusal[];
  notes: Refusal[];
  /** Set when the stream was saved with --to-file. */
  savedTo?: string;
}

/** Remote stderr kept for messages; tar's complaints are short, a flood is cut. */
const STDERR_LIMIT = 64 * 1024;

function checkCompression(c: CompressOption | undefined): Compression {
  return c ?? "none";
}

/**
 * Node 20's zlib has no zstd, so zstd runs as a local `zstd` process; looked up before connecting,
 * so a machine without it fails at once and nothing is sent or written.
 */
async function localZstd(): Promise<string> {
  const path = await findLocalZstd();
  if (path === undefined) throw noLocalZstd();
  return path;
}

/** A decompressing stage in front of the extractor / archive file, with a way to stop it. */
interface Decoder {
  output: Readable;
  done: Promise<void>;
  kill(): void;
}

function decoderFor(
  compress: Compression,
  zstdPath: string | undefined,
  from: Readable,
): Decoder | undefined {
  if (compress === "gzip") {
    const gz = from.pipe(createGunzip({ chunkSize: CHUNK }));
    return { output: gz, done: Promise.resolve(), kill: () => gz.destroy() };
  }
  if (compress === "zstd") {
    const z = startZstd(zstdPath as string, ["-d", "-q", "-c"]);
    from.pipe(z.input);
    return z;
  }
  return undefined;
}

/** Coalesces byte counts into a few progress events per second. */
function progressEmitter(listener: ProgressListener | undefined) {
  let pending = 0;
  let last = 0;
  const emit = (e: TransferEvent) => listener?.(e);
  return {
    emit,
    bytes(n: number) {
      if (!listener) return;
      pending += n;
      const now = Date.now();
      if (now - last >= 100) {
        emit({ kind: "bytes", at: now, n: pending });
        pending = 0;
        last = now;
      }
    },
    flush() {
      if (pending > 0) emit({ kind: "bytes", at: Date.now(), n: pending });
      pending = 0;
    },
  };
}

/** Collects a channel's stderr (bounded) and discards its stdout when asked. */
function captureStderr(channel: ClientChannel): () => string {
  let text = "";
  channel.stderr.on("data", (chunk: Buffer) => {
    if (text.length < STDERR_LIMIT) text += chunk.toString("utf8");
  });
  return () => text.slice(0, STDERR_LIMIT);
}

/** Resolves when the channel can take more, rejects when it closed first. */
function waitDrain(channel: ClientChannel, closed: Promise<void>): Promise<void> {
  return Promise.race([
    once(channel, "drain").then(() => {}),
    closed.then(() => {
      throw new RemoteEndedEarly();
    }),
  ]);
}

class RemoteEndedEarly extends Error {
  constructor() {
    super("the remote command ended before the archive was sent");
  }
}

function abortOn(signal: AbortSignal | undefined, running: RunningChannel): () => void {
  if (!signal) return () => {};
  const onAbort = () => running.channel.close();
  signal.addEventListener("abort", onAbort, { once: true });
  return () => signal.removeEventListener("abort", onAbort);
}

/** Sends the contents of `localDir` into `remoteDir` on the destination. */
export async function push(req: PushRequest): Promise<PushResult> {
  const compress = checkCompression(req.compress);
  const zstdPath = compress === "zstd" ? await localZstd() : undefined;
  req.signal?.throwIfAborted();
  // Walking the tree and connecting overlap: neither needs the other.
  const [scan, session] = await Promise.all([
    scanTree({
      root: req.localDir,
      ...(req.exclude ? { exclude: req.exclude } : {}),
      ...(req.gitignore ? { gitignore: true } : {}),
      ...(req.signal ? { signal: req.signal } : {}),
    }),
    req.session(),
  ]);
  const progress = progressEmitter(req.onProgress);
  progress.emit({
    kind: "start",
    op: "push",
    at: Date.now(),
    totalBytes: scan.totalBytes,
    totalFiles: scan.files,
    label: `${req.host}:${req.remoteDir}`,
  });
  const running = await session.exec(
    pushCommand({ dir: req.remoteDir, compress, ...(req.remoteTar ? { tar: req.remoteTar } : {}) }),
  );
  const { channel } = running;
  const stderr = captureStderr(channel);
  channel.resume(); // tar -x prints nothing on stdout; keep the window open anyway
  const closed = running.done.then(() => {});
  const unAbort = abortOn(req.signal, running);
  const skipped = [...scan.skipped];
  let files = 0;
  let bytes = 0;
  let lastSent: string | undefined;

  const toChannel = async (chunk: Buffer) => {
    if (!channel.write(chunk)) await waitDrain(channel, closed);
  };
  let sendError: unknown;
  let zstd: ZstdStage | undefined;
  try {
    if (compress !== "none") {
      // One encoder stage between the packer and the channel: zlib's gzip in-process, or a local
      // zstd process (stdin -> stdout).
      let input: Writable;
      let output: Readable;
      let ended: Promise<void>;
      if (compress === "gzip") {
        const gz = createGzip({ chunkSize: CHUNK });
        input = gz;
        output = gz;
        ended = Promise.resolve();
      } else {
        zstd = startZstd(zstdPath as string, ["-q", "-c"]);
        ({ input, output } = zstd);
        ended = zstd.done;
      }
      const pump = (async () => {
        for await (const chunk of output as AsyncIterable<Buffer>) await toChannel(chunk);
      })();
      pump.catch(() => {});
      // A zstd that died early ends the wait for drain too (ended rejects).
      const stop = Promise.all([pump, ended]);
      stop.catch(() => {});
      await packTree(
        scan,
        async (chunk) => {
          if (!input.write(chunk)) await Promise.race([once(input, "drain"), stop]);
        },
        packCallbacks(),
      );
      input.end();
      await pump;
      await ended;
    } else {
      await packTree(scan, toChannel, packCallbacks());
    }
    channel.end();
  } catch (error) {
    sendError = error;
    if (!(error instanceof RemoteEndedEarly)) channel.close();
  } finally {
    unAbort();
    zstd?.kill();
  }
  progress.flush();
  const outcome = await running.done;
  const remoteDirName = req.remoteDir === "" || req.remoteDir === "." ? "the remote home" : req.remoteDir;
  const sent = `${files} of ${scan.files} files (${bytes} bytes) were sent${lastSent ? `, the last one ${lastSent}` : ""}`;
  const failure = remoteFailure(
    req.host,
    { ...outcome, stderr: stderr() },
    outcome.code === 127
      ? `Nothing was extracted: tar never started there (mkdir -p may have created ${remoteDirName}).`
      : `${sent}; the remote tar extracts as it receives: files it names below were not written (or only partly), the others are in ${remoteDirName}.`,
    "push",
  );
  if (req.signal?.aborted) throw req.signal.reason;
  if (failure) {
    progress.emit({ kind: "error", at: Date.now(), code: failure.code, message: failure.message });
    throw failure;
  }
  if (sendError !== undefined) throw translateLocal(sendError, sent);
  progress.emit({ kind: "done", at: Date.now() });
  if (skipped.length > 0) {
    throw new JumpgateError(
      "JG_TAR_INCOMPLETE",
      `${skipped.length} local item${skipped.length === 1 ? " was" : "s were"} not sent: ${skipped
        .slice(0, 10)
        .map((s) => `${s.path} (${s.reason})`)
        .join("; ")}${skipped.length > 10 ? "; ..." : ""}. Everything else was pushed.`,
    );
  }
  return { files, bytes, skipped };

  function packCallbacks() {
    return {
      onFile(rel: string, state: "begin" | "end", size: number) {
        progress.emit({ kind: "file", at: Date.now(), path: rel, state, size });
        if (state === "end") {
          files++;
          lastSent = rel;
        }
      },
      onBytes(n: number) {
        bytes += n;
        progress.bytes(n);
      },
      onSkipped(s: Skipped) {
        skipped.push(s);
      },
      ...(req.signal ? { signal: req.signal } : {}),
    };
  }
}

function translateLocal(error: unknown, sent: string): unknown {
  if (error instanceof JumpgateError) return error;
  if (error instanceof RemoteEndedEarly) {
    // It exited 0 without reading everything: a forced command, a wrapper, --remote-tar true.
    return new JumpgateError(
      "JG_TAR_REMOTE_FAILED",
      `the remote command ended (status 0) before it had read the whole archive; ${sent}. Check what runs there (a forced command in authorized_keys, --remote-tar).`,
    );
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "EACCES" || code === "EPERM") {
    return new JumpgateError(
      "JG_TAR_PERMISSION",
      `cannot read a local file: ${describeFsError(error)}. ${sent}.`,
      {
        cause: error,
      },
    );
  }
  return error;
}

/** Receives the contents of `remoteDir` into `localDir`, or saves the archive with `toFile`. */
export async function pull(req: PullRequest): Promise<PullResult> {
  const requested = checkCompression(req.compress);
  req.signal?.throwIfAborted();
  const toFile = req.toFile;
  // An archive file named .gz/.tgz (.zst/.tzst) is compressed on the remote side (less to send)
  // and saved as it comes; a plain .tar with --compress gzip|zstd travels compressed and is
  // decompressed here. The file's name wins over --compress.
  const fileWants: Compression | undefined =
    toFile === undefined
      ? undefined
      : /\.(tgz|gz)$/i.test(toFile)
        ? "gzip"
        : /\.(tzst|zst)$/i.test(toFile)
          ? "zstd"
          : undefined;
  const compress: Compression = fileWants ?? requested;
  const keepCompressed = fileWants !== undefined;
  // The local zstd is only needed to decompress (a .tar.zst is saved as it comes).
  const zstdPath = compress === "zstd" && !keepCompressed ? await localZstd() : undefined;
  const session = await req.session();
  const progress = progressEmitter(req.onProgress);
  progress.emit({ kind: "start", op: "pull", at: Date.now(), label: `${req.host}:${req.remoteDir}` });
  if (toFile !== undefined)
    return pullToFile(req, session, toFile, compress, keepCompressed, zstdPath, progress);
  if (req.localDir === undefined) throw new JumpgateError("JG_INTERNAL", "pull needs localDir or toFile");
  const dest = req.localDir;
  const created = await mkdir(dest, { recursive: true }).catch((error: unknown) => {
    throw new JumpgateError(
      (error as NodeJS.ErrnoException).code === "ENOSPC" ? "JG_TAR_NO_SPACE" : "JG_TAR_PERMISSION",
      `cannot create the local directory ${dest}: ${describeFsError(error)}. Nothing was written.`,
      { cause: error },
    );
  });
  const extractor = createExtractor(dest, {
    ...(req.limits ? { limits: req.limits } : {}),
    progress: {
      onFile: (path, state, size) => progress.emit({ kind: "file", at: Date.now(), path, state, size }),
      onBytes: (n) => progress.bytes(n),
      onRefused: (r) => req.onRefused?.(r),
      onNote: (n) => req.onNote?.(n),
    },
  });
  const running = await session.exec(
    pullCommand({ dir: req.remoteDir, compress, ...(req.remoteTar ? { tar: req.remoteTar } : {}) }),
  );
  const { channel } = running;
  const stderr = captureStderr(channel);
  const unAbort = abortOn(req.signal, running);
  let localError: unknown;
  const decoder = decoderFor(compress, zstdPath, channel);
  try {
    await pumpInto(decoder?.output ?? channel, extractor);
  } catch (error) {
    localError = error;
    extractor.input.destroy(error instanceof Error ? error : new Error(String(error)));
  } finally {
    unAbort();
  }
  let summary: ExtractSummary | undefined;
  try {
    summary = await extractor.done;
  } catch (error) {
    localError ??= error;
  }
  // The decoder's status only once the extractor took the whole stream (else it is stopped).
  if (localError === undefined && decoder) await decoder.done.catch((error: unknown) => (localError = error));
  if (localError !== undefined) stopChannel(channel);
  decoder?.kill();
  progress.flush();
  const outcome = await running.done;
  if (req.signal?.aborted) throw req.signal.reason;
  const s = extractor.summary();
  const remote = remoteFailure(
    req.host,
    { ...outcome, stderr: stderr() },
    `${s.files} file${s.files === 1 ? "" : "s"} (${s.bytes} bytes) were written under ${dest}${
      s.files === 0 ? " (none)" : ""
    }; whatever the remote tar could not read was not.`,
    "pull",
  );
  // A local failure (disk full, a refused limit) explains itself best; else the remote's.
  const failure =
    localError !== undefined && localError instanceof JumpgateError ? localError : (remote ?? localError);
  if (failure !== undefined) {
    if (created !== undefined && s.files === 0) await removeIfEmpty(created);
    const e = failure as { code?: string; message?: string };
    progress.emit({
      kind: "error",
      at: Date.now(),
      ...(e.code ? { code: e.code } : {}),
      message: String(e.message),
    });
    throw failure;
  }
  progress.emit({ kind: "done", at: Date.now() });
  const done = summary ?? s;
  if (done.refused.length > 0) {
    throw new JumpgateError(
      "JG_TAR_UNSAFE_ENTRY",
      `${done.refused.length} archive entr${done.refused.length === 1 ? "y was" : "ies were"} refused (listed above with the reason); ${done.files} files were written under ${dest} and nothing outside it.`,
    );
  }
  return { files: done.files, bytes: done.bytes, refused: done.refused, notes: done.notes };
}

/**
 * Feeds `source` into the extractor with backpressure (pause/resume: the SSH window then stops the
 * sender). Resolves at the end of the stream, or as soon as the extractor failed.
 */
function pumpInto(source: Readable, extractor: Extractor): Promise<void> {
  const input = extractor.input;
  return new Promise<void>((resolve, reject) => {
    let finished = false;
    const finish = (error?: unknown) => {
      if (finished) return;
      finished = true;
      source.off("data", onData);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onData = (chunk: Buffer) => {
      if (!input.write(chunk)) {
        source.pause();
        input.once("drain", () => source.resume());
      }
    };
    source.on("data", onData);
    source.once("end", () => {
      input.end(undefined);
      finish();
    });
    source.once("close", () => {
      // A channel closed without EOF: the archive is cut short; the extractor says so.
      input.end(undefined);
      finish();
    });
    source.once("error", (error: unknown) => finish(error));
    extractor.done.then(
      () => finish(),
      () => finish(),
    );
  });
}

/**
 * Stops the remote side after a local failure: close the channel, and discard what is still
 * buffered, since ssh2 only reports the channel closed once its data has been read.
 */
function stopChannel(channel: ClientChannel): void {
  channel.close();
  channel.removeAllListeners("data");
  channel.resume();
  channel.stderr.resume();
}

/** Only the directory pull itself created, and only if it stayed empty. */
async function removeIfEmpty(dir: string): Promise<void> {
  try {
    if ((await readdir(dir)).length === 0) await rmdir(dir);
  } catch {
    // Leave it; the message already says nothing was written in it.
  }
}

async function pullToFile(
  req: PullRequest,
  session: SshSession,
  toFile: string,
  compress: Compression,
  keepCompressed: boolean,
  zstdPath: string | undefined,
  progress: ReturnType<typeof progressEmitter>,
): Promise<PullResult> {
  // Written under a temporary name and renamed when complete: an interrupted pull never leaves a
  // truncated archive under the name asked for.
  const temp = join(dirname(toFile), `.${basename(toFile)}.jumpgate-${process.pid}-${Date.now()}`);
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(temp, "wx", 0o600);
  } catch (error) {
    throw new JumpgateError(
      (error as NodeJS.ErrnoException).code === "ENOSPC" ? "JG_TAR_NO_SPACE" : "JG_TAR_PERMISSION",
      `cannot create ${toFile}: ${describeFsError(error)}. Nothing was written.`,
      { cause: error },
    );
  }
  const running = await session.exec(
    pullCommand({ dir: req.remoteDir, compress, ...(req.remoteTar ? { tar: req.remoteTar } : {}) }),
  );
  const { channel } = running;
  const stderr = captureStderr(channel);
  const unAbort = abortOn(req.signal, running);
  let bytes = 0;
  let localError: unknown;
  const decoder = keepCompressed ? undefined : decoderFor(compress, zstdPath, channel);
  try {
    for await (const chunk of (decoder?.output ?? channel) as AsyncIterable<Buffer>) {
      await handle.write(chunk);
      bytes += chunk.length;
      progress.bytes(chunk.length);
    }
    await decoder?.done;
  } catch (error) {
    localError = error;
    stopChannel(channel);
  } finally {
    unAbort();
    decoder?.kill();
    await handle.close().catch(() => {});
  }
  progress.flush();
  const outcome = await running.done;
  const remote = remoteFailure(
    req.host,
    { ...outcome, stderr: stderr() },
    `${toFile} was not written (the partial stream was discarded).`,
    "pull",
  );
  if (req.signal?.aborted || remote || localError !== undefined) {
    await unlink(temp).catch(() => {});
    if (req.signal?.aborted) throw req.signal.reason;
    if (remote) throw remote;
    const code = (localError as NodeJS.ErrnoException).code;
    throw new JumpgateError(
      code === "ENOSPC"
        ? "JG_TAR_NO_SPACE"
        : code === "EACCES" || code === "EPERM"
          ? "JG_TAR_PERMISSION"
          : "JG_TAR_REMOTE_FAILED",
      `saving ${toFile} failed after ${bytes} bytes: ${describeFsError(localError)}. ${toFile} was not written (the partial file was removed).`,
      { cause: localError },
    );
  }
  await rename(temp, toFile);
  progress.emit({ kind: "file", at: Date.now(), path: toFile, state: "end", size: bytes });
  progress.emit({ kind: "done", at: Date.now() });
  return { files: 0, bytes, refused: [], notes: [], savedTo: toFile };
}
