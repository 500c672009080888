/** The CLI side of `jumpgate dash`: spec validation, the plain-text decision, agent key labels. */
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { agentName, describeKey } from "../../../src/cli/dash/agent.js";
import { choosePlain, runDash } from "../../../src/cli/dash/run.js";
import { validateForward } from "../../../src/cli/dash/validate.js";
import { JumpgateError } from "../../../src/errors.js";

function sshString(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

describe("jumpgate dash: the CLI side", () => {
  it("validates forwards with ssh's own parser", () => {
    expect(validateForward("local", "1111:localhost:12345")).toBeNull();
    expect(validateForward("local", "127.0.0.1:1111:localhost:12345")).toBeNull();
    expect(validateForward("local", "/tmp/s.sock:localhost:80")).toBeNull();
    expect(validateForward("remote", "0:localhost:80")).toBeNull();
    expect(validateForward("dynamic", "1080")).toBeNull();
    expect(validateForward("dynamic", "127.0.0.1:1080")).toBeNull();
    expect(validateForward("local", "0:localhost:80")).toMatch(
      /^Bad local forwarding specification '0:localhost:80': expected/,
    );
    expect(validateForward("local", "99999:localhost:80")).toMatch(/Bad local/);
    expect(validateForward("local", "1111")).toMatch(/\[bind_address:\]port:host:hostport/);
    expect(validateForward("dynamic", "1:2:3")).toBe(
      "Bad dynamic forwarding specification '1:2:3': expected [bind_address:]port.",
    );
    expect(validateForward("remote", "8080:localhost")).toMatch(/Bad remote/);
  });

  it("draws only on a terminal that can: plain for pipes, TERM=dumb or unset, --plain and --once", () => {
    expect(choosePlain({}, true, "xterm-256color")).toBe(false);
    expect(choosePlain({}, false, "xterm-256color")).toBe(true);
    expect(choosePlain({}, true, "dumb")).toBe(true);
    expect(choosePlain({}, true, undefined)).toBe(true);
    expect(choosePlain({}, true, "")).toBe(true);
    expect(choosePlain({ plain: true }, true, "xterm")).toBe(true);
    expect(choosePlain({ once: true }, true, "xterm")).toBe(true);
  });

  it("refuses a bad --interval before looking for the gate (JG_USAGE, exit 2)", async () => {
    for (const interval of ["0", "-1", "soon", "7200"]) {
      const error = await runDash({ interval }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(JumpgateError);
      expect(error).toMatchObject({ code: "JG_USAGE", exitCode: 2 });
      expect((error as Error).message).toBe(
        `--interval takes seconds between 0.5 and 3600, not '${interval}'.`,
      );
    }
  });

  it("without a gate directory: JG_GATE_NOT_RUNNING with the command that starts one", async () => {
    const saved = process.env.XDG_RUNTIME_DIR;
    process.env.XDG_RUNTIME_DIR = "/nonexistent-jumpgate-test";
    try {
      await expect(runDash({})).rejects.toMatchObject({
        code: "JG_GATE_NOT_RUNNING",
        message:
          "No gate is running (no /nonexistent-jumpgate-test/jumpgate). Start one with 'jumpgate gate start'.",
      });
    } finally {
      if (saved === undefined) delete process.env.XDG_RUNTIME_DIR;
      else process.env.XDG_RUNTIME_DIR = saved;
    }
  });

  it("tells jumpgate's agent from OpenSSH's by the process SSH_AGENT_PID names", () => {
    const cmdlines: Record<string, string> = {
      "10": "/usr/bin/node\0/work/main/bin/jumpgate.js\0agent\0-R\x03\0-a\0/tmp/s\0",
      "11": "ssh-agent\0-a\0/tmp/s\0",
      "12": "/usr/bin/ssh-agent\0-s\0",
      "13": "/usr/bin/node\0/usr/lib/node_modules/jumpgate/bin/jumpgate.js\0ssh\0host\0",
      "14": "/usr/bin/gpg-agent\0--daemon\0",
    };
    const read = (pid: string) => {
      const text = cmdlines[pid];
      if (text === undefined) throw new Error("ENOENT");
      return text;
    };
    expect(agentName("10", read)).toBe("jumpgate agent");
    expect(agentName("11", read)).toBe("ssh-agent");
    expect(agentName("12", read)).toBe("ssh-agent");
    expect(agentName("13", read)).toBeUndefined();
    expect(agentName("14", read)).toBeUndefined();
    expect(agentName("99", read)).toBeUndefined();
    expect(agentName(undefined, read)).toBeUndefined();
    expect(agentName("../etc", read)).toBeUndefined();
  });

  it("labels agent keys as ssh-add -l does", () => {
    const ed = generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" });
    const raw = Buffer.from(ed.x!, "base64url");
    const blob = Buffer.concat([sshString(Buffer.from("ssh-ed25519")), sshString(raw)]);
    const info = describeKey(blob, "me@laptop");
    expect(info).toMatchObject({ type: "ED25519", bits: 256, comment: "me@laptop" });
    expect(info.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ format: "jwk" });
    const rsaBlob = Buffer.concat([
      sshString(Buffer.from("ssh-rsa")),
      sshString(Buffer.from(rsa.e!, "base64url")),
      sshString(Buffer.concat([Buffer.from([0]), Buffer.from(rsa.n!, "base64url")])),
    ]);
    expect(describeKey(rsaBlob, "")).toMatchObject({ type: "RSA", bits: 2048 });
    expect(describeKey(Buffer.from("junk"), "x")).toMatchObject({ type: "unknown" });
  });
});
