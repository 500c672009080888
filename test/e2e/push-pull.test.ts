/**
 * `jumpgate push` / `jumpgate pull` against real OpenSSH sshd in the seeds' topology (you ->
 * jaguar -> mcgonagall), compared with what OpenSSH's own pipeline (`tar c | ssh host 'tar x'`)
 * produces from the same tree. The lab's hosts share this machine's file system (network
 * namespaces only), so what the remote tar wrote is checked here directly.
 */
import { spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type BastionLab, describeE2E, startBastionLab } from "../support/lab.js";
import { makeTree, manifest, manifestDiff } from "../support/tar-tree.js";

const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const bin = join(repo, "bin/jumpgate.js");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Mounts a small tmpfs (root only); false, with a loud line, when this machine cannot. */
const mounts: string[] = [];
function mountTmpfs(dir: string, options: string): boolean {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", options, "tmpfs", dir]);
  if (r.status === 0) {
    mounts.push(dir);
    return true;
  }
  const message = `[jumpgate e2e] cannot mount a tmpfs (${r.stderr.toString().trim()}): run as root`;
  if (process.env.CI === "true") throw new Error(message);
  console.warn(`${message}; NOT CHECKED`);
  return false;
}

/** Every path under `dir`, relative and sorted (directories too). */
function paths(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      out.push(r);
      if (statSync(join(d, name), { throwIfNoEntry: false })?.isDirectory()) walk(join(d, name), r);
    }
  };
  walk(dir, "");
  return out.sort();
}

