/**
 * `jumpgate cp` against real OpenSSH sshd in the seeds' topology (you -> jaguar -> mcgonagall;
 * mcgonagall reachable only through jaguar), checked with checksums computed on the remote side
 * and compared with OpenSSH's own scp (SFTP mode, the 9.2 default) where it has an answer.
 *
 * The lab's hosts share this machine's file system (network namespaces only), so absolute remote
 * paths below a temp dir are also readable here; checksums are still taken remotely with sha256sum.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BastionLab, describeE2E, runSsh, startBastionLab } from "../support/lab.js";
import { commandLine, descendantsOf } from "../support/proc.js";

const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const bin = join(repo, "bin/jumpgate.js");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function jumpgate(args: string[], opts: { cwd?: string; timeout?: number } = {}): Run {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: opts.cwd,
    timeout: opts.timeout ?? 120_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** Single-quotes for the remote shell (the test's own command, not jumpgate's). */
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** A listing of a tree: relative path -> type, size, exec bit, sha256 for files. */
function listing(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const st = lstatSync(p);
      const rel = relative(root, p);
      if (st.isDirectory()) {
        out[rel] = "dir";
        walk(p);
      } else if (st.isSymbolicLink()) out[rel] = "symlink";
      else out[rel] = `file ${st.size} ${(st.mode & 0o100) !== 0 ? "x" : "-"} ${sha256(p)}`;
    }
  };
  walk(root);
  return out;
}

