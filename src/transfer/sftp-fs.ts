/**
 * The two file systems `cp` copies between, behind one small interface in SFTP's vocabulary:
 * positional reads and writes, stat/lstat, readdir with attributes, mkdir, rename, setstat.
 * RemoteFs speaks SFTP through ssh2's client; LocalFs uses node:fs. copy.ts sees only the interface,
 * so local->remote, remote->local and remote->remote are one engine.
 *
 * Errors leave here as JumpgateErrors naming the path (with the host for remote paths).
 */
import { constants as fsConstants, promises as fsp } from "node:fs";
import { posix } from "node:path";
import type { SFTPWrapper, Stats } from "ssh2";
import { JumpgateError } from "../errors.js";

export type FileType = "file" | "dir" | "symlink" | "other";

export interface FileInfo {
  type: FileType;
  size: number;
  /** Permission bits (07777). */
  mode: number;
  /** Seconds since the epoch (SFTP v3 carries whole seconds). */
  atime: number;
  mtime: number;
}

export interface DirEntry {
  name: string;
  /** lstat() information: a symlink is reported as one. */
  info: FileInfo;
}

export interface ReadHandle {
  readonly size: number;
  readonly mode: number;
  readonly atime: number;
  readonly mtime: number;
  /** Up to `len` bytes at `pos`; fewer is allowed, an empty buffer means end of file. */
  read(pos: number, len: number): Promise<Buffer>;
  /** Gives back a buffer `read` returned, once its bytes are written, for the next read to reuse. */
  recycle(buf: Buffer): void;
  close(): Promise<void>;
}

export interface WriteHandle {
  write(pos: number, data: Buffer): Promise<void>;
  close(): Promise<void>;
}

export interface FileSystem {
  /** For messages: "" for local paths, "host:" for remote ones. */
  readonly prefix: string;
  /** Largest read or write request worth issuing (the server's limits@openssh.com for SFTP). */
  readonly maxRequest: number;
  /** null when the path does not exist. */
  stat(path: string): Promise<FileInfo | null>;
  lstat(path: string): Promise<FileInfo | null>;
  readdir(path: string): Promise<DirEntry[]>;
  mkdir(path: string, mode: number): Promise<void>;
  /**
   * `known`: the file's attributes from a listing, so a remote open needs no extra stat round trip
   * (scp does the same); the copy then takes that size.
   */
  openRead(path: string, known?: FileInfo): Promise<ReadHandle>;
  /** Creates a new file (O_EXCL: never opens an existing file or follows a symlink there). */
  openWrite(path: string, mode: number): Promise<WriteHandle>;
  /** Replaces `to` atomically when the server can (posix-rename@openssh.com). */
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  setAttrs(path: string, attrs: { mode?: number; atime?: number; mtime?: number }): Promise<void>;
  /** `~user/...` for remote paths (expand-path@openssh.com); local paths are returned unchanged. */
  expandHome(path: string): Promise<string>;
  close(): void;
  /**
   * Ends the session now: every request still waiting (a server that does not answer) fails with
   * `error`, and so does every later one. Ctrl-C must not wait for a reply that may never come.
   */
  abort?(error: Error): void;
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

export function typeOfMode(mode: number): FileType {
  const t = mode & S_IFMT;
  return t === S_IFREG ? "file" : t === S_IFDIR ? "dir" : t === S_IFLNK ? "symlink" : "other";
}

// ---------------------------------------------------------------------------------------------
// Errors

/** SFTP status codes (draft-ietf-secsh-filexfer-02). */
const FX_NO_SUCH_FILE = 2;
const FX_PERMISSION_DENIED = 3;

export function ioError(op: string, where: string, error: unknown): JumpgateError {
  if (error instanceof JumpgateError) return error;
  const e = error as { code?: unknown; message?: string };
  const detail = e?.message ?? String(error);
  if (e?.code === "ENOENT" || e?.code === FX_NO_SUCH_FILE) {
    return new JumpgateError("JG_CP_NOT_FOUND", `${where}: no such file or directory (${op}).`, {
      cause: error,
    });
  }
  if (e?.code === "EACCES" || e?.code === "EPERM" || e?.code === FX_PERMISSION_DENIED) {
    return new JumpgateError(
      "JG_CP_PERMISSION",
      `${where}: permission denied (${op}). Check the owner and mode of the file and its directory.`,
      { cause: error },
    );
  }
  if (e?.code === "ENOSPC" || e?.code === "EDQUOT") {
    return new JumpgateError("JG_CP_NO_SPACE", `${where}: no space left on the device (${op}).`, {
      cause: error,
    });
  }
  if (e?.code === "ENOTDIR") {
    return new JumpgateError(
      "JG_CP_NOT_DIRECTORY",
      `${where}: a part of the path is not a directory (${op}).`,
      {
        cause: error,
      },
    );
  }
  return new JumpgateError("JG_CP_IO", `${where}: ${op} failed: ${detail}.`, { cause: error });
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === "ENOENT" || code === "ENOTDIR" || code === FX_NO_SUCH_FILE;
}

/**
 * Read buffers are reused: at hundreds of MiB/s, a fresh 256 KiB buffer per request is measurable
 * garbage-collector work. Only whole buffers handed out by `take` come back.
 */
class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private readonly out = new WeakMap<ArrayBufferLike, Buffer>();
  take(len: number): Buffer {
    const buf = this.free.get(len)?.pop() ?? Buffer.allocUnsafeSlow(len);
    this.out.set(buf.buffer, buf);
    return buf;
  }
  give(view: Buffer): void {
    const buf = this.out.get(view.buffer);
    if (buf === undefined) return;
    this.out.delete(view.buffer);
    const list = this.free.get(buf.length) ?? [];
    if (list.length < 256) list.push(buf);
    this.free.set(buf.length, list);
  }
}

