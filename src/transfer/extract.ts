/**
 * The receiving half of `jumpgate pull`: a tar stream from a remote host is untrusted input, so it
 * is extracted under strict rules, each refusal explained and the rest of the archive still used:
 *
 * - names: no absolute path, no `..` component, no NUL, bounded length and depth;
 * - never through a symlink: every parent directory of an entry is checked with lstat (created if
 *   missing, refused if it is a symlink or not a directory), files are created with
 *   O_EXCL|O_NOFOLLOW after removing what was there (never opened through an existing link), and
 *   nothing is written under an entry that was itself refused;
 * - symlinks: relative targets only, whose leading `..` run stays inside the destination and with
 *   no `..` after the first name. With parents always real directories, such a link resolves inside
 *   the destination whatever the links it passes through point to (each of them obeys the same rule);
 * - hard links: only to a file this same run extracted;
 * - no device files, fifos or other special types; setuid, setgid and sticky bits are dropped,
 *   and the permission bits are the archive's minus the umask (as `tar -x` gives a non-root user
 *   and scp gives anyone: a server cannot leave group- or world-writable files behind);
 * - bounded entry count and total size: exceeding them stops the extraction (fatal).
 *
 * Owners are never changed (jumpgate never chowns). Directory modes and mtimes are applied at the
 * end, deepest first, so a read-only directory can still be filled.
 *
 * File system calls are synchronous: one entry at a time, in archive order, with no interleaving to
 * reason about; each call is short (a 512-byte header, a file body chunk).
 */
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  futimesSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import tarStream, { type Header } from "tar-stream";
import { JumpgateError } from "../errors.js";
import { currentUmask } from "../util/umask.js";
import { describeFsError } from "./pack.js";

export interface ExtractLimits {
  /** Entries (of every type) in the archive. */
  maxEntries: number;
  /** Sum of regular file sizes. */
  maxBytes: number;
  /** Path components in a name. */
  maxDepth: number;
  /** Bytes in a name. */
  maxPathBytes: number;
}

export const DEFAULT_LIMITS: ExtractLimits = {
  maxEntries: 1_000_000,
  maxBytes: 64 * 1024 ** 3,
  maxDepth: 64,
  maxPathBytes: 4096,
};

export interface Refusal {
  /** The entry's name as the archive gave it (control characters not yet stripped). */
  path: string;
  reason: string;
}

export interface ExtractProgress {
  onFile?(path: string, state: "begin" | "end", size: number): void;
  onBytes?(n: number): void;
  /** Called for each refused entry, as it happens. */
  onRefused?(refusal: Refusal): void;
  /** Called for each change made to an entry (setuid bit dropped...). */
  onNote?(note: Refusal): void;
}

export interface ExtractSummary {
  files: number;
  directories: number;
  symlinks: number;
  hardlinks: number;
  bytes: number;
  refused: Refusal[];
  notes: Refusal[];
  /** The file being written when the extraction stopped (removed, since it was incomplete). */
  incomplete?: string;
  /** The last file written completely. */
  lastComplete?: string;
}

export interface Extractor {
  /** Write the tar bytes here (a Writable: honour write()'s return value and "drain"). */
  readonly input: tarStream.Extract;
  /** Settles when the archive ended and directory metadata is applied, or with the fatal error. */
  readonly done: Promise<ExtractSummary>;
  /** What was written so far (also after a failure). */
  summary(): ExtractSummary;
}

/** Outcome of checking a name: the clean relative path (components), or why it is refused. */
export type NameCheck = { ok: true; parts: string[] } | { ok: false; reason: string };