describeE2E("jumpgate cp through jaguar to mcgonagall", "netns", () => {
  let lab: BastionLab;
  let work: string;
  let cfg: string;

  const remoteSha = async (path: string): Promise<string> => {
    const r = await runSsh(lab.configPath, ["mcgonagall", `sha256sum ${q(path)}`], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.toString().split(" ")[0] as string;
  };

  beforeAll(async () => {
    lab = await startBastionLab();
    work = mkdtempSync(join(tmpdir(), "jg-cp-e2e-"));
    cfg = lab.configPath;
  }, 60_000);

  afterAll(async () => {
    await lab?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const dir = (name: string) => {
    const d = join(work, name);
    mkdirSync(d, { recursive: true });
    return d;
  };

  describe("single files both ways, checked with sha256sum on mcgonagall", () => {
    for (const [label, size] of [
      ["0 B", 0],
      ["1 B", 1],
      ["100 MB", 100 * 1000 * 1000],
    ] as const) {
      it(`${label}: up and down`, async () => {
        const d = dir(`single-${size}`);
        const local = join(d, "orig.bin");
        writeFileSync(local, randomBytes(size));
        const remote = join(dir(`single-${size}-remote`), "up.bin");
        const up = jumpgate(["cp", "-q", "-F", cfg, local, `mcgonagall:${remote}`]);
        expect(up.code, up.stderr).toBe(0);
        expect(await remoteSha(remote)).toBe(sha256(local));
        const back = join(d, "down.bin");
        const down = jumpgate(["cp", "-q", "-F", cfg, `mcgonagall:${remote}`, back]);
        expect(down.code, down.stderr).toBe(0);
        expect(sha256(back)).toBe(sha256(local));
        expect(statSync(back).size).toBe(size);
        // No temporary file is left next to the results.
        expect(readdirSync(d).filter((n) => n.endsWith(".part"))).toEqual([]);
      }, 180_000);
    }
  });

  it("copies into a directory under the source's name, and into the remote home for host:", async () => {
    const d = dir("into-dir");
    const name = `jg-cp-home-${randomBytes(4).toString("hex")}.txt`;
    const local = join(d, name);
    writeFileSync(local, "home\n");
    try {
      const r = jumpgate(["cp", "-q", "-F", cfg, local, "mcgonagall:"]);
      expect(r.code, r.stderr).toBe(0);
      expect(await remoteSha(`${homedir()}/${name}`)).toBe(sha256(local));
      // ~/ is the home too, and relative remote paths are relative to it.
      const back = dir("into-dir-back");
      const r2 = jumpgate(["cp", "-q", "-F", cfg, `mcgonagall:~/${name}`, `mcgonagall:${name}`, back]);
      expect(r2.code, r2.stderr).toBe(0);
      expect(readFileSync(join(back, name), "utf8")).toBe("home\n");
    } finally {
      rmSync(join(homedir(), name), { force: true });
    }
  });

  describe("-r trees", () => {
    let src: string;
    beforeAll(() => {
      src = dir("tree-src/project");
      mkdirSync(join(src, "sub dir/ünïcödé"), { recursive: true });
      mkdirSync(join(src, "empty-dir"));
      writeFileSync(join(src, "empty"), "");
      writeFileSync(join(src, "run.sh"), "#!/bin/sh\necho hi\n");
      chmodSync(join(src, "run.sh"), 0o755);
      writeFileSync(join(src, "sub dir/with space.txt"), "spaces\n");
      writeFileSync(join(src, "sub dir/ünïcödé/naïve-файл.txt"), "non-ascii\n");
      writeFileSync(join(src, "big.bin"), randomBytes(3 * 1024 * 1024 + 7));
      symlinkSync("run.sh", join(src, "link-to-file"));
    });

    it("up: the same tree as OpenSSH's scp -r makes (symlink to a file copied as a file)", async () => {
      const mine = dir("tree-up-jumpgate");
      const theirs = dir("tree-up-scp");
      const r = jumpgate(["cp", "-r", "-q", "-F", cfg, src, `mcgonagall:${mine}`]);
      expect(r.code, r.stderr).toBe(0);
      const s = spawnSync("scp", ["-r", "-q", "-F", cfg, src, `mcgonagall:${theirs}`], { timeout: 120_000 });
      expect(s.status, s.stderr.toString()).toBe(0);
      const got = listing(join(mine, "project"));
      expect(got).toEqual(listing(join(theirs, "project")));
      expect(got["link-to-file"]).toMatch(/^file .* x /);
      expect(got.empty).toMatch(/^file 0 /);
      expect(got["empty-dir"]).toBe("dir");
      expect(got["sub dir/ünïcödé/naïve-файл.txt"]).toBe(listing(src)["sub dir/ünïcödé/naïve-файл.txt"]);
      // Checksums computed on mcgonagall agree too.
      expect(await remoteSha(join(mine, "project/big.bin"))).toBe(sha256(join(src, "big.bin")));
      expect(await remoteSha(join(mine, "project/sub dir/with space.txt"))).toBe(
        sha256(join(src, "sub dir/with space.txt")),
      );
    }, 180_000);

    it("down: the same tree as OpenSSH's scp -r makes", () => {
      const mine = dir("tree-down-jumpgate");
      const theirs = dir("tree-down-scp");
      const r = jumpgate(["cp", "-r", "-q", "-F", cfg, `mcgonagall:${src}`, mine]);
      expect(r.code, r.stderr).toBe(0);
      const s = spawnSync("scp", ["-r", "-q", "-F", cfg, `mcgonagall:${src}`, theirs], { timeout: 120_000 });
      expect(s.status, s.stderr.toString()).toBe(0);
      expect(listing(join(mine, "project"))).toEqual(listing(join(theirs, "project")));
      expect(listing(join(mine, "project"))["run.sh"]).toMatch(/^file \d+ x /);
    }, 180_000);

    it("a symlink to a directory inside a tree is skipped with an error, as scp does", () => {
      const t = dir("tree-dirlink/src");
      writeFileSync(join(t, "f"), "f\n");
      mkdirSync(join(t, "real"));
      writeFileSync(join(t, "real/inner"), "inner\n");
      symlinkSync("real", join(t, "dirlink"));
      const mine = dir("tree-dirlink-jumpgate");
      const r = jumpgate(["cp", "-r", "-q", "-F", cfg, `mcgonagall:${t}`, mine]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("JG_CP_NOT_REGULAR");
      expect(r.stderr).toContain("dirlink");
      expect(existsSync(join(mine, "src/dirlink"))).toBe(false);
      expect(readFileSync(join(mine, "src/real/inner"), "utf8")).toBe("inner\n");
      const theirs = dir("tree-dirlink-scp");
      const s = spawnSync("scp", ["-r", "-q", "-F", cfg, `mcgonagall:${t}`, theirs]);
      expect(s.status).toBe(1);
      expect(existsSync(join(theirs, "src/dirlink"))).toBe(false);
    }, 120_000);

    it("a directory without -r is refused and nothing is written", () => {
      const out = dir("no-r");
      const r = jumpgate(["cp", "-q", "-F", cfg, `mcgonagall:${src}`, out]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("JG_CP_IS_DIRECTORY");
      expect(readdirSync(out)).toEqual([]);
    });
  });

  it("-p keeps mode and mtime both ways; without -p the mtime is new", async () => {
    const d = dir("preserve");
    const f = join(d, "kept.txt");
    writeFileSync(f, "kept\n");
    chmodSync(f, 0o640);
    utimesSync(f, new Date("2001-02-03T04:05:06Z"), new Date("2001-02-03T04:05:06Z"));
    const remote = dir("preserve-remote");
    const r = jumpgate(["cp", "-p", "-q", "-F", cfg, f, `mcgonagall:${remote}/`]);
    expect(r.code, r.stderr).toBe(0);
    const st = await runSsh(cfg, ["mcgonagall", `stat -c '%a %Y' ${q(join(remote, "kept.txt"))}`]);
    expect(st.stdout.toString().trim()).toBe(`640 ${Date.parse("2001-02-03T04:05:06Z") / 1000}`);
    const back = dir("preserve-back");
    const r2 = jumpgate(["cp", "-p", "-q", "-F", cfg, `mcgonagall:${remote}/kept.txt`, back]);
    expect(r2.code, r2.stderr).toBe(0);
    const b = statSync(join(back, "kept.txt"));
    expect(b.mode & 0o7777).toBe(0o640);
    expect(b.mtimeMs).toBe(Date.parse("2001-02-03T04:05:06Z"));
    const plain = dir("preserve-plain");
    const r3 = jumpgate(["cp", "-q", "-F", cfg, `mcgonagall:${remote}/kept.txt`, plain]);
    expect(r3.code, r3.stderr).toBe(0);
    expect(statSync(join(plain, "kept.txt")).mtimeMs).toBeGreaterThan(Date.parse("2020-01-01"));
  });

  it("remote->remote (jaguar to mcgonagall) goes through this machine", async () => {
    const d = dir("r2r");
    const f = join(d, "data.bin");
    writeFileSync(f, randomBytes(5 * 1024 * 1024 + 3));
    const dst = dir("r2r-dst");
    const r = jumpgate(["cp", "-3", "-q", "-F", cfg, `jaguar:${f}`, `mcgonagall:${dst}/copy.bin`]);
    expect(r.code, r.stderr).toBe(0);
    expect(await remoteSha(join(dst, "copy.bin"))).toBe(sha256(f));
  }, 120_000);

  it("-J and -P reach mcgonagall by address through jaguar; scp:// URIs too; -r into a new name", async () => {
    const d = dir("jump");
    const f = join(d, "j.txt");
    writeFileSync(f, "jumped\n");
    const dst = dir("jump-dst");
    const { host, port } = lab.mcgonagall;
    const r = jumpgate([
      "cp",
      "-q",
      "-F",
      cfg,
      "-J",
      "jaguar",
      "-P",
      String(port),
      f,
      `${lab.user}@${host}:${dst}/`,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(await remoteSha(join(dst, "j.txt"))).toBe(sha256(f));
    // scp:// with the port in the URI; '//' makes the path absolute, as in scp.
    const back = join(dir("jump-back"), "new-name");
    const r2 = jumpgate([
      "cp",
      "-r",
      "-q",
      "-F",
      cfg,
      "-J",
      "jaguar",
      `scp://${lab.user}@${host}:${port}/${dst}`,
      back,
    ]);
    expect(r2.code, r2.stderr).toBe(0);
    // The target did not exist: the directory's copy takes that name (as cp -r and scp -r).
    expect(readdirSync(back)).toEqual(["j.txt"]);
  });

  it("remote globs are expanded by jumpgate: only the matching names are copied", () => {
    const d = dir("glob-src");
    for (const n of ["a.log", "b.log", "c.txt", ".hidden.log"]) writeFileSync(join(d, n), n);
    const out = dir("glob-out");
    const r = jumpgate(["cp", "-q", "-F", cfg, `mcgonagall:${d}/*.log`, out]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(["a.log", "b.log"]);
    // A pattern matching nothing is a missing file.
    const none = jumpgate(["cp", "-q", "-F", cfg, `mcgonagall:${d}/*.nope`, out]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("JG_CP_NOT_FOUND");
  });

  it("a missing source fails with JG_CP_NOT_FOUND and writes nothing (both ways)", () => {
    const out = dir("missing-out");
    const down = jumpgate(["cp", "-q", "-F", cfg, `mcgonagall:${work}/does-not-exist`, out]);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain("JG_CP_NOT_FOUND");
    expect(readdirSync(out)).toEqual([]);
    const remoteOut = dir("missing-remote-out");
    const up = jumpgate(["cp", "-q", "-F", cfg, join(work, "nope.txt"), `mcgonagall:${remoteOut}/`]);
    expect(up.code).toBe(1);
    expect(up.stderr).toContain("JG_CP_NOT_FOUND");
    expect(readdirSync(remoteOut)).toEqual([]);
    // Several problems: each is printed, the others are still copied, and a summary ends it.
    writeFileSync(join(work, "present.txt"), "here\n");
    const some = jumpgate([
      "cp",
      "-q",
      "-F",
      cfg,
      `mcgonagall:${work}/gone-1`,
      `mcgonagall:${work}/present.txt`,
      `mcgonagall:${work}/gone-2`,
      out,
    ]);
    expect(some.code).toBe(1);
    expect(some.stderr.match(/JG_CP_NOT_FOUND/g)?.length).toBe(2);
    expect(some.stderr).toContain("JG_CP_FAILED: 2 problems");
    expect(readdirSync(out)).toEqual(["present.txt"]);
  });

  it("several sources need a directory target", () => {
    const d = dir("multi");
    writeFileSync(join(d, "one"), "1");
    writeFileSync(join(d, "two"), "2");
    const r = jumpgate(["cp", "-q", "-F", cfg, join(d, "one"), join(d, "two"), `mcgonagall:${d}/not-there`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("JG_CP_NOT_DIRECTORY");
    expect(existsSync(join(d, "not-there"))).toBe(false);
  });

  it("bad path syntax is a usage error naming the operand; ./a:b is a local file", () => {
    for (const bad of ["user@:path", "scp://@host/x", "scp://host:99999/x", "[::1]x:y"]) {
      const r = jumpgate(["cp", "-F", cfg, "somefile", bad]);
      if (bad === "[::1]x:y") {
        // Not remote syntax for scp either (']' not followed by ':'): a local name; only the missing source fails.
        expect(r.code).toBe(1);
        continue;
      }
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toContain("JG_CP_PATH");
      expect(r.stderr).toContain(bad);
    }
    const d = dir("colon");
    writeFileSync(join(d, "a:b"), "colon\n");
    const remote = dir("colon-remote");
    const r = jumpgate(["cp", "-q", "-F", cfg, "./a:b", `mcgonagall:${remote}/`], { cwd: d });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(remote, "a:b"), "utf8")).toBe("colon\n");
  });

  it("an interrupted copy leaves no file under the final name (and removes its temporary)", async () => {
    const d = dir("interrupt");
    const big = join(d, "huge.bin");
    // Sparse: cheap to make, still 2 GiB to move over SSH.
    spawnSync("truncate", ["-s", "2G", big]);
    const remote = dir("interrupt-remote");
    const child = spawn(
      process.execPath,
      [bin, "cp", "-q", "-F", cfg, big, `mcgonagall:${remote}/huge.bin`],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    const exited = new Promise<number | null>((res) => child.once("exit", (code) => res(code)));
    // Wait until the temporary file has data, then interrupt.
    let sawTemp = false;
    for (let i = 0; i < 6000 && !sawTemp; i++) {
      const temp = readdirSync(remote).find((n) => n.endsWith(".part"));
      if (temp && statSync(join(remote, temp)).size > 0) sawTemp = true;
      else await new Promise((r) => setTimeout(r, 10));
    }
    expect(sawTemp).toBe(true);
    expect(existsSync(join(remote, "huge.bin"))).toBe(false);
    child.kill("SIGINT");
    const code = await exited;
    expect(code).toBe(130);
    expect(stderr).toContain("JG_CP_INTERRUPTED");
    expect(readdirSync(remote)).toEqual([]);
  }, 120_000);

  it("a connection lost in the middle fails with a code, no file under the final name, no hang", async () => {
    const d = dir("lost");
    const big = join(d, "huge.bin");
    spawnSync("truncate", ["-s", "2G", big]);
    const out = dir("lost-out");
    const child = spawn(process.execPath, [bin, "cp", "-q", "-F", cfg, `mcgonagall:${big}`, out], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    const exited = new Promise<number | null>((res) => child.once("exit", (code) => res(code)));
    let sawTemp = false;
    for (let i = 0; i < 6000 && !sawTemp; i++) {
      const temp = readdirSync(out).find((n) => n.endsWith(".part"));
      if (temp && statSync(join(out, temp)).size > 0) sawTemp = true;
      else await new Promise((r) => setTimeout(r, 10));
    }
    expect(sawTemp).toBe(true);
    // The lab's per-connection sshd processes (this copy's sessions on jaguar and mcgonagall).
    const sessions = descendantsOf(lab.pids()).filter((pid) => commandLine(pid).startsWith("sshd:"));
    expect(sessions.length).toBeGreaterThan(0);
    for (const pid of sessions) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Gone already: killing a session's privileged parent takes its child with it.
      }
    }
    const code = await exited;
    expect([1, 255], `exit ${code}: ${stderr}`).toContain(code);
    expect(stderr).toMatch(/jumpgate: JG_[A-Z_]+: /);
    expect(existsSync(join(out, "huge.bin"))).toBe(false);
    expect(readdirSync(out)).toEqual([]);
  }, 120_000);

  it("an existing file is replaced only when the new one is complete", async () => {
    const d = dir("replace");
    const f = join(d, "v2.txt");
    writeFileSync(f, "version 2\n");
    const remote = dir("replace-remote");
    writeFileSync(join(remote, "v2.txt"), "version 1, longer than version 2\n");
    chmodSync(join(remote, "v2.txt"), 0o600);
    const r = jumpgate(["cp", "-q", "-F", cfg, f, `mcgonagall:${remote}/`]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(remote, "v2.txt"), "utf8")).toBe("version 2\n");
    // Without -p a replaced file keeps its mode, as with scp (which truncates it in place).
    expect(statSync(join(remote, "v2.txt")).mode & 0o777).toBe(0o600);
  });

  it("on a terminal a progress bar is drawn, then one summary line", () => {
    const d = dir("pty");
    const f = join(d, "p.bin");
    writeFileSync(f, randomBytes(20 * 1024 * 1024));
    const remote = dir("pty-remote");
    const cmd = [process.execPath, bin, "cp", "-F", cfg, f, `mcgonagall:${remote}/`].map(q).join(" ");
    const r = spawnSync("script", ["-qfec", cmd, "/dev/null"], {
      timeout: 120_000,
      env: { ...process.env, COLUMNS: "100" },
    });
    const out = r.stdout.toString();
    expect(r.status, out).toBe(0);
    expect(out).toContain("\r\x1b[K");
    // A whole bar: percent, bytes of the total, files, rate.
    expect(out).toMatch(/\d+%\s+[\d.]+ (B|KiB|MiB)\/20\.0 MiB\s+[01]\/1 files\s+(--|[\d.]+ \w+)\/s/);
    expect(out).toMatch(/1 file, 20\.0 MiB in \d\d:\d\d/);
    // Not on a terminal: no bar, only the summary.
    const plain = jumpgate(["cp", "-F", cfg, f, `mcgonagall:${remote}/again.bin`]);
    expect(plain.code).toBe(0);
    expect(plain.stderr).not.toContain("\x1b[K");
    expect(plain.stderr).toMatch(/^cp: 1 file, 20\.0 MiB in \d\d:\d\d \(.*\/s\)\n$/);
  }, 120_000);
});
