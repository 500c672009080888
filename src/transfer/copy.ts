/**
 * `cp`'s engine: scp's semantics (OpenSSH 9.2, SFTP mode) over the FileSystem interface, so that
 * local->remote, remote->local and remote->remote (through this process, like `scp -3`) are one
 * code path. It runs in the CLI or, later, inside the gate: the caller supplies `connect`, which
 * yields a connected SshSession for a host, and absolute local paths.
 *
 * Safety rules, all enforced here:
 * - Only the names the user asked for are written: the target itself, or target/<basename of a
 *   source>, and below a copied directory only names read from the source directory, each checked to
 *   be one plain component (no '/', not '.' or '..', no NUL).
 * - Every file is written to a fresh temporary name (created O_EXCL) in its final directory and
 *   renamed over the final name only when complete; a failure or an abort removes the temporary.
 *   An interrupted copy never leaves a truncated file under the final name.
 * - Symlinks follow scp: followed for sources named on the command line and for links to files
 *   inside -r trees (the link's target contents are copied); a link to a directory inside a tree is
 *   not descended into and is reported (scp: "not a regular file"). Links are never created.
 *
 * Speed: each file is read and written with pipelined requests of the server's maximum size
 * (limits@openssh.com; ~255 KiB on OpenSSH), many requests in flight, and several files at once
 * for trees; one request window is shared by all files so memory stays bounded.
 */
import { randomBytes } from "node:crypto";
import { posix } from "node:path";
import type { SshSession } from "../connection/session.js";
import { isJumpgateError, JumpgateError } from "../errors.js";
import { expandGlob, hasGlob, isComponent } from "./glob.js";
import type { ProgressListener, TransferEvent } from "./progress.js";
import { describeRemote, prepareRemotePath, type RemoteHostSpec } from "./remotepath.js";
import {
  type FileInfo,
  type FileSystem,
  LocalFs,
  type ReadHandle,
  RemoteFs,
  type WriteHandle,
} from "./sftp-fs.js";

export type Location =
  | { kind: "local"; path: string }
  | { kind: "remote"; host: RemoteHostSpec; path: string };

/** A connected session for a host and the way to give it back (a manager lease fits). */
export interface SessionLease {
  session: SshSession;
  release(): void;
}

export interface CopyOptions {
  sources: Location[];
  target: Location;
  recursive?: boolean;
  /** -p: keep modification/access times and modes. */
  preserve?: boolean;
  /** Yields a connected session for a remote host (resolve + manager in the CLI, the gate's pool later). */
  connect(host: RemoteHostSpec): Promise<SessionLease>;
  /**
   * Instead of `connect`: the file system of a remote host, ready to use (a caller that already
   * holds an SFTP session, and tests with an in-memory or hostile server). Closed by copy().
   */
  remoteFs?(host: RemoteHostSpec): Promise<FileSystem>;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** Called for each failure that does not stop the copy (scp goes on with the other files). */
  onError?(error: JumpgateError): void;
  /** Files copied at the same time in trees. */
  filesInFlight?: number;
  /** Read/write requests in flight, shared by all files. */
  requestsInFlight?: number;
  /** Upper bound for one request, in bytes (the server's limits lower it). */
  maxRequest?: number;
}

export interface CopyResult {
  files: number;
  bytes: number;
  errors: JumpgateError[];
}

const MAX_DIR_DEPTH = 64;
const DEFAULT_FILES_IN_FLIGHT = 8;
const DEFAULT_REQUESTS_IN_FLIGHT = 64;
const DEFAULT_MAX_REQUEST = 256 * 1024;

// ---------------------------------------------------------------------------------------------
// A window of in-flight requests shared by every file

class Window {
  private free: number;
  private readonly waiters: Array<() => void> = [];
  constructor(size: number) {
    this.free = size;
  }
  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.free++;
  }
}

function abortError(): JumpgateError {
  return new JumpgateError(
    "JG_CP_INTERRUPTED",
    "the copy was interrupted; no partial file was left under a final name.",
  );
}

