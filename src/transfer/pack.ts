/**
 * The sending half of `jumpgate push`: walk a local tree (honouring --exclude and, when asked, the
 * tree's .gitignore files) and pack it in-process (tar-header.ts), as `tar -C root -c .` would:
 * entries named `./`, `./a`, `./dir/`, with modes, mtimes, symlinks and hard links; sockets, fifos
 * and devices are skipped with a note (a project tree has none; pull refuses them anyway).
 *
 * The output is handed to `sink` in large chunks (CHUNK bytes): an SSH channel turns every write
 * into at least one packet, and a project tree is mostly 512-byte headers and small bodies.
 */
import type { Stats } from "node:fs";
import { closeSync, constants, fstatSync, lstatSync, openSync, read, readSync } from "node:fs";
import { lstat, readdir, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";
import { JumpgateError } from "../errors.js";
import { isIgnored, parseIgnore, type RuleSet } from "./ignore.js";
import { BLOCK, headerBytes, padded, type TarHeaderFields, writeHeader } from "./tar-header.js";

/** Bytes handed to the sink at once. */
export const CHUNK = 256 * 1024;
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
  /** Identity of what the walk saw: a file is sent only if it is still that file when opened. */
  dev: number;
  ino: number;
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
    let raw: Buffer[];
    try {
      raw = await readdir(absDir, { encoding: "buffer" });
    } catch (error) {
      scan.skipped.push({ path: relDir || ".", reason: `cannot list it: ${describeFsError(error)}` });
      return;
    }
    const names: string[] = [];
    for (const r of raw) {
      const name = utf8Exactly(r);
      if (name !== undefined) names.push(name);
      else scan.skipped.push({ path: join(relDir, r.toString("utf8")), reason: NOT_UTF8 });
    }
    names.sort();
    // Synchronous lstat (a few microseconds from the inode cache, against ~25 us of main-thread
    // work for each promise-based call), with a turn of the event loop every YIELD_EVERY names
    // so that the SSH handshake running alongside (or, in the gate, every tunnel) is never held
    // up for long, even by a directory of 100,000 entries.
    const stats: unknown[] = [];
    for (const name of names) {
      try {
        stats.push(lstatSync(join(absDir, name)));
      } catch (error) {
        stats.push(error);
      }
      if (stats.length % YIELD_EVERY === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
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
          const target = utf8Exactly(await readlink(abs, { encoding: "buffer" }));
          if (target === undefined) scan.skipped.push({ path: rel, reason: `its target: ${NOT_UTF8}` });
          else scan.entries.push({ ...entryOf(rel, abs, s), linkname: target });
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

const NOT_UTF8 = "the name is not valid UTF-8 (jumpgate sends UTF-8 names only; rename it to send it)";
const YIELD_EVERY = 1000;

/** The name as a string when it is valid UTF-8 (decoding and encoding give the same bytes back). */
function utf8Exactly(raw: Buffer): string | undefined {
  const text = raw.toString("utf8");
  return Buffer.from(text, "utf8").equals(raw) ? text : undefined;
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
    dev: s.dev,
    ino: s.ino,
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
 * Collects archive bytes into CHUNK-byte buffers for the sink. Each buffer handed over is the
 * sink's to keep (an SSH channel may queue it), so a new one is started after every flush.
 */
class ChunkWriter {
  buf = Buffer.allocUnsafe(CHUNK);
  used = 0;
  constructor(private readonly sink: (chunk: Buffer) => Promise<void>) {}

  get free(): number {
    return this.buf.length - this.used;
  }

  async flush(): Promise<void> {
    if (this.used === 0) return;
    const full = this.used === this.buf.length ? this.buf : this.buf.subarray(0, this.used);
    this.buf = Buffer.allocUnsafe(CHUNK);
    this.used = 0;
    await this.sink(full);
  }

  /** Makes `n` contiguous bytes available at `used` (n <= CHUNK). */
  async room(n: number): Promise<void> {
    if (this.free < n) await this.flush();
  }

  async zeros(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.free === 0) await this.flush();
      const k = Math.min(left, this.free);
      this.buf.fill(0, this.used, this.used + k);
      this.used += k;
      left -= k;
    }
  }

  /** Copies bytes in, across as many chunks as they need. */
  async bytes(data: Buffer): Promise<void> {
    let off = 0;
    while (off < data.length) {
      if (this.free === 0) await this.flush();
      const k = data.copy(this.buf, this.used, off);
      this.used += k;
      off += k;
    }
  }
}

/**
 * Packs `scan` and resolves once the final chunk went to `sink`. `sink` applies backpressure by
 * resolving when it can take more. Headers and file bodies are written straight into the chunk
 * buffers: no per-entry objects or streams, and each byte is copied once (from the file).
 */
export async function packTree(
  scan: TreeScan,
  sink: (chunk: Buffer) => Promise<void>,
  cb: PackCallbacks = {},
): Promise<void> {
  const out = new ChunkWriter(sink);
  /** Files sent with their data: the only names a hard link entry may point to. */
  const sent = new Set<string>();
  /** A first name that was not sent -> the later name of the same file that carries its data. */
  const standIn = new Map<string, string>();
  for (const entry of scan.entries) {
    cb.signal?.throwIfAborted();
    if (entry.type === "file") {
      if (await packFile(out, entry, cb)) sent.add(entry.rel);
    } else if (entry.type === "link") {
      const first = entry.linkname as string;
      const target = sent.has(first) ? first : standIn.get(first);
      if (target !== undefined) {
        await putHeader(out, fieldsOf({ ...entry, linkname: target }, 0));
      } else if (await packFile(out, { ...entry, type: "file", linkname: undefined }, cb, true)) {
        // The first name vanished or could not be read: this name is sent as the file itself,
        // and later names of the same file link to it (a link to a missing member fails tar -x).
        sent.add(entry.rel);
        standIn.set(first, entry.rel);
      }
    } else {
      await putHeader(out, fieldsOf(entry, 0));
    }
  }
  // The end of an archive: two zero blocks.
  await out.zeros(2 * BLOCK);
  await out.flush();
}

function fieldsOf(entry: PackEntry, size: number): TarHeaderFields {
  const fields: TarHeaderFields = {
    name: archiveName(entry),
    type: entry.type,
    mode: entry.mode,
    uid: entry.uid,
    gid: entry.gid,
    size,
    mtime: entry.mtime,
  };
  if (entry.linkname !== undefined) {
    fields.linkname =
      entry.type === "link" ? archiveName({ rel: entry.linkname, type: "file" }) : entry.linkname;
  }
  return fields;
}

async function putHeader(out: ChunkWriter, fields: TarHeaderFields): Promise<void> {
  const n = headerBytes(fields);
  if (n > CHUNK) {
    // Only a pax header with an enormous link target gets here.
    const big = Buffer.alloc(n);
    writeHeader(big, 0, fields);
    await out.bytes(big);
    return;
  }
  await out.room(n);
  out.used += writeHeader(out.buf, out.used, fields);
}

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * One file: header, body, padding. Returns whether it was sent. Nothing is written for a file
 * that cannot be opened or is no longer the file the walk saw: opened without following a link
 * and without blocking (a symlink or a fifo swapped in since the walk must not be read; a fifo
 * would block the whole process, in the gate every tunnel), then checked to be the same regular
 * file (device and inode), as GNU tar does.
 */
async function packFile(
  out: ChunkWriter,
  entry: PackEntry,
  cb: PackCallbacks,
  sizeFromFile = false,
): Promise<boolean> {
  let fd: number;
  try {
    fd = openSync(entry.abs, OPEN_FLAGS);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "ELOOP" ? `${CHANGED}: it is a symlink now` : describeFsError(error);
    cb.onSkipped?.({ path: entry.rel, reason });
    return false;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.dev !== entry.dev || st.ino !== entry.ino) {
      cb.onSkipped?.({ path: entry.rel, reason: `${CHANGED}: it is another file now` });
      return false;
    }
    const size = sizeFromFile ? st.size : entry.size;
    const sized = { ...entry, size };
    const fields = fieldsOf(sized, size);
    const whole = headerBytes(fields) + padded(size);
    if (whole <= CHUNK) return await packSmallFile(out, fields, fd, sized, cb);
    await packLargeFile(out, fields, fd, sized, cb);
    return true;
  } finally {
    closeSync(fd);
  }
}

const CHANGED = "changed since the walk, not sent";

/**
 * A file that fits in one chunk is read synchronously into place behind its header's room, and
 * the header written afterwards with the size actually read: for thousands of small files a
 * thread-pool round trip per call would dominate, while a page-cache read is microseconds. A file
 * that grew since the walk is cut at the walked size, one that shrank is sent as it is now.
 */
async function packSmallFile(
  out: ChunkWriter,
  fields: TarHeaderFields,
  fd: number,
  entry: PackEntry,
  cb: PackCallbacks,
): Promise<boolean> {
  const header = headerBytes(fields);
  await out.room(header + padded(entry.size));
  const dataAt = out.used + header;
  let got = 0;
  try {
    while (got < entry.size) {
      const n = readSync(fd, out.buf, dataAt + got, entry.size - got, got);
      if (n === 0) break;
      got += n;
    }
  } catch (error) {
    // Nothing was committed (out.used has not moved): the entry is left out whole.
    cb.onSkipped?.({ path: entry.rel, reason: describeFsError(error) });
    return false;
  }
  fields.size = got;
  writeHeader(out.buf, out.used, fields);
  out.buf.fill(0, dataAt + got, dataAt + padded(got));
  out.used = dataAt + padded(got);
  cb.onFile?.(entry.rel, "begin", got);
  cb.onBytes?.(got);
  cb.onFile?.(entry.rel, "end", got);
  return true;
}

function readAt(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, buf, offset, length, position, (error, n) => (error ? reject(error) : resolve(n)));
  });
}

