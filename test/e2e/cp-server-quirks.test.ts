/**
 * `jumpgate cp` against an SFTP server that leaves out what SFTP makes optional (an embedded ssh2
 * server; OpenSSH's always sends it): a file whose size is not given is refused with a clear
 * error and nothing is written.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ssh2 from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedSshServer, startEmbeddedSshServer } from "../support/embedded-ssh-server.js";
import { useTempDirs } from "../support/tmp.js";

const { STATUS_CODE } = ssh2.utils.sftp;
const tempDir = useTempDirs();
const bin = join(resolve(fileURLToPath(new URL("../..", import.meta.url))), "bin/jumpgate.js");

function runJumpgate(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [bin, ...args], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, JUMPGATE_NO_GATE: "1" },
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("close", (code) => done({ code, stderr }));
  });
}

describe("cp from an SFTP server that does not give a file's size", () => {
  let server: EmbeddedSshServer;
  beforeAll(async () => {
    server = await startEmbeddedSshServer("nosize", (conn) => {
      conn.on("session", (acceptSession) => {
        acceptSession().on("sftp", (acceptSftp) => {
          const sftp = acceptSftp();
          const handle = Buffer.from([1]);
          // A regular file, with a mode but no size attribute.
          const attrs = { mode: 0o100644 } as ssh2.Attributes;
          sftp.on("REALPATH", (id) => sftp.name(id, [{ filename: "/", longname: "/", attrs }]));
          sftp.on("STAT", (id) => sftp.attrs(id, attrs));
          sftp.on("LSTAT", (id) => sftp.attrs(id, attrs));
          sftp.on("OPEN", (id) => sftp.handle(id, handle));
          sftp.on("FSTAT", (id) => sftp.attrs(id, attrs));
          sftp.on("READ", (id) => sftp.status(id, STATUS_CODE.EOF));
          sftp.on("CLOSE", (id) => sftp.status(id, STATUS_CODE.OK));
        });
      });
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("is JG_CP_IO with what to do, and writes nothing", async () => {
    const out = tempDir("jg-cp-nosize-");
    const r = await runJumpgate(["cp", "-q", "-F", server.configPath, "nosize:/srv/f", out]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/JG_CP_IO: .*the server did not say how big the file is/);
    expect(r.stderr).not.toMatch(/RangeError|ERR_OUT_OF_RANGE/);
    expect(readdirSync(out)).toEqual([]);
  });
});

describe("Ctrl-C on cp while the SFTP server does not answer", () => {
  let server: EmbeddedSshServer;
  let readdirs = 0;
  beforeAll(async () => {
    server = await startEmbeddedSshServer("stall", (conn) => {
      conn.on("session", (acceptSession) => {
        acceptSession().on("sftp", (acceptSftp) => {
          const sftp = acceptSftp();
          const file = { mode: 0o100644, size: 1024 * 1024, uid: 0, gid: 0, atime: 0, mtime: 0 };
          const dir = { ...file, mode: 0o040755, size: 4096 };
          const isDir = (path: string) => !path.endsWith(".bin");
          sftp.on("REALPATH", (id, path) => sftp.name(id, [{ filename: path, longname: path, attrs: dir }]));
          sftp.on("STAT", (id, path) => sftp.attrs(id, isDir(path) ? dir : file));
          sftp.on("LSTAT", (id, path) => sftp.attrs(id, isDir(path) ? dir : file));
          sftp.on("OPEN", (id) => sftp.handle(id, Buffer.from([1])));
          sftp.on("OPENDIR", (id) => sftp.handle(id, Buffer.from([2])));
          sftp.on("FSTAT", (id) => sftp.attrs(id, file));
          // READ and READDIR are never answered: a frozen server or a dead link. (Without a
          // listener ssh2 would answer "unsupported".)
          sftp.on("READ", () => {});
          sftp.on("READDIR", () => {
            readdirs++;
          });
          sftp.on("CLOSE", (id) => sftp.status(id, STATUS_CODE.OK));
        });
      });
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  const interrupted = async (args: string[], ready: (out: string) => boolean, out: string) => {
    const child: ChildProcess = spawn(process.execPath, [bin, ...args], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, JUMPGATE_NO_GATE: "1" },
    });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
    for (let i = 0; i < 200 && !ready(out); i++) await new Promise((r) => setTimeout(r, 25));
    await new Promise((r) => setTimeout(r, 200)); // the request is sent and waiting
    child.kill("SIGINT");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    const code = await exited;
    clearTimeout(timer);
    return { code, stderr };
  };

  it("a waiting read: exit 130, JG_CP_INTERRUPTED, no partial file left", async () => {
    const out = tempDir("jg-cp-stall-");
    const r = await interrupted(
      ["cp", "-F", server.configPath, "stall:/srv/big.bin", out],
      (dir) => readdirSync(dir).some((n) => n.endsWith(".part")),
      out,
    );
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/JG_CP_INTERRUPTED/);
    expect(readdirSync(out)).toEqual([]);
  });

  it("a waiting directory listing (cp -r): exit 130, JG_CP_INTERRUPTED", async () => {
    const out = tempDir("jg-cp-stall-dir-");
    const before = readdirs;
    const r = await interrupted(
      ["cp", "-r", "-F", server.configPath, "stall:/srv/tree", out],
      () => readdirs > before,
      out,
    );
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/JG_CP_INTERRUPTED/);
  });
});