/**
 * Copies `size` bytes from `src` to `dst` with up to the window's requests in flight. Reads may come
 * back short (the remainder is asked again); an early end of file means the source shrank.
 */
export async function pump(
  src: ReadHandle,
  dst: WriteHandle,
  opts: {
    size: number;
    chunk: number;
    window: Window;
    signal?: AbortSignal;
    onBytes(n: number): void;
    where: string;
  },
): Promise<void> {
  const { size, chunk, window } = opts;
  const again: Array<[number, number]> = [];
  const running = new Set<Promise<void>>();
  let next = 0;
  let failure: unknown;
  const take = (): [number, number] | undefined => {
    const r = again.shift();
    if (r) return r;
    if (next >= size) return undefined;
    const len = Math.min(chunk, size - next);
    const range: [number, number] = [next, len];
    next += len;
    return range;
  };
  while (failure === undefined) {
    if (opts.signal?.aborted) {
      failure = abortError();
      break;
    }
    if (again.length === 0 && next >= size) {
      if (running.size === 0) break;
      await Promise.race(running);
      continue;
    }
    await window.acquire();
    const range = take();
    if (range === undefined || failure !== undefined) {
      window.release();
      continue;
    }
    const [pos, len] = range;
    const task = (async () => {
      try {
        const data = await src.read(pos, len);
        if (data.length === 0) {
          throw new JumpgateError(
            "JG_CP_IO",
            `${opts.where}: the file shrank while it was copied (end of file at ${pos} of ${size} bytes).`,
          );
        }
        if (data.length < len) again.unshift([pos + data.length, len - data.length]);
        await dst.write(pos, data);
        src.recycle(data);
        opts.onBytes(data.length);
      } catch (error) {
        failure ??= error;
      } finally {
        window.release();
      }
    })();
    running.add(task);
    void task.finally(() => running.delete(task));
  }
  await Promise.allSettled([...running]);
  if (failure !== undefined) throw failure;
}

// ---------------------------------------------------------------------------------------------
// Planning

interface Endpoint {
  fs: FileSystem;
  path: string;
  /** For messages. */
  label: string;
}

interface FileJob {
  src: Endpoint;
  dst: Endpoint;
  /** Size as seen while planning (progress totals); the copy uses the size at open. */
  size: number;
  info: FileInfo;
  /** Mode of an existing file being replaced (kept without -p, as scp's O_TRUNC keeps it). */
  replaceMode?: number;
}

interface DirJob {
  dst: Endpoint;
  /** Whether it existed when planned (else it is created without asking again). */
  exists: boolean;
  mode: number;
  atime: number;
  mtime: number;
}

/** One plain path component, as a remote readdir must return it. */
/** A listed name that can be written under a target directory: one plain component. */
export const safeName = isComponent;

function tempName(base: string): string {
  // Short enough for NAME_MAX with a long base; starts with '.' so directory listings hide it.
  const stem = Buffer.from(base).length > 180 ? "file" : base;
  return `.${stem}.jumpgate-${randomBytes(6).toString("hex")}.part`;
}

/** The name a source lands under in a target directory. */
function baseOf(path: string): string {
  const normal = posix.normalize(path);
  if (/^\/+$/.test(normal)) return "/";
  return posix.basename(normal.replace(/\/+$/, "")) || ".";
}

/** How long an interrupted copy may spend cleaning up before its SFTP sessions are cut. */
const ABORT_GRACE_MS = 2000;