/**
 * A big file is read asynchronously, chunk by chunk, into the chunk buffers. The header already
 * promised `entry.size` bytes, so a file that grew is cut there and one that shrank (or failed to
 * read part way) is padded with zeros, as GNU tar does, with a note.
 */
async function packLargeFile(
  out: ChunkWriter,
  fields: TarHeaderFields,
  fd: number,
  entry: PackEntry,
  cb: PackCallbacks,
): Promise<void> {
  await putHeader(out, fields);
  cb.onFile?.(entry.rel, "begin", entry.size);
  let written = 0;
  while (written < entry.size) {
    cb.signal?.throwIfAborted();
    // Outside the try: a sink that fails (the channel closed) is the push's error, not a read's.
    if (out.free === 0) await out.flush();
    const want = Math.min(entry.size - written, out.free);
    let n: number;
    try {
      n = await readAt(fd, out.buf, out.used, want, written);
    } catch (error) {
      if (cb.signal?.aborted) throw error;
      cb.onSkipped?.({
        path: entry.rel,
        reason: `read failed part way: ${describeFsError(error)}; zero-filled`,
      });
      break;
    }
    if (n === 0) {
      cb.onSkipped?.({ path: entry.rel, reason: "it shrank while being read; zero-filled" });
      break;
    }
    out.used += n;
    written += n;
    cb.onBytes?.(n);
  }
  await out.zeros(entry.size - written + (padded(entry.size) - entry.size));
  cb.onFile?.(entry.rel, "end", entry.size);
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
