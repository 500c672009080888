/**
 * A local `zstd` process as a stream stage, for `--compress zstd` (Node 20's node:zlib has no
 * zstd). Spawned with an argument array (no shell), stdin in, stdout out; its stderr is kept
 * (bounded) for the message when it fails. The caller kills it on abort or error.
 */
import { type ChildProcessByStdio, spawn } from "node:child_process";
import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { delimiter, isAbsolute, join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { JumpgateError } from "../errors.js";

const STDERR_LIMIT = 16 * 1024;

/** Finds an executable `zstd` on PATH, as execvp would; undefined when there is none. */
export async function findLocalZstd(path = process.env.PATH ?? ""): Promise<string | undefined> {
  for (const dir of path.split(delimiter)) {
    if (dir === "" || !isAbsolute(dir)) continue; // a relative PATH entry would depend on the cwd
    const candidate = join(dir, "zstd");
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The clear error for a machine without zstd. */
export function noLocalZstd(): JumpgateError {
  return new JumpgateError(
    "JG_TAR_COMPRESS",
    "--compress zstd needs the zstd program on this machine and none was found on PATH: install zstd or use --compress gzip.",
  );
}

export interface ZstdStage {
  input: Writable;
  output: Readable;
  /**
   * Settles when the process ended: resolves on exit status 0, rejects (a plain Error, so that a
   * remote failure explaining the same breakage wins) otherwise. Also rejects on a write to a dead
   * process. Never unhandled.
   */
  done: Promise<void>;
  /** Ends the process if it still runs (abort, error elsewhere). */
  kill(): void;
}

/** Starts `zstd` at `program` with `args` (e.g. ["-q", "-c"] or ["-d", "-q", "-c"]). */
export function startZstd(program: string, args: readonly string[]): ZstdStage {
  const child: ChildProcessByStdio<Writable, Readable, Readable> = spawn(program, args, {
    stdio: ["pipe", "pipe", "pipe"],
    shell: false,
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    if (stderr.length < STDERR_LIMIT) stderr += chunk.toString("utf8");
  });
  let failure: Error | undefined;
  // A write after the process died fails with EPIPE; `done` reports the real cause.
  child.stdin.on("error", (error: Error) => {
    failure ??= error;
  });
  const done = new Promise<void>((resolve, reject) => {
    child.once("error", (error) => reject(new Error(`cannot run ${program}: ${error.message}`)));
    child.once("close", (code, signal) => {
      if (code === 0) return resolve();
      const said = stderr.trim().split("\n").slice(0, 3).join("; ");
      const how = signal ? `killed by signal ${signal}` : `exit status ${code}`;
      reject(
        new Error(`local zstd failed (${how})${said ? `: ${said}` : failure ? `: ${failure.message}` : ""}`),
      );
    });
  });
  done.catch(() => {});
  return {
    input: child.stdin,
    output: child.stdout,
    done,
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    },
  };
}
