/**
 * The sending half of `jumpgate push`: walk a local tree (honouring --exclude and, when asked, the
 * tree's .gitignore files) and pack it in-process with tar-stream, as `tar -C root -c .` would:
 * entries named `./`, `./a`, `./dir/`, with modes, mtimes, symlinks and hard links; sockets, fifos
 * and devices are skipped with a note (a project tree has none; pull refuses them anyway).
 *
 * The output is handed to `sink` in large chunks (CHUNK bytes): an SSH channel turns every write
 * into at least one packet, and tar-stream produces a 512-byte header and a small body per file.
 */
import type { Stats } from "node:fs";
import { closeSync, createReadStream, openSync, readSync } from "node:fs";
import { lstat, open, readdir, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";
import tarStream, { type Header } from "tar-stream";

type Headers = Partial<Header> & { name: string };

import { JumpgateError } from "../errors.js";
import { isIgnored, parseIgnore, type RuleSet } from "./ignore.js";

/** Bytes handed to the sink at once. */
export const CHUNK = 256 * 1024;
/** Files up to this size are read whole; larger ones are streamed. */
const SMALL_FILE = 1024 * 1024;

export interface PackEntry {
  /** Relative to the root, `/`-separated, "" for the root itself. */
  rel: string;
  abs: string;
  type: "file" | "directory" | "symlink" | "link";
  size: number;
  mode: number;
  mtime: Date;
  uid: number;
  gid: number;
  /** Symlink target, or for a hard link the `rel` of the first name of the same file. */
  linkname?: string;
}

export interface Skipped {
  path: string;
  reason: string;
}

export interface TreeScan {
  entries: PackEntry[];
  /** Sum of regular file sizes (what the progress bar counts). */
  totalBytes: number;
  files: number;
  /** Things not sent, with why: unreadable, a socket, a device... */
  skipped: Skipped[];
}

export interface ScanOptions {
  /** Absolute path of the directory whose contents are sent. */
  root: string;
  /** gitignore-style patterns, applied after every .gitignore (they win). */
  exclude?: readonly string[];
  /** Honour the .gitignore files found in the tree. */
  gitignore?: boolean;
  signal?: AbortSignal;
}

/** Walks the tree: depth first, names sorted (byte order) so the archive is reproducible. */
export async function scanTree(opts: ScanOptions): Promise<TreeScan> {
  let rootStat: Stats;
  try {
    rootStat = await lstat(opts.root);
  } catch (error) {
    throw new JumpgateError(
      "JG_TAR_SOURCE",
      `${opts.root}: ${describeFsError(error)}. Give an existing local directory to push.`,
      { cause: error },
    );
  }
  if (!rootStat.isDirectory()) {
    throw new JumpgateError(
      "JG_TAR_SOURCE",
      `${opts.root} is not a directory. push sends a directory's contents; use 'jumpgate cp' for single files.`,
    );
  }
  const scan: TreeScan = { entries: [], totalBytes: 0, files: 0, skipped: [] };
  const excludeSet: RuleSet = { base: "", rules: parseIgnore((opts.exclude ?? []).join("\n")) };
  const seenInodes = new Map<string, string>();
  scan.entries.push(entryOf("", opts.root, rootStat));

  const walk = async (relDir: string, absDir: string, inherited: RuleSet[]): Promise<void> => {
    opts.signal?.throwIfAborted();
    let sets = inherited;
    if (opts.gitignore) {
      const text = await readFile(join(absDir, ".gitignore"), "utf8").catch(() => undefined);
      if (text !== undefined) sets = [...inherited, { base: relDir, rules: parseIgnore(text) }];
    }
    const ordered = [...sets, excludeSet];
    let names: string[];
    try {
      names = (await readdir(absDir)).sort();
    } catch (error) {
      scan.skipped.push({ path: relDir || ".", reason: `cannot list it: ${describeFsError(error)}` });
      return;
    }
    const stats = await Promise.all(
      names.map((name) =>
        lstat(join(absDir, name)).then(
          (s) => s,
          (error: unknown) => error,
        ),
      ),
    );
    for (let i = 0; i < names.length; i++) {
      const name = names[i] as string;
      const rel = relDir === "" ? name : `${relDir}/${name}`;
      const abs = join(absDir, name);
      const st = stats[i];
      if (!(st && typeof st === "object" && "mode" in st)) {
        scan.skipped.push({ path: rel, reason: describeFsError(st) });
        continue;
      }
      const s = st as Stats;
      if (isIgnored(ordered, rel, s.isDirectory())) continue;
      if (s.isDirectory()) {
        scan.entries.push(entryOf(rel, abs, s));
        await walk(rel, abs, sets);
      } else if (s.isFile()) {
        const key = `${s.dev}:${s.ino}`;
        const first = s.nlink > 1 ? seenInodes.get(key) : undefined;
        if (first !== undefined) {
          scan.entries.push({ ...entryOf(rel, abs, s), type: "link", size: 0, linkname: first });
          continue;
        }
        if (s.nlink > 1) seenInodes.set(key, rel);
        scan.entries.push(entryOf(rel, abs, s));
        scan.totalBytes += s.size;
        scan.files++;
      } else if (s.isSymbolicLink()) {
        try {
          scan.entries.push({ ...entryOf(rel, abs, s), linkname: await readlink(abs) });
        } catch (error) {
          scan.skipped.push({ path: rel, reason: `cannot read the link: ${describeFsError(error)}` });
        }
      } else {
        const kind = s.isSocket() ? "a socket" : s.isFIFO() ? "a fifo" : "a device file";
        scan.skipped.push({ path: rel, reason: `${kind}; push sends files, directories and symlinks only` });
      }
    }
  };
  await walk("", opts.root, []);
  return scan;
}

function entryOf(rel: string, abs: string, s: Stats): PackEntry {
  const type = s.isDirectory() ? "directory" : s.isSymbolicLink() ? "symlink" : "file";
  return {
    rel,
    abs,
    type,
    size: type === "file" ? s.size : 0,
    mode: s.mode & 0o7777,
    mtime: s.mtime,
    uid: s.uid,
    gid: s.gid,
  };
}

/** The archive name `tar -C root -c .` gives an entry. */
export function archiveName(entry: Pick<PackEntry, "rel" | "type">): string {
  const name = entry.rel === "" ? "." : `./${entry.rel}`;
  return entry.type === "directory" ? `${name}/` : name;
}

export interface PackCallbacks {
  /** A file's bytes are about to be packed / have been packed. */
  onFile?(rel: string, state: "begin" | "end", size: number): void;
  /** Content bytes packed (file data only, not tar headers). */
  onBytes?(n: number): void;
  /** A file changed or vanished while being read (the archive stays consistent). */
  onSkipped?(skipped: Skipped): void;
  signal?: AbortSignal;
}

/**
 * Packs `scan` and resolves once the final chunk went to `sink`. `sink` applies backpressure by
 * resolving when it can take more.
 */
export async function packTree(
  scan: TreeScan,
  sink: (chunk: Buffer) => Promise<void>,
  cb: PackCallbacks = {},
): Promise<void> {
  const pack = tarStream.pack();
  const produce = produceEntries(pack, scan, cb).then(
    () => pack.finalize(),
    (error: unknown) => {
      pack.destroy(error instanceof Error ? error : new Error(String(error)));
      throw error;
    },
  );
  const consume = (async () => {
    let parts: Buffer[] = [];
    let length = 0;
    for await (const chunk of pack as AsyncIterable<Buffer>) {
      parts.push(chunk);
      length += chunk.length;
      if (length >= CHUNK) {
        const batch = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, length);
        parts = [];
        length = 0;
        await sink(batch);
      }
    }
    if (length > 0) await sink(Buffer.concat(parts, length));
  })();
  // Both must finish; whichever fails first is the error reported.
  await Promise.all([produce, consume]);
}