/** Checks an archive member name; `""`, `.` and `./` are the root (parts = []). */
export function checkName(name: string, limits: ExtractLimits = DEFAULT_LIMITS): NameCheck {
  if (name.includes("\0")) return { ok: false, reason: "the name contains a NUL byte" };
  if (name.startsWith("/"))
    return { ok: false, reason: "absolute path (jumpgate only writes inside the destination)" };
  if (Buffer.byteLength(name) > limits.maxPathBytes)
    return { ok: false, reason: `the name is longer than ${limits.maxPathBytes} bytes` };
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes(".."))
    return { ok: false, reason: "the name contains '..' (it could leave the destination)" };
  if (parts.length > limits.maxDepth)
    return { ok: false, reason: `more than ${limits.maxDepth} directory levels deep` };
  if (parts.some((p) => Buffer.byteLength(p) > 255))
    return { ok: false, reason: "a path component is longer than 255 bytes" };
  return { ok: true, parts };
}

/**
 * Checks a symlink target for a link whose own path is `parts`. Returns undefined when allowed,
 * else the reason.
 */
export function checkSymlinkTarget(target: string, parts: readonly string[]): string | undefined {
  if (target === "") return "the link target is empty";
  if (target.includes("\0")) return "the link target contains a NUL byte";
  if (target.startsWith("/"))
    return `the link points to an absolute path (${target}), outside the destination`;
  const segments = target.split("/").filter((s) => s !== "" && s !== ".");
  let ups = 0;
  let named = false;
  for (const s of segments) {
    if (s === "..") {
      if (named)
        return `the link target '${target}' has '..' after a name (it could leave the destination through another link)`;
      ups++;
    } else named = true;
  }
  // The link's directory is parts.length - 1 levels below the destination.
  if (ups > parts.length - 1) return `the link target '${target}' leaves the destination`;
  return undefined;
}

const REFUSED_TYPES: Readonly<Record<string, string>> = {
  "character-device": "a character device file (never created by jumpgate)",
  "block-device": "a block device file (never created by jumpgate)",
  fifo: "a fifo (named pipe; never created by jumpgate)",
};

const NOFOLLOW_CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** The part of tar-stream's entry stream (a streamx Readable) used here. */
interface EntryStream {
  on(event: "data", listener: (chunk: Buffer) => void): unknown;
  on(event: "end" | "error", listener: () => void): unknown;
  resume(): unknown;
}

/**
 * Creates an extractor into `dest` (absolute; created if missing, must not be a symlink chosen by
 * the archive: the caller chose it).
 */
