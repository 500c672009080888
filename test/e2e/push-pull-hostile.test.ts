/**
 * `jumpgate pull` from a hostile server (an embedded ssh2 server, see hostile-tar-server.ts) whose
 * `tar -c` answers with entries built to escape the destination. Nothing may be written outside
 * the destination, each refusal must be said with its reason, the honest entries still land, and
 * the exit status is non-zero.
 */
import { spawn } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { currentUmask } from "../../src/util/umask.js";
import { startEmbeddedSshServer } from "../support/embedded-ssh-server.js";
import { craftTar, type HostileServer, startHostileServer } from "../support/hostile-tar-server.js";

const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const bin = join(repo, "bin/jumpgate.js");

/** Every file and directory under `dir`, relative, for "nothing was written here" checks. */
function everything(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      out.push(r);
      if (lstatSync(join(d, name)).isDirectory()) walk(join(d, name), r);
    }
  };
  walk(dir, "");
  return out;
}

function runJumpgate(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

describe("jumpgate pull from a hostile server", () => {
  let server: HostileServer;
  let work: string;
  let outside: string;
  let dest: string;
  let run: { code: number | null; stdout: string; stderr: string };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "jg-hostile-pull-"));
    // The destination sits two levels down so `../../outside` from its top names `outside`.
    outside = join(work, "outside");
    mkdirSync(outside);
    dest = join(work, "a", "dest");
    mkdirSync(dest, { recursive: true });
    // A symlink that was already in the destination, pointing out of it.
    symlinkSync(outside, join(dest, "pre-existing-link"));
    const archive = await craftTar([
      { name: "./", type: "directory", mode: 0o755 },
      { name: "./ok.txt", body: "an honest file\n", mode: 0o644 },
      { name: "../escape-dotdot.txt", body: "escaped with ..\n" },
      { name: "./sub/../../escape-middle.txt", body: "escaped with .. in the middle\n" },
      { name: join(outside, "absolute.txt"), body: "escaped with an absolute name\n" },
      { name: "./abs-link", type: "symlink", linkname: outside },
      { name: "./abs-link/through-abs-link.txt", body: "written through an absolute link\n" },
      { name: "./rel-link", type: "symlink", linkname: "../../outside" },
      { name: "./rel-link/through-rel-link.txt", body: "written through a relative link\n" },
      { name: "./sneaky", type: "symlink", linkname: "sub2/../../../outside" },
      { name: "./pre-existing-link/through-existing.txt", body: "written through a link already there\n" },
      { name: "./inner", type: "directory", mode: 0o755 },
      { name: "./inner-link", type: "symlink", linkname: "inner" },
      { name: "./inner-link/through-inner-link.txt", body: "through a link that stays inside\n" },
      { name: "./hard-out", type: "link", linkname: "/etc/passwd" },
      { name: "./hard-up", type: "link", linkname: "../outside/x" },
      { name: "./null", type: "character-device", devmajor: 1, devminor: 3, mode: 0o666 },
      { name: "./disk", type: "block-device", devmajor: 8, devminor: 0, mode: 0o660 },
      { name: "./pipe", type: "fifo", mode: 0o644 },
      { name: "./suid", body: "#!/bin/sh\necho root\n", mode: 0o4755 },
      { name: "./sgid-dir", type: "directory", mode: 0o2775 },
      { name: "./last.txt", body: "after all the refusals\n", mode: 0o600 },
    ]);
    server = await startHostileServer(archive);
    // Not spawnSync: the server lives in this process and must keep answering.
    run = await runJumpgate(["pull", "-q", "-F", server.configPath, "hostile:/srv/app", dest]);
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("asked the server for tar -c with the directory quoted", () => {
    expect(server.commands).toEqual(["exec tar -c -f - -C /srv/app ."]);
  });

  it("writes nothing outside the destination", () => {
    expect(everything(outside)).toEqual([]);
    expect(readdirSync(join(work, "a")).sort()).toEqual(["dest"]);
    expect(readdirSync(work).sort()).toEqual(["a", "outside"]);
  });

  it("extracts the honest entries, with setuid/setgid dropped", () => {
    expect(readFileSync(join(dest, "ok.txt"), "utf8")).toBe("an honest file\n");
    expect(readFileSync(join(dest, "last.txt"), "utf8")).toBe("after all the refusals\n");
    expect(lstatSync(join(dest, "last.txt")).mode & 0o7777).toBe(0o600);
    expect(lstatSync(join(dest, "suid")).mode & 0o7777).toBe(0o755);
    expect(lstatSync(join(dest, "sgid-dir")).mode & 0o7777).toBe(0o775 & ~currentUmask()); // the umask applies, as for tar -x by a user
    // A link that stays inside is created; nothing is written through it.
    expect(lstatSync(join(dest, "inner-link")).isSymbolicLink()).toBe(true);
    expect(readdirSync(join(dest, "inner"))).toEqual([]);
    expect(everything(dest)).toEqual([
      "inner",
      "inner-link",
      "last.txt",
      "ok.txt",
      "pre-existing-link",
      "sgid-dir",
      "suid",
    ]);
  });

  it("a remote's error text reaches the terminal without its escape sequences", async () => {
    const src = join(work, "push-src");
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, "f"), "x");
    // The server answers anything but tar -c with an error on stderr that carries escapes.
    const pushed = await runJumpgate(["push", "-q", "-F", server.configPath, src, "hostile:/srv/in"]);
    expect(pushed.code).not.toBe(0);
    expect(pushed.stderr).toContain("not what a hostile server serves");
    expect(pushed.stderr.includes("\u001b")).toBe(false);
    expect(pushed.stderr.includes("\u0007")).toBe(false);
  });

  it("says why each refused entry was refused, and exits non-zero", () => {
    const said = (name: string, why: RegExp) => {
      const line = run.stderr.split("\n").find((l) => l.startsWith(`jumpgate: refused ${name}: `));
      expect(line, `a refusal line for ${name} in:\n${run.stderr}`).toBeDefined();
      expect(line).toMatch(why);
    };
    said("../escape-dotdot.txt", /'\.\.'/);
    said("./sub/../../escape-middle.txt", /'\.\.'/);
    said(join(outside, "absolute.txt"), /absolute path/);
    said("./abs-link", /absolute path/);
    said("./abs-link/through-abs-link.txt", /'abs-link' was refused/);
    said("./rel-link", /leaves the destination/);
    said("./rel-link/through-rel-link.txt", /'rel-link' was refused/);
    said("./sneaky", /'\.\.' after a name/);
    said("./pre-existing-link/through-existing.txt", /symlink in the destination.*never writes through/);
    said("./inner-link/through-inner-link.txt", /never writes through a symlink/);
    said("./hard-out", /absolute path/);
    said("./hard-up", /'\.\.'/);
    said("./null", /character device/);
    said("./disk", /block device/);
    said("./pipe", /fifo/);
    expect(run.stderr).toMatch(/jumpgate: note: \.\/suid: setuid bit dropped/);
    expect(run.stderr).toMatch(/jumpgate: note: \.\/sgid-dir: setgid bit dropped/);
    expect(run.stderr).toMatch(/JG_TAR_UNSAFE_ENTRY: 15 archive entries were refused .*nothing outside it/);
    expect(run.code).toBe(1);
    expect(existsSync(join(dest, "ok.txt"))).toBe(true);
  });
});

describe("jumpgate push to a remote command that exits 0 without reading", () => {
  it("is JG_TAR_REMOTE_FAILED (exit 1) with what was sent, not an internal error", async () => {
    const server = await startEmbeddedSshServer("early", (conn) => {
      conn.on("session", (acceptSession) => {
        acceptSession().on("exec", (accept) => {
          const channel = accept();
          channel.on("error", () => {});
          // A forced command that ignores its input, as `--remote-tar true` would.
          channel.exit(0);
          channel.end();
        });
      });
    });
    const src = mkdtempSync(join(tmpdir(), "jg-early-src-"));
    try {
      // More than the SSH window, so the packer is still sending when the remote is gone.
      for (let i = 0; i < 8; i++) writeFileSync(join(src, `f${i}`), Buffer.alloc(1024 * 1024, i));
      const r = await runJumpgate(["push", "-q", "-F", server.configPath, src, "early:/srv/in"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /JG_TAR_REMOTE_FAILED: the remote command ended \(status 0\) before it had read the whole archive/,
      );
      expect(r.stderr).not.toMatch(/JG_INTERNAL/);
    } finally {
      rmSync(src, { recursive: true, force: true });
      await server.stop();
    }
  });
});