// ---------------------------------------------------------------------------------------------
// Local

function localInfo(st: import("node:fs").Stats): FileInfo {
  return {
    type: st.isFile() ? "file" : st.isDirectory() ? "dir" : st.isSymbolicLink() ? "symlink" : "other",
    size: st.size,
    mode: st.mode & 0o7777,
    atime: Math.floor(st.atimeMs / 1000),
    mtime: Math.floor(st.mtimeMs / 1000),
  };
}

export class LocalFs implements FileSystem {
  readonly prefix = "";
  readonly maxRequest = 1024 * 1024;

  async stat(path: string): Promise<FileInfo | null> {
    try {
      return localInfo(await fsp.stat(path));
    } catch (error) {
      if (isMissing(error)) return null;
      throw ioError("stat", path, error);
    }
  }

  async lstat(path: string): Promise<FileInfo | null> {
    try {
      return localInfo(await fsp.lstat(path));
    } catch (error) {
      if (isMissing(error)) return null;
      throw ioError("lstat", path, error);
    }
  }

  async readdir(path: string): Promise<DirEntry[]> {
    let names: string[];
    try {
      names = await fsp.readdir(path);
    } catch (error) {
      throw ioError("read directory", path, error);
    }
    const out: DirEntry[] = [];
    for (const name of names) {
      const info = await this.lstat(posix.join(path, name));
      if (info) out.push({ name, info });
    }
    return out;
  }

  async mkdir(path: string, mode: number): Promise<void> {
    try {
      await fsp.mkdir(path, { mode });
    } catch (error) {
      throw ioError("mkdir", path, error);
    }
  }

  async openRead(path: string): Promise<ReadHandle> {
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(path, "r");
    } catch (error) {
      throw ioError("open", path, error);
    }
    const st = localInfo(await fh.stat());
    const pool = new BufferPool();
    return {
      size: st.size,
      mode: st.mode,
      atime: st.atime,
      mtime: st.mtime,
      recycle: (buf) => pool.give(buf),
      read: async (pos, len) => {
        const buf = pool.take(len);
        try {
          const { bytesRead } = await fh.read(buf, 0, len, pos);
          return bytesRead === len ? buf : buf.subarray(0, bytesRead);
        } catch (error) {
          throw ioError("read", path, error);
        }
      },
      close: () => fh.close(),
    };
  }

  async openWrite(path: string, mode: number): Promise<WriteHandle> {
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(
        path,
        fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW,
        mode,
      );
    } catch (error) {
      throw ioError("create", path, error);
    }
    return {
      write: async (pos, data) => {
        try {
          let done = 0;
          while (done < data.length) {
            const { bytesWritten } = await fh.write(data, done, data.length - done, pos + done);
            done += bytesWritten;
          }
        } catch (error) {
          throw ioError("write", path, error);
        }
      },
      close: async () => {
        try {
          await fh.close();
        } catch (error) {
          throw ioError("close", path, error);
        }
      },
    };
  }

  async rename(from: string, to: string): Promise<void> {
    try {
      await fsp.rename(from, to);
    } catch (error) {
      throw ioError("rename", to, error);
    }
  }

  async unlink(path: string): Promise<void> {
    try {
      await fsp.unlink(path);
    } catch (error) {
      if (!isMissing(error)) throw ioError("remove", path, error);
    }
  }

  async setAttrs(path: string, attrs: { mode?: number; atime?: number; mtime?: number }): Promise<void> {
    try {
      if (attrs.mode !== undefined) await fsp.chmod(path, attrs.mode);
      if (attrs.atime !== undefined && attrs.mtime !== undefined)
        await fsp.utimes(path, attrs.atime, attrs.mtime);
    } catch (error) {
      throw ioError("set attributes", path, error);
    }
  }

  async expandHome(path: string): Promise<string> {
    return path;
  }

  close(): void {}
}

