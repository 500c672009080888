/**
 * The remote commands of `--compress zstd`, run by a real POSIX sh (dash here) as the remote
 * login shell would run them: a host without zstd (a PATH holding only tar and mkdir), tar's
 * status surviving the pull pipeline, and the error they map to. Also the local zstd lookup.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pullCommand, pushCommand, REMOTE_NO_ZSTD, remoteFailure } from "../../../src/transfer/remote-tar.js";
import { findLocalZstd } from "../../../src/transfer/zstd-process.js";

const which = (name: string) =>
  spawnSync("sh", ["-c", `command -v ${name}`])
    .stdout.toString()
    .trim();

let work: string;
let noZstdPath: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "jg-tar-zstd-"));
  noZstdPath = join(work, "bin");
  mkdirSync(noZstdPath);
  for (const tool of ["tar", "mkdir"]) symlinkSync(which(tool), join(noZstdPath, tool));
  mkdirSync(join(work, "src"));
  writeFileSync(join(work, "src", "a.txt"), "hello\n");
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs a remote command string with sh -c, as sshd's exec does. */
function sh(command: string, opts: { input?: Buffer; path?: string } = {}) {
  const r = spawnSync("/bin/sh", ["-c", command], {
    input: opts.input,
    cwd: work,
    env: { ...process.env, PATH: opts.path ?? process.env.PATH },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

describe("--compress zstd remote commands", () => {
  it("push: checks zstd first, then mkdir and zstd -d | tar -x (tar last), the directory quoted", () => {
    const c = pushCommand({ dir: "a b", compress: "zstd", tar: "gtar" });
    expect(c).toMatch(/^command -v zstd >\/dev\/null 2>&1 \|\| \{ echo .* >&2; exit 127; \}; /);
    expect(c).toMatch(/mkdir -p -- 'a b' && zstd -d -q -c \| gtar -x -p -o -f - -C 'a b'$/);
  });

  it("push through a real sh: the tree lands; without zstd: exit 127, the marker, no mkdir", () => {
    const archive = spawnSync("sh", ["-c", `tar -c -f - -C ${join(work, "src")} . | zstd -q -c`]).stdout;
    const ok = sh(pushCommand({ dir: "pushed", compress: "zstd" }), { input: archive });
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(spawnSync("cat", [join(work, "pushed", "a.txt")]).stdout.toString()).toBe("hello\n");
    const none = sh(pushCommand({ dir: "never", compress: "zstd" }), { input: archive, path: noZstdPath });
    expect(none.code).toBe(127);
    expect(none.stderr).toContain(REMOTE_NO_ZSTD);
    expect(spawnSync("test", ["-e", join(work, "never")]).status).toBe(1);
    const e = remoteFailure(
      "mcgonagall",
      { code: none.code, signal: null, stderr: none.stderr },
      "CTX.",
      "push",
    );
    expect(e?.code).toBe("JG_TAR_COMPRESS");
    expect(e?.message).toMatch(
      /^mcgonagall has no zstd \(exit status 127\): install zstd there, or use --compress gzip/,
    );
  });

  it("pull through a real sh: a zstd stream of the tree; tar's failure status survives the pipe", () => {
    const ok = sh(pullCommand({ dir: "src", compress: "zstd" }));
    expect(ok.code).toBe(0);
    const listed = spawnSync("sh", ["-c", "zstd -d -q -c | tar -t -f -"], { input: ok.stdout });
    expect(listed.stdout.toString().split("\n").filter(Boolean).sort()).toEqual(["./", "./a.txt"]);
    const missing = sh(pullCommand({ dir: "no such dir", compress: "zstd" }));
    expect(missing.code).toBe(2); // GNU tar's status, not zstd's 0
    expect(
      remoteFailure("h", { code: missing.code, signal: null, stderr: missing.stderr }, "CTX.", "pull")?.code,
    ).toBe("JG_TAR_SOURCE");
    const noTar = sh(pullCommand({ dir: "src", compress: "zstd", tar: "/nonexistent/tar" }));
    expect(noTar.code).toBe(127);
    expect(remoteFailure("h", { code: 127, signal: null, stderr: noTar.stderr }, "CTX.", "pull")?.code).toBe(
      "JG_TAR_NO_REMOTE_TAR",
    );
    const none = sh(pullCommand({ dir: "src", compress: "zstd" }), { path: noZstdPath });
    expect(none.code).toBe(127);
    expect(none.stdout.length).toBe(0);
    expect(remoteFailure("h", { code: 127, signal: null, stderr: none.stderr }, "CTX.", "pull")?.code).toBe(
      "JG_TAR_COMPRESS",
    );
  });
});

describe("findLocalZstd", () => {
  it("finds zstd on PATH, skips relative entries, and says undefined when there is none", async () => {
    expect(await findLocalZstd(`relative:${process.env.PATH}`)).toBe(which("zstd"));
    expect(await findLocalZstd(noZstdPath)).toBeUndefined();
    expect(await findLocalZstd("")).toBeUndefined();
  });
});