export function createExtractor(
  dest: string,
  opts: { limits?: Partial<ExtractLimits>; progress?: ExtractProgress } = {},
): Extractor {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const progress = opts.progress ?? {};
  // A large buffer: a full one pauses the channel, and ssh2 then holds back its window adjust.
  const input = tarStream.extract({ highWaterMark: 4 * 1024 * 1024 });
  const summary: ExtractSummary = {
    files: 0,
    directories: 0,
    symlinks: 0,
    hardlinks: 0,
    bytes: 0,
    refused: [],
    notes: [],
  };
  let entries = 0;
  /** Relative directories known to be real directories (checked or created by us). */
  const realDirs = new Set<string>([""]);
  /** Entries refused: nothing is written beneath them. */
  const refusedPaths = new Set<string>();
  /** Regular files this run wrote: the only allowed hard link targets. */
  const extractedFiles = new Set<string>();
  const dirMeta: { rel: string; mode: number; mtime: Date }[] = [];
  const umask = currentUmask();
  let fatal: unknown;
  /** Bytes of the file being written, taken back out of summary.bytes if it is removed. */
  let currentBytes = 0;

  const abs = (rel: string) => (rel === "" ? dest : join(dest, rel));

  const refuse = (path: string, reason: string) => {
    const r = { path, reason };
    summary.refused.push(r);
    progress.onRefused?.(r);
  };

  /** Why `parts`' parent chain cannot be used, or undefined once it is a chain of real directories. */
  const prepareParents = (parts: readonly string[]): string | undefined => {
    let rel = "";
    for (let i = 0; i < parts.length - 1; i++) {
      rel = rel === "" ? (parts[i] as string) : `${rel}/${parts[i]}`;
      if (refusedPaths.has(rel)) return `'${rel}' was refused earlier, so nothing is written beneath it`;
      if (realDirs.has(rel)) continue;
      const why = ensureRealDir(rel, 0o755);
      if (why !== undefined) return why;
    }
    return undefined;
  };

  /** Makes `rel` a real directory (existing or new); never follows or replaces a symlink. */
  const ensureRealDir = (rel: string, mode: number): string | undefined => {
    const path = abs(rel);
    try {
      mkdirSync(path, mode);
      realDirs.add(rel);
      return undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const st = lstatSync(path);
    if (st.isSymbolicLink())
      return `'${rel}' is a symlink in the destination; jumpgate never writes through a symlink`;
    if (!st.isDirectory()) return `'${rel}' exists and is not a directory`;
    realDirs.add(rel);
    return undefined;
  };

  /**
   * Creates a new file at `path` (never through a link: O_EXCL|O_NOFOLLOW), or returns undefined
   * when something already has that name. Trying first saves an lstat per file in the usual case
   * of a fresh destination.
   */
  const createExclusive = (path: string): number | undefined => {
    try {
      return openSync(path, NOFOLLOW_CREATE, 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return undefined;
      throw error;
    }
  };

  /** Removes a non-directory at `rel` so a new entry can be created there. */
  const clearSlot = (rel: string): string | undefined => {
    const path = abs(rel);
    // No exception for the usual case (nothing there yet): building one per file was measurable.
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (st === undefined) return undefined;
    if (st.isDirectory()) return `'${rel}' exists as a directory`;
    unlinkSync(path);
    extractedFiles.delete(rel);
    return undefined;
  };

  const cleanMode = (name: string, mode: number | undefined, fallback: number): number => {
    const m = mode ?? fallback;
    if (m & 0o7000) {
      const bits = [m & 0o4000 ? "setuid" : "", m & 0o2000 ? "setgid" : "", m & 0o1000 ? "sticky" : ""]
        .filter(Boolean)
        .join("/");
      const note = { path: name, reason: `${bits} bit dropped (jumpgate never creates them)` };
      summary.notes.push(note);
      progress.onNote?.(note);
    }
    return m & 0o777 & ~umask;
  };

  const handle = (header: Header, stream: EntryStream, next: (error?: Error | null) => void) => {
    // After a failure the entry stream is destroyed with the error; it is reported through `done`.
    stream.on("error", () => {});
    const skip = () => {
      stream.on("end", () => next());
      stream.resume();
    };
    try {
      if (fatal !== undefined) return skip();
      entries++;
      if (entries > limits.maxEntries) {
        throw new JumpgateError(
          "JG_TAR_LIMIT",
          `the archive has more than ${limits.maxEntries} entries; stopped. Raise the limit with --max-files if this is expected.`,
        );
      }
      const name = header.name;
      const check = checkName(name, limits);
      if (!check.ok) {
        refuse(name, check.reason);
        return skip();
      }
      const parts = check.parts;
      const rel = parts.join("/");
      if (rel === "") {
        // The archive's "./": the destination itself, which the user chose; left as it is.
        if (header.type !== "directory")
          refuse(name, "the destination itself is not a directory in the archive");
        return skip();
      }
      const refusedType = REFUSED_TYPES[header.type];
      if (refusedType !== undefined) {
        refusedPaths.add(rel);
        refuse(name, refusedType);
        return skip();
      }
      const parentProblem = prepareParents(parts);
      if (parentProblem !== undefined) {
        refusedPaths.add(rel);
        refuse(name, parentProblem);
        return skip();
      }
      switch (header.type) {
        case "directory": {
          const why = ensureRealDir(rel, 0o700);
          if (why !== undefined) {
            refusedPaths.add(rel);
            refuse(name, why);
            return skip();
          }
          dirMeta.push({ rel, mode: cleanMode(name, header.mode, 0o755), mtime: header.mtime });
          summary.directories++;
          return skip();
        }
        case "symlink": {
          const why = checkSymlinkTarget(header.linkname ?? "", parts) ?? clearSlot(rel);
          if (why !== undefined) {
            refusedPaths.add(rel);
            refuse(name, why);
            return skip();
          }
          symlinkSync(header.linkname, abs(rel));
          lutimesSync(abs(rel), header.mtime, header.mtime);
          summary.symlinks++;
          return skip();
        }
        case "link": {
          const target = checkName(header.linkname ?? "", limits);
          const targetRel = target.ok ? target.parts.join("/") : "";
          const why = !target.ok
            ? `hard link target refused: ${target.reason}`
            : targetRel === rel
              ? "a hard link to itself (it would remove the file it names)"
              : !extractedFiles.has(targetRel)
                ? `hard link to '${header.linkname}', which is not a file extracted earlier from this archive`
                : clearSlot(rel);
          if (why !== undefined) {
            refusedPaths.add(rel);
            refuse(name, why);
            return skip();
          }
          linkSync(abs(targetRel), abs(rel));
          extractedFiles.add(rel);
          summary.hardlinks++;
          return skip();
        }
        case "file":
        case "contiguous-file":
          return writeFile(name, rel, header, stream, next);
        default:
          refusedPaths.add(rel);
          refuse(name, `an entry of type '${String(header.type)}', which jumpgate does not extract`);
          return skip();
      }
    } catch (error) {
      fail(error);
      skip();
    }
  };

  const writeFile = (
    name: string,
    rel: string,
    header: Header,
    stream: EntryStream,
    next: (error?: Error | null) => void,
  ) => {
    const size = header.size ?? 0;
    if (summary.bytes + size > limits.maxBytes) {
      throw new JumpgateError(
        "JG_TAR_LIMIT",
        `the archive holds more than ${limits.maxBytes} bytes of files (at ${name}); stopped. Raise the limit with --max-size if this is expected.`,
      );
    }
    const path = abs(rel);
    let fd = createExclusive(path);
    if (fd === undefined) {
      // Something is there already (an earlier entry, or the destination's own file).
      const why = clearSlot(rel);
      if (why !== undefined) {
        refusedPaths.add(rel);
        refuse(name, why);
        stream.on("end", () => next());
        stream.resume();
        return;
      }
      fd = openSync(path, NOFOLLOW_CREATE, 0o600);
    }
    const mode = cleanMode(name, header.mode, 0o644);
    summary.incomplete = rel;
    currentBytes = 0;
    progress.onFile?.(rel, "begin", size);
    let closed = false;
    const close = () => {
      if (!closed) {
        closed = true;
        closeSync(fd);
      }
    };
    closeCurrent = close;
    stream.on("data", (chunk: Buffer) => {
      if (closed) return;
      try {
        let off = 0;
        while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
        summary.bytes += chunk.length;
        currentBytes += chunk.length;
        progress.onBytes?.(chunk.length);
      } catch (error) {
        close();
        fail(error);
      }
    });
    stream.on("end", () => {
      if (!closed) {
        try {
          fchmodSync(fd, mode);
          futimesSync(fd, header.mtime, header.mtime);
          close();
          summary.files++;
          summary.lastComplete = rel;
          summary.incomplete = undefined;
          extractedFiles.add(rel);
          progress.onFile?.(rel, "end", size);
        } catch (error) {
          close();
          fail(error);
        }
      }
      next();
    });
    stream.on("error", () => close());
  };

  /** Closes the file being written, if any (set by writeFile). */
  let closeCurrent: () => void = () => {};

  /** An incomplete file must not stay under its final name. */
  const removeIncomplete = () => {
    closeCurrent();
    if (summary.incomplete === undefined) return;
    summary.bytes -= currentBytes;
    currentBytes = 0;
    try {
      unlinkSync(abs(summary.incomplete));
    } catch {
      // Already gone, or the directory is unwritable: the message names it anyway.
    }
  };

  const fail = (error: unknown) => {
    if (fatal !== undefined) return;
    fatal = error;
    removeIncomplete();
    input.destroy(error instanceof Error ? error : new Error(String(error)));
  };

  input.on("entry", handle as never);

  const done = new Promise<ExtractSummary>((resolve, reject) => {
    input.on("error", (error: Error) => {
      if (fatal === undefined) fatal = error;
    });
    input.on("close", () => {
      if (fatal !== undefined) {
        // A stream that broke off (truncated archive) fails here, not through fail().
        removeIncomplete();
        reject(translateExtractError(fatal, summary, dest));
        return;
      }
      if (summary.incomplete !== undefined) {
        // The stream ended inside a file's data without tar-stream noticing (a channel cut short).
        const cut = summary.incomplete;
        removeIncomplete();
        reject(
          translateExtractError(
            new JumpgateError("JG_TAR_BAD_ARCHIVE", `the archive ended in the middle of ${cut}.`),
            summary,
            dest,
          ),
        );
        return;
      }
      try {
        applyDirMeta(dirMeta, abs);
        resolve(summary);
      } catch (error) {
        reject(translateExtractError(error, summary, dest));
      }
    });
  });
  // The caller awaits `done`; this keeps an unobserved rejection from crashing before it does.
  done.catch(() => {});

  return { input, done, summary: () => summary };
}

function applyDirMeta(
  dirs: { rel: string; mode: number; mtime: Date }[],
  abs: (rel: string) => string,
): void {
  // Deepest first: setting a parent's mtime before its children would be undone by their updates.
  const ordered = [...dirs].sort((a, b) => b.rel.split("/").length - a.rel.split("/").length);
  for (const d of ordered) {
    const path = abs(d.rel);
    // Re-checked: the directory must still be a real one (not swapped for a link behind our back).
    if (!lstatSync(path).isDirectory()) continue;
    utimesSync(path, d.mtime, d.mtime);
    // chmod last: a mode without owner write must not stop the utimes above.
    chmodSync(path, d.mode);
  }
}

/** Maps a local failure onto a JumpgateError that says what was and was not written. */
export function translateExtractError(error: unknown, s: ExtractSummary, dest: string): unknown {
  const written = `${s.files} file${s.files === 1 ? "" : "s"} (${s.bytes} bytes) written under ${dest}${
    s.lastComplete ? `, the last complete one ${s.lastComplete}` : ""
  }`;
  const partial = s.incomplete ? `; ${s.incomplete} was incomplete and was removed` : "";
  if (error instanceof JumpgateError) {
    return new JumpgateError(error.code, `${error.message} Before that: ${written}${partial}.`, {
      cause: error,
    });
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new JumpgateError(
      "JG_TAR_NO_SPACE",
      `the local disk is full (${describeFsError(error)}). ${written}${partial}; the rest of the archive was not written. Free some space and pull again.`,
      { cause: error },
    );
  }
  if (code === "EACCES" || code === "EPERM" || code === "EROFS") {
    const where = (error as NodeJS.ErrnoException).path ?? dest;
    return new JumpgateError(
      "JG_TAR_PERMISSION",
      `cannot write ${where}: ${describeFsError(error)}. ${written}${partial}; the rest was not written.`,
      { cause: error },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  if (/tar|header|Unexpected end|Invalid/i.test(message)) {
    return new JumpgateError(
      "JG_TAR_BAD_ARCHIVE",
      `the stream from the remote host is not a valid tar archive (${message}). ${written}${partial}.`,
      { cause: error },
    );
  }
  return new JumpgateError("JG_TAR_REMOTE_FAILED", `extraction stopped: ${message}. ${written}${partial}.`, {
    cause: error,
  });
}