function headerOf(entry: PackEntry): Headers {
  const header: Headers = {
    name: archiveName(entry),
    mode: entry.mode,
    mtime: entry.mtime,
    uid: entry.uid,
    gid: entry.gid,
    type: entry.type,
    size: entry.type === "file" ? entry.size : 0,
  };
  if (entry.linkname !== undefined) {
    header.linkname =
      entry.type === "link" ? archiveName({ rel: entry.linkname, type: "file" }) : entry.linkname;
  }
  return header;
}

/**
 * Reads a small file whole, synchronously: for thousands of small files the promise API's
 * per-call cost (open, fstat, read, close, each a thread-pool round trip) dominated the push; a
 * synchronous open+read+close of a size known from the walk is a few microseconds. A file that
 * grew since the walk is cut at the walked size, one that shrank is sent as it is now.
 */
function readSmall(path: string, size: number): Buffer {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    return off === size ? buf : buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}

async function produceEntries(pack: tarStream.Pack, scan: TreeScan, cb: PackCallbacks): Promise<void> {
  for (const entry of scan.entries) {
    cb.signal?.throwIfAborted();
    const header = headerOf(entry);
    if (entry.type !== "file") {
      await addEntry(pack, header);
      continue;
    }
    cb.onFile?.(entry.rel, "begin", entry.size);
    if (entry.size <= SMALL_FILE) {
      let data: Buffer;
      try {
        data = readSmall(entry.abs, entry.size);
      } catch (error) {
        cb.onSkipped?.({ path: entry.rel, reason: describeFsError(error) });
        continue;
      }
      header.size = data.length;
      await addEntry(pack, header, data);
      cb.onBytes?.(data.length);
    } else {
      const ok = await streamLargeFile(pack, header, entry, cb);
      if (!ok) continue;
    }
    cb.onFile?.(entry.rel, "end", entry.size);
  }
}