// ---------------------------------------------------------------------------------------------
// Remote (SFTP)

function remoteInfo(attrs: Stats): FileInfo {
  return {
    type: typeOfMode(attrs.mode),
    size: attrs.size,
    mode: attrs.mode & 0o7777,
    atime: attrs.atime,
    mtime: attrs.mtime,
  };
}

/** ssh2 keeps the negotiated limits on private fields; read them, falling back to SFTP's safe size. */
function negotiatedLimits(sftp: SFTPWrapper): { read: number; write: number } {
  // Not in @types/ssh2: set by ssh2 from limits@openssh.com (or 256 KiB less overhead for OpenSSH).
  const fields = sftp as unknown as { _maxReadLen?: unknown; _maxWriteLen?: unknown };
  const read = typeof fields._maxReadLen === "number" && fields._maxReadLen > 0 ? fields._maxReadLen : 32768;
  const write =
    typeof fields._maxWriteLen === "number" && fields._maxWriteLen > 0 ? fields._maxWriteLen : 32768;
  return { read, write };
}

function hasExtension(sftp: SFTPWrapper, name: string): boolean {
  // Not in @types/ssh2: the extensions the server announced in its VERSION packet.
  const ext = (sftp as unknown as { _extensions?: Record<string, string> })._extensions;
  return ext !== undefined && Object.hasOwn(ext, name);
}

export class RemoteFs implements FileSystem {
  readonly maxRequest: number;
  readonly readMax: number;
  readonly writeMax: number;
  private readonly posixRename: boolean;
  private readonly expandPath: boolean;

  constructor(
    private readonly sftp: SFTPWrapper,
    /** "host:" for messages. */
    readonly prefix: string,
  ) {
    const limits = negotiatedLimits(sftp);
    this.readMax = limits.read;
    this.writeMax = limits.write;
    this.maxRequest = Math.min(limits.read, limits.write);
    this.posixRename = hasExtension(sftp, "posix-rename@openssh.com");
    this.expandPath = hasExtension(sftp, "expand-path@openssh.com");
    // If the channel or the connection goes away, every request still waiting fails now instead
    // of leaving the copy waiting for an answer that cannot come.
    const lost = (why: string) => () => this.fail(why);
    sftp.on("error", (error: Error) => this.fail(error.message));
    sftp.once("close", lost("the SFTP channel closed"));
    sftp.once("end", lost("the SFTP channel ended"));
  }

  private readonly pending = new Set<(error: Error) => void>();
  private lostError: JumpgateError | null = null;

  private fail(why: string): void {
    this.lostError ??= new JumpgateError(
      "JG_CP_IO",
      `${this.prefix} the connection was lost during the copy (${why}); files not complete were not renamed into place.`,
    );
    const waiting = [...this.pending];
    this.pending.clear();
    for (const reject of waiting) reject(this.lostError);
  }

  private where(path: string): string {
    return `${this.prefix}${path}`;
  }

