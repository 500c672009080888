/**
 * The embedded demo lab (src/demo) with OpenSSH's own client: the files it writes are a working
 * ssh_config, known_hosts and identity for `ssh`, ProxyJump through jaguar reaches mcgonagall, the
 * localhost-only service answers through `ssh -W`, and mcgonagall is not reachable any other way.
 */
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type DemoLab, startDemoLab } from "../../src/demo/lab.js";
import { describeE2E, labProgram, runSsh } from "../support/lab.js";
import { runCommand } from "../support/proc.js";

const serviceReply = (data: Buffer): string =>
  `got ${data.length} bytes sha256 ${createHash("sha256").update(data).digest("hex")}\n`;

describeE2E("demo lab with OpenSSH's ssh", "sshd", () => {
  let lab: DemoLab;
  const ssh = (args: readonly string[], input?: Buffer | string) =>
    runSsh(lab.configPath, args, input === undefined ? {} : { input });

  beforeAll(async () => {
    lab = await startDemoLab();
  });
  afterAll(() => lab?.stop());

  it("OpenSSH reads the generated private key (ssh-keygen -y gives the .pub key)", async () => {
    const derived = await runCommand(labProgram("sshKeygen"), ["-y", "-f", lab.identityPath]);
    expect(derived.code).toBe(0);
    const pub = readFileSync(`${lab.identityPath}.pub`, "utf8").split(" ").slice(0, 2).join(" ");
    expect(derived.stdout.toString().trim().split(" ").slice(0, 2).join(" ")).toBe(pub);
  });

  it("ssh jaguar hostname prints jaguar", async () => {
    const r = await ssh(["jaguar", "hostname"]);
    expect(r.stderr).toBe("");
    expect(r.stdout.toString()).toBe("jaguar\n");
    expect(r.code).toBe(0);
  });

  it("ssh mcgonagall hostname prints mcgonagall, through jaguar (one connection each)", async () => {
    const before = lab.stats().connections;
    const r = await ssh(["mcgonagall", "hostname"]);
    expect(r.stderr).toBe("");
    expect(r.stdout.toString()).toBe("mcgonagall\n");
    expect(r.code).toBe(0);
    expect(lab.stats().connections).toEqual({
      jaguar: before.jaguar + 1,
      mcgonagall: before.mcgonagall + 1,
    });
  });

  it("passes exit statuses and stderr through", async () => {
    expect((await ssh(["mcgonagall", "exit 3"])).code).toBe(3);
    const unknown = await ssh(["mcgonagall", "uname -a"]);
    expect(unknown.code).toBe(127);
    expect(unknown.stderr).toContain("uname: command not found");
  });

  it("ssh -W 127.0.0.1:12345 mcgonagall reaches the localhost-only service, with the half-close", async () => {
    const payload = randomBytes(256 * 1024 + 3);
    const r = await ssh(["-W", `${lab.service.host}:${lab.service.port}`, "mcgonagall"], payload);
    expect(r.stderr).toBe("");
    expect(r.stdout.toString()).toBe(serviceReply(payload));
    expect(r.code).toBe(0);
  });

  it("refuses other forwarding destinations as administratively prohibited", async () => {
    const r = await ssh(["-W", "127.0.0.1:22", "mcgonagall"], "x");
    expect(r.code).toBe(255);
    expect(r.stdout.toString()).toBe("");
    expect(r.stderr).toContain("open failed: administratively prohibited");
  });

  it("mcgonagall is not reachable without the jump (ProxyJump=none fails)", async () => {
    const before = lab.stats().connections.mcgonagall;
    const r = await ssh(["-o", "ProxyJump=none", "mcgonagall", "true"]);
    expect(r.code).toBe(255);
    expect(r.stdout.toString()).toBe("");
    expect(lab.stats().connections.mcgonagall).toBe(before);
  });

  it("an interactive login (ssh -tt) gets the fake shell with a pty", async () => {
    const before = lab.stats().ptyRequests.mcgonagall;
    const r = await ssh(["-tt", "mcgonagall"], "whoami\rexit 4\r");
    expect(r.code).toBe(4);
    expect(r.stdout.toString()).toContain("demo@mcgonagall:~$ whoami\r\ndemo\r\n");
    expect(lab.stats().ptyRequests.mcgonagall).toBe(before + 1);
  });
});
