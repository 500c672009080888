/**
 * The remote half of push and pull: the exact shell commands sent in the exec request (every piece
 * of user text quoted for a POSIX shell) and the reading of how the remote tar ended.
 */
import { JumpgateError } from "../errors.js";
import { shellQuote, shellQuotePath } from "../util/shellquote.js";

export type Compression = "none" | "gzip" | "zstd";

/**
 * What the remote shell says when it has no zstd (exit 127, like "command not found"); the marker
 * tells it apart from a missing tar in remoteFailure.
 */
export const REMOTE_NO_ZSTD = "jumpgate: zstd not found on the remote host";

/** Checked first, so nothing runs (no mkdir) on a host without zstd. */
const NEED_ZSTD = `command -v zstd >/dev/null 2>&1 || { echo ${shellQuote(REMOTE_NO_ZSTD)} >&2; exit 127; }`;

export interface RemoteTarOptions {
  /** The remote directory as the user wrote it (relative paths are relative to the remote home). */
  dir: string;
  compress: Compression;
  /** The remote tar program (default "tar"; e.g. "gtar" on BSDs). */
  tar?: string;
}

/** Remote path "" means the home directory, as with scp's `host:`. */
function dirWord(dir: string): string {
  return shellQuotePath(dir === "" ? "." : dir);
}

/**
 * push: create the directory, then extract stdin into it. `-p` keeps the archive's modes (tar
 * would otherwise apply the remote umask when not root), `-o` leaves owners to the logged-in
 * user (as scp does; root would otherwise chown to the local numeric ids). Both are understood by
 * GNU tar, bsdtar and busybox.
 */
export function pushCommand(o: RemoteTarOptions): string {
  const dir = dirWord(o.dir);
  const tar = shellQuote(o.tar ?? "tar");
  if (o.compress === "zstd") {
    // tar last in the pipeline: its status is the pipeline's (a failing tar is what matters; zstd
    // then dies of SIGPIPE).
    return `${NEED_ZSTD}; mkdir -p -- ${dir} && zstd -d -q -c | ${tar} -x -p -o -f - -C ${dir}`;
  }
  const z = o.compress === "gzip" ? " -z" : "";
  return `mkdir -p -- ${dir} && exec ${tar} -x -p -o${z} -f - -C ${dir}`;
}

/** pull: archive the directory's contents, named `./...` as `tar -C dir -c .` names them. */
export function pullCommand(o: RemoteTarOptions): string {
  const tar = shellQuote(o.tar ?? "tar");
  if (o.compress === "zstd") {
    // POSIX sh has no pipefail: tar's status travels on fd 3 into $t while the data goes through
    // zstd to the saved stdout (fd 4). A failing tar (missing directory) exits with tar's status,
    // so it reads as JG_TAR_SOURCE like the uncompressed pull; else zstd's status.
    return (
      `${NEED_ZSTD}; exec 4>&1; ` +
      `t=$( { { ${tar} -c -f - -C ${dirWord(o.dir)} . 3>&- 4>&-; echo $? >&3; } | zstd -q -c >&4 3>&-; } 3>&1 ); ` +
      `z=$?; [ "$t" = 0 ] || exit "\${t:-1}"; exit "$z"`
    );
  }
  const z = o.compress === "gzip" ? " -z" : "";
  return `exec ${tar} -c${z} -f - -C ${dirWord(o.dir)} .`;
}

export interface RemoteOutcome {
  code: number | null;
  signal: string | null;
  /** What the remote command wrote on stderr (bounded by the caller). */
  stderr: string;
}

/** The first lines of the remote stderr, for a message. */
export function stderrExcerpt(stderr: string, lines = 6): string {
  const all = stderr
    .split("\n")
    .map((l) => l.trimEnd())
    .filter((l) => l !== "");
  const shown = all.slice(0, lines).join("\n  ");
  return all.length > lines ? `${shown}\n  ... (${all.length - lines} more lines)` : shown;
}

/**
 * Turns a failed remote tar into a JumpgateError, or returns undefined when it succeeded.
 * `context` says what was and was not written (the caller knows).
 */
export function remoteFailure(
  host: string,
  o: RemoteOutcome,
  context: string,
  what: "push" | "pull",
): JumpgateError | undefined {
  if (o.code === 0) return undefined;
  const said = stderrExcerpt(o.stderr);
  const remote = said ? `\n  remote said: ${said}` : "";
  const status = o.signal ? `killed by signal ${o.signal}` : `exit status ${o.code ?? "unknown"}`;
  if (o.code === 127 && o.stderr.includes(REMOTE_NO_ZSTD)) {
    return new JumpgateError(
      "JG_TAR_COMPRESS",
      `${host} has no zstd (${status}): install zstd there, or use --compress gzip. ${context}${remote}`,
    );
  }
  // 127 is the shell's "command not found" (POSIX 2.8.2), whatever language it says it in.
  if (o.code === 127) {
    return new JumpgateError(
      "JG_TAR_NO_REMOTE_TAR",
      `${host} has no usable tar (${status}): install tar there, or name it with --remote-tar PATH. ${context}${remote}`,
    );
  }
  if (/No space left on device|Disk quota exceeded/i.test(o.stderr)) {
    return new JumpgateError(
      "JG_TAR_NO_SPACE",
      `${host}: the remote disk is full (${status}). ${context}${remote}`,
    );
  }
  if (/Permission denied|Operation not permitted|Read-only file system/i.test(o.stderr)) {
    return new JumpgateError(
      "JG_TAR_PERMISSION",
      `${host}: permission denied on the remote side (${status}). ${context}${remote}`,
    );
  }
  if (what === "pull" && /Cannot (open|chdir)|No such file or directory|Not a directory/i.test(o.stderr)) {
    return new JumpgateError(
      "JG_TAR_SOURCE",
      `${host}: the remote directory cannot be read (${status}). ${context}${remote}`,
    );
  }
  return new JumpgateError(
    "JG_TAR_REMOTE_FAILED",
    `${host}: the remote tar failed (${status}). ${context}${remote}`,
  );
}