export async function copy(opts: CopyOptions): Promise<CopyResult> {
  const errors: JumpgateError[] = [];
  const fail = (error: unknown) => {
    // After Ctrl-C every pending request fails; the interruption is reported once, at the end.
    if (opts.signal?.aborted) return;
    const e = isJumpgateError(error) ? error : new JumpgateError("JG_CP_IO", String(error), { cause: error });
    errors.push(e);
    emit({ kind: "error", at: Date.now(), code: e.code, message: e.message });
    opts.onError?.(e);
  };
  const emit = (event: TransferEvent) => opts.onProgress?.(event);

  for (const loc of [...opts.sources, opts.target]) {
    if (loc.kind === "local" && !posix.isAbsolute(loc.path)) {
      throw new JumpgateError("JG_INTERNAL", `copy() needs absolute local paths, got "${loc.path}".`);
    }
  }

  const local = new LocalFs();
  const remotes = new Map<string, { fs: Promise<FileSystem>; lease?: SessionLease }>();
  const fsFor = (loc: Location): Promise<FileSystem> => {
    if (loc.kind === "local") return Promise.resolve(local);
    const key = `${loc.host.user ?? ""}@${loc.host.host}:${loc.host.port ?? ""}`;
    let entry = remotes.get(key);
    if (!entry) {
      const slot: { fs: Promise<FileSystem>; lease?: SessionLease } = { fs: Promise.resolve(local) };
      slot.fs = (async () => {
        if (opts.remoteFs) return opts.remoteFs(loc.host);
        const lease = await opts.connect(loc.host);
        slot.lease = lease;
        const sftp = await lease.session.sftp();
        return new RemoteFs(sftp, `${describeRemote(loc.host, "")}`);
      })();
      remotes.set(key, slot);
      entry = slot;
    }
    return entry.fs;
  };
  const label = (loc: Location, path: string) =>
    loc.kind === "local" ? path : describeRemote(loc.host, path);
  // After Ctrl-C the copy stops asking and cleans up (removes its temporaries, also remote ones),
  // which needs the SFTP sessions. A server that does not answer would hold that forever: after a
  // short grace the sessions are ended, and everything still waiting fails at once.
  let abortTimer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    abortTimer = setTimeout(() => {
      for (const entry of remotes.values())
        entry.fs.then(
          (fs) => fs.abort?.(abortError()),
          () => {},
        );
    }, ABORT_GRACE_MS);
    abortTimer.unref();
  };
  opts.signal?.addEventListener("abort", onAbort, { once: true });

  try {
    // Connect every remote side first, so a connection failure stops everything before any write.
    const targetFs = await fsFor(opts.target);
    for (const s of opts.sources) await fsFor(s);

    const targetPath = await remotePathOf(opts.target, targetFs);
    const targetInfo = await targetFs.stat(targetPath);
    const targetIsDir = targetInfo?.type === "dir";
    const target: Endpoint = { fs: targetFs, path: targetPath, label: label(opts.target, targetPath) };

    // Expand remote globs (scp: GLOB_NOCHECK, then a missing name is reported as missing).
    const expanded: Endpoint[] = [];
    for (const s of opts.sources) {
      const fs = await fsFor(s);
      try {
        const path = await remotePathOf(s, fs);
        if (s.kind === "remote" && hasGlob(path)) {
          const matches = await expandGlob(path, {
            list: async (dir) => {
              const names = (await fs.readdir(dir)).map((e) => e.name);
              for (const name of names.filter((n) => !safeName(n))) {
                fail(
                  new JumpgateError(
                    "JG_CP_UNSAFE_NAME",
                    `${label(s, dir)}: the server listed an unsafe name ${JSON.stringify(name)} (a path, '.' or '..'); not matched.`,
                  ),
                );
              }
              return names.map((name) => ({ name }));
            },
            exists: async (p) => (await fs.lstat(p)) !== null,
          });
          if (matches.length === 0) {
            throw new JumpgateError(
              "JG_CP_NOT_FOUND",
              `${label(s, path)}: no such file or directory (no match).`,
            );
          }
          for (const m of matches) expanded.push({ fs, path: m.path, label: label(s, m.path) });
        } else expanded.push({ fs, path, label: label(s, path) });
      } catch (error) {
        fail(error);
      }
    }

    if (expanded.length > 1 && !targetIsDir) {
      throw new JumpgateError(
        "JG_CP_NOT_DIRECTORY",
        targetInfo
          ? `${target.label}: not a directory; copying several files needs a directory as the target.`
          : `${target.label}: no such directory; copying several files needs an existing directory as the target.`,
      );
    }
    if (!targetIsDir && targetPath.endsWith("/") && targetPath !== "/") {
      throw new JumpgateError("JG_CP_NOT_DIRECTORY", `${target.label}: no such directory.`);
    }

    const files: FileJob[] = [];
    const dirs: DirJob[] = [];
    for (const src of expanded) {
      try {
        const base = baseOf(src.path);
        if (base === ".." || base === "/") {
          throw new JumpgateError(
            "JG_CP_PATH",
            `${src.label}: name the directory itself (not '..' or '/') so the copy has a name in the target.`,
          );
        }
        const info = await src.fs.stat(src.path);
        if (info === null)
          throw new JumpgateError("JG_CP_NOT_FOUND", `${src.label}: no such file or directory.`);
        const dstPath = targetIsDir ? (base === "." ? targetPath : posix.join(targetPath, base)) : targetPath;
        const dst: Endpoint = { fs: targetFs, path: dstPath, label: label(opts.target, dstPath) };
        if (info.type === "dir") {
          if (!opts.recursive) {
            throw new JumpgateError(
              "JG_CP_IS_DIRECTORY",
              `${src.label}: is a directory; use -r to copy it with its contents.`,
            );
          }
          await planDir(src, dst, info, 0, files, dirs, fail);
        } else if (info.type === "file") {
          files.push(await fileJob(src, dst, info));
        } else {
          throw new JumpgateError("JG_CP_NOT_REGULAR", `${src.label}: not a regular file; skipped.`);
        }
      } catch (error) {
        fail(error);
      }
    }

    const totalBytes = files.reduce((n, f) => n + f.size, 0);
    emit({
      kind: "start",
      op: "cp",
      at: Date.now(),
      totalBytes,
      totalFiles: files.length,
      label: target.label,
    });

    // Directories first (parents before children: planning order), then the files.
    const createdDirs = await makeDirs(dirs, fail);
    const maxRequest = Math.min(
      opts.maxRequest ?? DEFAULT_MAX_REQUEST,
      ...[...new Set(files.flatMap((f) => [f.src.fs, f.dst.fs]))].map((fs) => fs.maxRequest),
    );
    const window = new Window(opts.requestsInFlight ?? DEFAULT_REQUESTS_IN_FLIGHT);
    let copied = 0;
    let bytes = 0;
    const queue = files.filter((f) => createdDirs.ok(f.dst.path));
    if (opts.signal?.aborted) throw abortError();
    const workers = Array.from(
      { length: Math.min(opts.filesInFlight ?? DEFAULT_FILES_IN_FLIGHT, queue.length) },
      async () => {
        for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
          if (opts.signal?.aborted) return;
          try {
            emit({ kind: "file", at: Date.now(), path: job.src.label, state: "begin", size: job.size });
            await copyFile(job, {
              preserve: opts.preserve === true,
              chunk: maxRequest,
              window,
              signal: opts.signal,
              onBytes: (n) => {
                bytes += n;
                emit({ kind: "bytes", at: Date.now(), n, path: job.src.label });
              },
            });
            copied++;
            emit({ kind: "file", at: Date.now(), path: job.src.label, state: "end" });
          } catch (error) {
            if (opts.signal?.aborted) return;
            fail(error);
          }
        }
      },
    );
    await Promise.all(workers);
    if (opts.signal?.aborted) throw abortError();

    // Directory attributes last, deepest first, so writing the files did not change their times.
    // With -p: the source's mode and times. Without: as scp, a directory that existed is left
    // alone, and a new one keeps what mkdir gave it (the source's bits under the receiving side's
    // umask) except the owner bits jumpgate added to be able to fill it.
    for (const d of [...dirs].reverse()) {
      if (!createdDirs.ok(d.dst.path)) continue;
      try {
        if (opts.preserve) {
          await d.dst.fs.setAttrs(d.dst.path, { mode: d.mode, atime: d.atime, mtime: d.mtime });
        } else if (!d.exists && (d.mode & 0o700) !== 0o700) {
          const made = await d.dst.fs.stat(d.dst.path);
          if (made) await d.dst.fs.setAttrs(d.dst.path, { mode: made.mode & 0o7777 & ~(0o700 & ~d.mode) });
        }
      } catch (error) {
        fail(error);
      }
    }
    emit({ kind: "done", at: Date.now() });
    return { files: copied, bytes, errors };
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
    clearTimeout(abortTimer);
    for (const entry of remotes.values()) {
      try {
        (await entry.fs.catch(() => null))?.close();
      } catch {
        // Closing is best effort; the lease release below ends what is left.
      }
      entry.lease?.release();
    }
  }
}

