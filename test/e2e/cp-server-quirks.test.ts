/**
 * `jumpgate cp` against an SFTP server that leaves out what SFTP makes optional (an embedded ssh2
 * server; OpenSSH's always sends it): a file whose size is not given is refused with a clear
 * error and nothing is written.
 */
import { spawn } from "node:child_process";
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