  private call<T>(
    op: string,
    path: string,
    fn: (cb: (err: Error | null | undefined, v: T) => void) => void,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.lostError) {
        reject(this.lostError);
        return;
      }
      this.pending.add(reject);
      fn((err, v) => {
        this.pending.delete(reject);
        if (err) reject(ioError(op, this.where(path), err));
        else resolve(v);
      });
    });
  }

  private async maybe<T>(p: Promise<T>): Promise<T | null> {
    try {
      return await p;
    } catch (error) {
      if (error instanceof JumpgateError && error.code === "JG_CP_NOT_FOUND") return null;
      throw error;
    }
  }

  async stat(path: string): Promise<FileInfo | null> {
    const st = await this.maybe(this.call<Stats>("stat", path, (cb) => this.sftp.stat(path, cb)));
    return st ? remoteInfo(st) : null;
  }

  async lstat(path: string): Promise<FileInfo | null> {
    const st = await this.maybe(this.call<Stats>("lstat", path, (cb) => this.sftp.lstat(path, cb)));
    return st ? remoteInfo(st) : null;
  }

  async readdir(path: string): Promise<DirEntry[]> {
    const list = await this.call<{ filename: string; attrs: Stats }[]>("read directory", path, (cb) =>
      this.sftp.readdir(path, cb),
    );
    return list
      .filter((e) => e.filename !== "." && e.filename !== "..")
      .map((e) => ({ name: e.filename, info: remoteInfo(e.attrs) }));
  }

  mkdir(path: string, mode: number): Promise<void> {
    return this.call<void>("mkdir", path, (cb) =>
      this.sftp.mkdir(path, { mode }, (err) => cb(err, undefined)),
    );
  }

  async openRead(path: string, known?: FileInfo): Promise<ReadHandle> {
    const handle = await this.call<Buffer>("open", path, (cb) => this.sftp.open(path, "r", cb));
    let info: FileInfo;
    try {
      info = known ?? remoteInfo(await this.call<Stats>("stat", path, (cb) => this.sftp.fstat(handle, cb)));
    } catch (error) {
      this.sftp.close(handle, () => {});
      throw error;
    }
    if (!Number.isSafeInteger(info.size) || info.size < 0) {
      // SFTP makes the size optional; the copy is planned and checked against it.
      this.sftp.close(handle, () => {});
      throw new JumpgateError(
        "JG_CP_IO",
        `${this.where(path)}: the server did not say how big the file is, so jumpgate cannot copy it safely; copy it with scp or sftp instead.`,
      );
    }
    const pool = new BufferPool();
    return {
      size: info.size,
      mode: info.mode,
      atime: info.atime,
      mtime: info.mtime,
      recycle: (buf) => pool.give(buf),
      read: async (pos, len) => {
        const buf = pool.take(len);
        const n = await this.call<number>("read", path, (cb) =>
          this.sftp.read(handle, buf, 0, len, pos, (err, bytesRead) => cb(err, bytesRead)),
        );
        return n === len ? buf : buf.subarray(0, n);
      },
      close: () =>
        this.call<void>("close", path, (cb) => this.sftp.close(handle, (err) => cb(err, undefined))),
    };
  }

  async openWrite(path: string, mode: number): Promise<WriteHandle> {
    const handle = await this.call<Buffer>("create", path, (cb) => this.sftp.open(path, "wx", { mode }, cb));
    return {
      write: (pos, data) =>
        this.call<void>("write", path, (cb) =>
          this.sftp.write(handle, data, 0, data.length, pos, (err) => cb(err, undefined)),
        ),
      close: () =>
        this.call<void>("close", path, (cb) => this.sftp.close(handle, (err) => cb(err, undefined))),
    };
  }

  async rename(from: string, to: string): Promise<void> {
    if (this.posixRename) {
      return this.call<void>("rename", to, (cb) =>
        this.sftp.ext_openssh_rename(from, to, (err) => cb(err, undefined)),
      );
    }
    // Plain SFTP rename refuses an existing target: remove it first (not atomic; servers without
    // posix-rename@openssh.com only).
    const existing = await this.lstat(to);
    if (existing && existing.type !== "dir") await this.unlink(to);
    return this.call<void>("rename", to, (cb) => this.sftp.rename(from, to, (err) => cb(err, undefined)));
  }

  async unlink(path: string): Promise<void> {
    await this.maybe(
      this.call<void>("remove", path, (cb) => this.sftp.unlink(path, (err) => cb(err, undefined))),
    );
  }

  setAttrs(path: string, attrs: { mode?: number; atime?: number; mtime?: number }): Promise<void> {
    return this.call<void>("set attributes", path, (cb) =>
      this.sftp.setstat(path, attrs, (err) => cb(err, undefined)),
    );
  }

  async expandHome(path: string): Promise<string> {
    if (!this.expandPath) {
      throw new JumpgateError(
        "JG_CP_PATH",
        `${this.where(path)}: ~user paths need the server's expand-path@openssh.com extension; write the full path.`,
      );
    }
    return this.call<string>("expand path", path, (cb) => this.sftp.ext_openssh_expandPath(path, cb));
  }

  close(): void {
    this.sftp.end();
  }

  abort(error: JumpgateError): void {
    this.lostError = error;
    const waiting = [...this.pending];
    this.pending.clear();
    for (const reject of waiting) reject(error);
    this.sftp.end();
  }
}