/** A remote path as the server should see it ("~" and "~/x" relative to the home; "~user" expanded). */
async function remotePathOf(loc: Location, fs: FileSystem): Promise<string> {
  if (loc.kind === "local") return loc.path;
  const p = prepareRemotePath(loc.path);
  return "path" in p ? p.path : await fs.expandHome(p.expand);
}

/** `existing`: what is at the destination, when the caller already knows (undefined: look it up). */
async function fileJob(
  src: Endpoint,
  dst: Endpoint,
  info: FileInfo,
  existing: FileInfo | null | undefined = undefined,
): Promise<FileJob> {
  if (existing === undefined) existing = await dst.fs.stat(dst.path);
  if (existing?.type === "dir") {
    throw new JumpgateError(
      "JG_CP_IS_DIRECTORY",
      `${dst.label}: is a directory; cannot replace it with a file.`,
    );
  }
  return {
    src,
    dst,
    size: info.size,
    info,
    ...(existing?.type === "file" ? { replaceMode: existing.mode } : {}),
  };
}

async function planDir(
  src: Endpoint,
  dst: Endpoint,
  info: FileInfo,
  depth: number,
  files: FileJob[],
  dirs: DirJob[],
  fail: (e: unknown) => void,
  /** false when the parent was planned as new: nothing below it exists yet, no need to ask. */
  mayExist = true,
): Promise<void> {
  if (depth >= MAX_DIR_DEPTH) {
    throw new JumpgateError(
      "JG_CP_IO",
      `${src.label}: more than ${MAX_DIR_DEPTH} directory levels; not copied.`,
    );
  }
  const existing = mayExist ? await dst.fs.stat(dst.path) : null;
  if (existing && existing.type !== "dir") {
    throw new JumpgateError("JG_CP_NOT_DIRECTORY", `${dst.label}: exists and is not a directory.`);
  }
  // What the destination directory already holds, in one listing instead of a stat per name (a
  // round trip each over SFTP). Symlinks there are resolved as stat() would.
  const present = new Map<string, FileInfo>();
  if (existing) {
    for (const entry of await dst.fs.readdir(dst.path)) {
      const resolved =
        entry.info.type === "symlink" ? await dst.fs.stat(posix.join(dst.path, entry.name)) : entry.info;
      if (resolved) present.set(entry.name, resolved);
    }
  }
  // scp creates directories with the source's mode (07777 masked to 01777) plus u+wx while copying.
  dirs.push({
    dst,
    exists: existing !== null,
    mode: info.mode & 0o1777,
    atime: info.atime,
    mtime: info.mtime,
  });
  const entries = await src.fs.readdir(src.path);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const srcPath = posix.join(src.path, e.name);
    const s: Endpoint = { fs: src.fs, path: srcPath, label: `${src.label.replace(/\/$/, "")}/${e.name}` };
    if (!safeName(e.name)) {
      fail(
        new JumpgateError(
          "JG_CP_UNSAFE_NAME",
          `${src.label}: the server listed an unsafe name ${JSON.stringify(e.name)} (a path, '.' or '..'); skipped.`,
        ),
      );
      continue;
    }
    const dstPath = posix.join(dst.path, e.name);
    const d: Endpoint = { fs: dst.fs, path: dstPath, label: `${dst.label.replace(/\/$/, "")}/${e.name}` };
    try {
      let entryInfo = e.info;
      if (entryInfo.type === "symlink") {
        // scp (SFTP mode) follows links to files; a link to a directory or a dangling one is an error.
        const target = await src.fs.stat(srcPath);
        if (target === null)
          throw new JumpgateError("JG_CP_NOT_FOUND", `${s.label}: dangling symlink; skipped.`);
        if (target.type !== "file") {
          throw new JumpgateError(
            "JG_CP_NOT_REGULAR",
            `${s.label}: a symlink to a ${target.type === "dir" ? "directory" : "special file"}; not followed inside -r trees (as scp); skipped.`,
          );
        }
        entryInfo = target;
      }
      const there = existing ? (present.get(e.name) ?? null) : null;
      if (entryInfo.type === "dir")
        await planDir(s, d, entryInfo, depth + 1, files, dirs, fail, there !== null);
      else if (entryInfo.type === "file") files.push(await fileJob(s, d, entryInfo, there));
      else throw new JumpgateError("JG_CP_NOT_REGULAR", `${s.label}: not a regular file; skipped.`);
    } catch (error) {
      fail(error);
    }
  }
}