function addEntry(pack: tarStream.Pack, header: Headers, data?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error | null) => (error ? reject(error) : resolve());
    if (data === undefined) pack.entry(header, done);
    else pack.entry(header, data, done);
  });
}

/**
 * Streams a big file into its entry. The header promised `entry.size` bytes, so a file that grew
 * is cut there and one that shrank is padded with zeros (as GNU tar does), with a note.
 */
async function streamLargeFile(
  pack: tarStream.Pack,
  header: Headers,
  entry: PackEntry,
  cb: PackCallbacks,
): Promise<boolean> {
  // Opening first turns an unreadable file into a skip before anything is written for it.
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(entry.abs, "r");
  } catch (error) {
    cb.onSkipped?.({ path: entry.rel, reason: describeFsError(error) });
    return false;
  }
  let settle: (error?: Error | null) => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    settle = (error) => (error ? reject(error) : resolve());
  });
  const sink = pack.entry(header, (error) => settle(error)) as unknown as EntrySink;
  // A pack destroyed mid-entry (an abort) rejects `done` while a write still waits: the throw
  // then skips `await done`, and an unobserved rejection would end the process (in the gate:
  // everyone's sessions and tunnels). The await below still sees the rejection.
  done.catch(() => {});
  let written = 0;
  try {
    const stream = createReadStream("", {
      fd: handle.fd,
      autoClose: false,
      start: 0,
      end: Math.max(0, entry.size - 1),
      highWaterMark: CHUNK * 4,
    });
    if (entry.size > 0) {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        written += chunk.length;
        await writeTo(sink, chunk);
        cb.onBytes?.(chunk.length);
      }
    }
  } catch (error) {
    cb.onSkipped?.({
      path: entry.rel,
      reason: `read failed part way: ${describeFsError(error)}; zero-filled`,
    });
  } finally {
    await handle.close();
  }
  if (written < entry.size) {
    if (written > 0) cb.onSkipped?.({ path: entry.rel, reason: "it shrank while being read; zero-filled" });
    let missing = entry.size - written;
    const zeros = Buffer.alloc(Math.min(missing, CHUNK));
    while (missing > 0) {
      const n = Math.min(missing, zeros.length);
      await writeTo(sink, zeros.subarray(0, n));
      missing -= n;
    }
  }
  sink.end();
  await done;
  return true;
}

/** tar-stream's entry stream (a streamx Writable: write() takes no callback, "drain" when it can take more). */
interface EntrySink {
  write(chunk: Buffer): boolean;
  end(): void;
  once(event: "drain" | "error", listener: (error?: Error) => void): void;
  removeListener(event: "drain" | "error", listener: (error?: Error) => void): void;
}

function writeTo(sink: EntrySink, chunk: Buffer): Promise<void> {
  if (sink.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      sink.removeListener("error", onError);
      resolve();
    };
    const onError = (error?: Error) => {
      sink.removeListener("drain", onDrain);
      reject(error ?? new Error("tar entry failed"));
    };
    sink.once("drain", onDrain);
    sink.once("error", onError);
  });
}

export function describeFsError(error: unknown): string {
  const e = error as NodeJS.ErrnoException | undefined;
  switch (e?.code) {
    case "ENOENT":
      return "no such file or directory";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "ENOSPC":
      return "no space left on the device";
    case "ENOTDIR":
      return "not a directory";
    case "EISDIR":
      return "is a directory";
    case "ELOOP":
      return "too many levels of symbolic links";
    default:
      return e?.message ?? String(error);
  }
}