function jumpgate(args: string[]): Run {
  const r = spawnSync(process.execPath, [bin, ...args], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describeE2E("jumpgate push / pull through jaguar", "netns", () => {
  let lab: BastionLab;
  let work: string;
  let tree: string;
  let canMount = false;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "jg-pushpull-"));
    // Mounted before the lab starts: the lab's sshds (in their own mount namespaces) then see them.
    canMount =
      mountTmpfs(join(work, "full"), "size=1m") &&
      mountTmpfs(join(work, "rfull"), "size=1m") &&
      mountTmpfs(join(work, "ro"), "size=1m,ro");
    lab = await startBastionLab();
    tree = join(work, "tree");
    makeTree(tree, { files: 5000, avgSize: 1024 });
    mkdirSync(join(work, "small"));
    writeFileSync(join(work, "small", "a.txt"), "a\n");
  }, 120_000);

  afterAll(async () => {
    await lab?.stop();
    for (const m of mounts.reverse()) spawnSync("umount", ["-l", m]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const F = () => ["-F", lab.configPath];

  it("push: a 5,000-file tree arrives intact (checksums, modes, mtimes, symlinks), as OpenSSH's tar pipeline puts it", () => {
    const remote = join(work, "pushed", "new dir 'q'");
    const r = jumpgate(["push", "-q", ...F(), tree, `mcgonagall:${remote}`]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const diffs = manifestDiff(manifest(tree), manifest(remote));
    expect(diffs).toEqual([]);
    expect(manifest(remote).size).toBeGreaterThan(5000);
  }, 60_000);

  it("pull: the same tree comes back intact", () => {
    const local = join(work, "pulled");
    const r = jumpgate(["pull", "-q", ...F(), `mcgonagall:${tree}`, local]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(manifestDiff(manifest(tree), manifest(local))).toEqual([]);
  }, 60_000);

  it("push --gitignore honours root and nested .gitignore files; --exclude wins over them", () => {
    const src = join(work, "project");
    const files: Record<string, string> = {
      ".gitignore": "*.log\nbuild/\n!keep.log\n/only-at-root.txt\n",
      "keep.log": "kept: re-included with !\n",
      "debug.log": "ignored by *.log\n",
      "only-at-root.txt": "ignored: anchored pattern\n",
      "src/only-at-root.txt": "kept: the anchored pattern is for the root only\n",
      "src/main.ts": "kept\n",
      "src/deep/trace.log": "ignored at any depth\n",
      "build/out.js": "ignored: build/\n",
      "src/build": "kept: a file, and build/ matches directories only\n",
      "sub/.gitignore": "secret.txt\n",
      "sub/secret.txt": "ignored by the nested .gitignore\n",
      "secret.txt": "kept: the nested .gitignore does not reach up\n",
      "node_modules/x/index.js": "excluded by --exclude\n",
      "docs/a.tmp": "excluded by --exclude docs/**/*.tmp\n",
      "docs/guide.md": "kept\n",
    };
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(src, name, ".."), { recursive: true });
      writeFileSync(join(src, name), text);
    }
    const remote = join(work, "project-pushed");
    const r = jumpgate([
      "push",
      "-q",
      ...F(),
      "--gitignore",
      "--exclude",
      "node_modules/",
      "--exclude=docs/**/*.tmp",
      src,
      `mcgonagall:${remote}`,
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(paths(remote)).toEqual(
      [
        ".gitignore",
        "docs",
        "docs/guide.md",
        "keep.log",
        "secret.txt",
        "src",
        "src/build",
        // Directories are sent even when everything in them is ignored (tar keeps them; git has no directories).
        "src/deep",
        "src/main.ts",
        "src/only-at-root.txt",
        "sub",
        "sub/.gitignore",
      ].sort(),
    );
  });

  it("push --exclude without --gitignore leaves .gitignore files alone", () => {
    const src = join(work, "project");
    const remote = join(work, "project-exclude");
    const r = jumpgate([
      "push",
      "-q",
      ...F(),
      "--exclude",
      "*.log",
      "--exclude",
      "/src/",
      src,
      `mcgonagall:${remote}`,
    ]);
    expect(r.code).toBe(0);
    const got = paths(remote);
    expect(got).toContain("build/out.js");
    expect(got).toContain("sub/secret.txt");
    expect(got).toContain("node_modules/x/index.js");
    expect(got.filter((p) => p.endsWith(".log") || p.startsWith("src"))).toEqual([]);
  });

  it("push quotes the remote directory: shell syntax in it is a name, never a command", () => {
    const src = join(work, "small");
    const marker = join(work, "PWNED");
    const remote = join(work, `x $(touch ${marker}); \`echo y\` 'z"`);
    const r = jumpgate(["push", "-q", ...F(), src, `mcgonagall:${remote}`]);
    expect(r.code).toBe(0);
    expect(readFileSync(join(remote, "a.txt"), "utf8")).toBe("a\n");
    expect(existsSync(marker)).toBe(false);
  });

  it("push and pull with --compress gzip, and a summary line when not on a terminal", () => {
    const src = join(work, "tree", "dir 1");
    const remote = join(work, "gz-pushed");
    const r = jumpgate(["push", ...F(), "--compress", "gzip", src, `mcgonagall:${remote}`]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^push: \d+ files, [0-9.]+ [KM]iB in \d\d:\d\d/m);
    expect(manifestDiff(manifest(src), manifest(remote))).toEqual([]);
    const back = join(work, "gz-pulled");
    const p = jumpgate(["pull", "-q", ...F(), "--compress", "gzip", `mcgonagall:${remote}`, back]);
    expect(p.code).toBe(0);
    expect(manifestDiff(manifest(src), manifest(back))).toEqual([]);
  });

  it("pull --to-file saves the archive (plain and .tar.gz) with the names tar -c gives", () => {
    const src = join(work, "tree", "dir 2");
    const expected = spawnSync("tar", ["-c", "-f", "-", "-C", src, "."]);
    const names = (args: string[], input?: Buffer) =>
      spawnSync("tar", args, { input }).stdout.toString().split("\n").filter(Boolean).sort();
    const want = names(["-t", "-f", "-"], expected.stdout);
    for (const file of ["saved.tar", "saved.tar.gz"]) {
      const out = join(work, file);
      const r = jumpgate(["pull", "-q", ...F(), "--to-file", out, `mcgonagall:${src}`]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(names([file.endsWith(".gz") ? "-tzf" : "-tf", out])).toEqual(want);
      expect(readdirSync(work).filter((n) => n.includes(".jumpgate-"))).toEqual([]);
    }
  });

  it("a remote without tar: a clear error, exit 1, and what was (not) written", () => {
    const remote = join(work, "no-tar");
    const r = jumpgate([
      "push",
      ...F(),
      "--remote-tar",
      "/nonexistent/tar",
      join(work, "small"),
      `mcgonagall:${remote}`,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/JG_TAR_NO_REMOTE_TAR: mcgonagall has no usable tar \(exit status 127\)/);
    expect(r.stderr).toMatch(/Nothing was extracted: tar never started there/);
    expect(readdirSync(remote)).toEqual([]);
    const local = join(work, "no-tar-pulled");
    const p = jumpgate(["pull", ...F(), "--remote-tar", "/nonexistent/tar", `mcgonagall:${remote}`, local]);
    expect(p.code).toBe(1);
    expect(p.stderr).toMatch(/JG_TAR_NO_REMOTE_TAR/);
    expect(p.stderr).toMatch(/0 files \(0 bytes\) were written/);
    expect(existsSync(local)).toBe(false);
  });

  it("pull of a missing remote directory fails and creates nothing", () => {
    const local = join(work, "missing-pulled");
    const r = jumpgate(["pull", ...F(), `mcgonagall:${join(work, "does-not-exist")}`, local]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/JG_TAR_SOURCE: mcgonagall: the remote directory cannot be read/);
    expect(r.stderr).toMatch(/remote said: .*No such file or directory/);
    expect(existsSync(local)).toBe(false);
  });

  it("pull into a full disk: JG_TAR_NO_SPACE, says what was written, leaves no truncated file", () => {
    if (!canMount) return;
    const full = join(work, "full");
    const src = join(work, "big");
    mkdirSync(src, { recursive: true });
    for (let i = 0; i < 6; i++) writeFileSync(join(src, `part${i}.bin`), Buffer.alloc(300 * 1024, i + 1));
    const r = jumpgate(["pull", "-q", ...F(), `mcgonagall:${src}`, join(full, "dest")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /JG_TAR_NO_SPACE: the local disk is full .*\d+ files? \(\d+ bytes\) written under/,
    );
    expect(r.stderr).toMatch(/was incomplete and was removed/);
    // Whatever is there is complete.
    for (const name of readdirSync(join(full, "dest"))) {
      expect(readFileSync(join(full, "dest", name)).equals(readFileSync(join(src, name)))).toBe(true);
    }
  });

  it("push into a full remote disk: JG_TAR_NO_SPACE with the remote's words", () => {
    if (!canMount) return;
    const src = join(work, "big");
    mkdirSync(src, { recursive: true });
    for (let i = 0; i < 6; i++) writeFileSync(join(src, `part${i}.bin`), Buffer.alloc(300 * 1024, i + 1));
    const r = jumpgate(["push", "-q", ...F(), src, `mcgonagall:${join(work, "rfull", "dest")}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/JG_TAR_NO_SPACE: mcgonagall: the remote disk is full/);
    expect(r.stderr).toMatch(/\d of 6 files .* were sent.*files it names below were not written/);
    expect(r.stderr).toMatch(/remote said:[\s\S]*No space left on device/);
  });

  it("push into a read-only remote directory and pull into a read-only local one: JG_TAR_PERMISSION", () => {
    if (!canMount) return;
    const ro = join(work, "ro");
    const p = jumpgate(["pull", "-q", ...F(), `mcgonagall:${join(work, "small")}`, ro]);
    expect(p.code).toBe(1);
    expect(p.stderr).toMatch(/JG_TAR_PERMISSION: cannot write .*read-only|JG_TAR_PERMISSION: cannot write/i);
    expect(p.stderr).toMatch(/0 files \(0 bytes\) written/);
    const r = jumpgate(["push", "-q", ...F(), join(work, "small"), `mcgonagall:${ro}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/JG_TAR_PERMISSION: mcgonagall: permission denied on the remote side/);
    expect(r.stderr).toMatch(/remote said:[\s\S]*Read-only file system/);
  });

  it("push of a tree holding a fifo sends the rest and says what it left out (JG_TAR_INCOMPLETE)", () => {
    const src = join(work, "with-fifo");
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, "ok.txt"), "ok\n");
    expect(spawnSync("mkfifo", [join(src, "pipe")]).status).toBe(0);
    const remote = join(work, "with-fifo-pushed");
    const r = jumpgate(["push", "-q", ...F(), src, `mcgonagall:${remote}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /JG_TAR_INCOMPLETE: 1 local item was not sent: pipe \(a fifo; push sends files, directories and symlinks only\)/,
    );
    expect(readdirSync(remote)).toEqual(["ok.txt"]);
  });

  it("push and pull with --compress zstd (local and remote zstd processes) keep the tree intact", () => {
    const src = join(work, "tree", "dir 1");
    const remote = join(work, "zst-pushed");
    const r = jumpgate(["push", "-q", ...F(), "--compress", "zstd", src, `mcgonagall:${remote}`]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(manifestDiff(manifest(src), manifest(remote))).toEqual([]);
    const back = join(work, "zst-pulled");
    const p = jumpgate(["pull", "-q", ...F(), "--compress", "zstd", `mcgonagall:${remote}`, back]);
    expect(p.stderr).toBe("");
    expect(p.code).toBe(0);
    expect(manifestDiff(manifest(src), manifest(back))).toEqual([]);
  });

  it("pull --to-file .tar.zst saves the zstd stream (zstd -dc | tar -t reads it); .tar with --compress zstd is plain", () => {
    const src = join(work, "tree", "dir 2");
    const names = (args: string[], input?: Buffer) =>
      spawnSync("tar", args, { input }).stdout.toString().split("\n").filter(Boolean).sort();
    const want = names(["-t", "-f", "-"], spawnSync("tar", ["-c", "-f", "-", "-C", src, "."]).stdout);
    const zst = join(work, "saved.tar.zst");
    const r = jumpgate(["pull", "-q", ...F(), "--to-file", zst, `mcgonagall:${src}`]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const raw = spawnSync("zstd", ["-d", "-c", zst]);
    expect(raw.status).toBe(0);
    expect(names(["-t", "-f", "-"], raw.stdout)).toEqual(want);
    const plain = join(work, "saved-z.tar");
    const p = jumpgate(["pull", "-q", ...F(), "--compress", "zstd", "--to-file", plain, `mcgonagall:${src}`]);
    expect(p.code).toBe(0);
    expect(names(["-tf", plain])).toEqual(want);
    expect(readdirSync(work).filter((n) => n.includes(".jumpgate-"))).toEqual([]);
  });

  it("pull --compress zstd of a missing remote directory is still JG_TAR_SOURCE (tar's status kept)", () => {
    const local = join(work, "zst-missing-pulled");
    const r = jumpgate(["pull", ...F(), "--compress", "zstd", `mcgonagall:${join(work, "nope")}`, local]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/JG_TAR_SOURCE: mcgonagall: the remote directory cannot be read/);
    expect(existsSync(local)).toBe(false);
  });

  it("--compress zstd without a local zstd: JG_TAR_COMPRESS before anything is sent or written", () => {
    const remote = join(work, "zst-no-local");
    const env = { ...process.env, PATH: join(work, "empty-path") };
    const run = (args: string[]) => {
      const x = spawnSync(process.execPath, [bin, ...args], { env, timeout: 60_000 });
      return { code: x.status, stderr: x.stderr.toString() };
    };
    const r = run(["push", "-q", ...F(), "--compress", "zstd", join(work, "small"), `mcgonagall:${remote}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/JG_TAR_COMPRESS: .*install zstd or use --compress gzip/);
    expect(existsSync(remote)).toBe(false);
    const local = join(work, "zst-no-local-pulled");
    const p = run(["pull", "-q", ...F(), "--compress", "zstd", `mcgonagall:${join(work, "small")}`, local]);
    expect(p.code).toBe(1);
    expect(p.stderr).toMatch(/JG_TAR_COMPRESS: .*install zstd or use --compress gzip/);
    expect(existsSync(local)).toBe(false);
  });

  it.each([
    ["", []],
    [" with --compress zstd", ["--compress", "zstd"]],
  ])(
    "Ctrl-C during a pull%s: exit 130, JG_TAR_INTERRUPTED, no partial file left",
    async (tag, extra) => {
      const local = join(work, `interrupted${tag.replace(/\W/g, "")}`);
      const child = spawn(process.execPath, [
        bin,
        "pull",
        "-q",
        ...F(),
        ...extra,
        `mcgonagall:${tree}`,
        local,
      ]);
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
      });
      // Interrupt once the first files have landed.
      while (!existsSync(local) || readdirSync(local).length === 0)
        await new Promise((r) => setTimeout(r, 20));
      child.kill("SIGINT");
      const code = await new Promise<number | null>((r) => child.on("close", r));
      expect(stderr).toMatch(/JG_TAR_INTERRUPTED: pull interrupted/);
      expect(code).toBe(130);
      // Every file that is there is complete (same bytes as the source).
      const source = manifest(tree, { mtimes: false });
      for (const [rel, line] of manifest(local, { mtimes: false })) {
        if (line.startsWith("file")) expect(line).toBe(source.get(rel));
      }
    },
    60_000,
  );
});