/** Creates the planned directories; files under one that failed are skipped (already reported). */
async function makeDirs(dirs: DirJob[], fail: (e: unknown) => void): Promise<{ ok(path: string): boolean }> {
  const failed: string[] = [];
  const under = (path: string) => failed.some((f) => path === f || path.startsWith(`${f}/`));
  for (const d of dirs) {
    if (under(d.dst.path)) continue;
    try {
      const existing = d.exists ? await d.dst.fs.stat(d.dst.path) : null;
      if (!existing) await d.dst.fs.mkdir(d.dst.path, d.mode | 0o700);
      else if (existing.type !== "dir") {
        throw new JumpgateError("JG_CP_NOT_DIRECTORY", `${d.dst.label}: exists and is not a directory.`);
      }
    } catch (error) {
      failed.push(d.dst.path);
      fail(error);
    }
  }
  return { ok: (path) => !under(posix.dirname(path)) && !failed.includes(path) };
}

async function copyFile(
  job: FileJob,
  o: {
    preserve: boolean;
    chunk: number;
    window: Window;
    signal: AbortSignal | undefined;
    onBytes(n: number): void;
  },
): Promise<void> {
  const src = await job.src.fs.openRead(job.src.path, job.info);
  const dstDir = posix.dirname(job.dst.path);
  const tmp = posix.join(dstDir, tempName(posix.basename(job.dst.path)));
  let out: WriteHandle | undefined;
  let closed = false;
  try {
    // scp: created with the source's permission bits plus u+w, subject to the receiver's umask.
    out = await job.dst.fs.openWrite(tmp, (src.mode & 0o777) | 0o200);
    await pump(src, out, {
      size: src.size,
      chunk: o.chunk,
      window: o.window,
      signal: o.signal,
      onBytes: o.onBytes,
      where: job.src.label,
    });
    closed = true;
    await out.close();
    if (o.signal?.aborted) throw abortError();
    if (o.preserve) {
      await job.dst.fs.setAttrs(tmp, { mode: src.mode & 0o777, atime: src.atime, mtime: src.mtime });
    } else if (job.replaceMode !== undefined) {
      await job.dst.fs.setAttrs(tmp, { mode: job.replaceMode & 0o7777 });
    }
    await job.dst.fs.rename(tmp, job.dst.path);
  } catch (error) {
    if (out && !closed) await out.close().catch(() => {});
    await job.dst.fs.unlink(tmp).catch(() => {});
    throw error;
  } finally {
    await src.close().catch(() => {});
  }
}
