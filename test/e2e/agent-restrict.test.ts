/**
 * Destination-constrained keys (`ssh-add -h`), modelled on OpenSSH's regress/agent-restrict.sh,
 * run against both agents: OpenSSH's ssh-agent and jumpgate's. Real ssh, ssh-add and sshd in the
 * bastion lab (jaguar, then mcgonagall behind it). Every step must give the same outcome with both
 * agents, and the outcome OpenSSH documents:
 *
 * - a key restricted to jaguar logs into jaguar, not into mcgonagall (ProxyJump: a first hop from
 *   here), and is neither listed nor usable on jaguar through a forwarded agent (`ssh -A`);
 * - `-h jaguar -h mcgonagall` allows the ProxyJump route (two first hops);
 * - `-h jaguar -h "jaguar>mcgonagall"` allows `ssh -A jaguar ssh mcgonagall`, not ProxyJump;
 * - `-h user@host` checks the user; a constrained key signs nothing but userauth requests.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type BastionLab, describeE2E, startBastionLab } from "../support/lab.js";

const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const bin = join(repo, "bin/jumpgate.js");

type AgentKind = "openssh" | "jumpgate";
const KINDS: AgentKind[] = ["openssh", "jumpgate"];

interface Step {
  code: number | null;
  stdout: string;
  stderr: string;
}

describeE2E("destination-constrained keys (ssh-add -h) with both agents", "netns", () => {
  let lab: BastionLab;
  let dir: string;
  let key: string;
  let hostKeys: string;
  let sshConfig: string;
  const agents = new Map<AgentKind, { socket: string; child: ChildProcess }>();

  async function waitForSocket(path: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!existsSync(path)) {
      if (Date.now() > deadline) throw new Error(`agent socket ${path} did not appear`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  beforeAll(async () => {
    lab = await startBastionLab();
    dir = mkdtempSync(join(tmpdir(), "jg-agent-restrict-"));
    // The lab's user key, under a name no config lists: only the agent can offer it.
    key = join(dir, "user_key");
    copyFileSync(lab.identityPath, key);
    copyFileSync(`${lab.identityPath}.pub`, `${key}.pub`);
    spawnSync("chmod", ["600", key]);
    // ssh-add -h looks host keys up by name: a known_hosts naming the lab hosts jaguar, mcgonagall.
    const [jaguarLine, mcgonagallLine] = readFileSync(lab.knownHostsPath, "utf8").trim().split("\n");
    const keyOf = (line: string | undefined) => (line ?? "").slice((line ?? "").indexOf(" ") + 1);
    hostKeys = join(dir, "known_hosts_names");
    writeFileSync(hostKeys, `jaguar ${keyOf(jaguarLine)}\nmcgonagall ${keyOf(mcgonagallLine)}\n`);
    // The lab's config without its own identity and agent lines: keys come from the agent only.
    const config = readFileSync(lab.configPath, "utf8")
      .split("\n")
      .filter((l) => !/^\s*(IdentityFile|IdentityAgent|IdentitiesOnly|ForwardAgent)\b/i.test(l))
      .join("\n");
    sshConfig = join(dir, "ssh_config");
    writeFileSync(sshConfig, `Host *\n  IdentityFile ${join(dir, "none")}\n  BatchMode yes\n\n${config}`, {
      mode: 0o600,
    });
    const openssh = join(dir, "openssh.sock");
    const jumpgate = join(dir, "jumpgate.sock");
    agents.set("openssh", {
      socket: openssh,
      child: spawn("ssh-agent", ["-D", "-a", openssh], { stdio: "ignore" }),
    });
    agents.set("jumpgate", {
      socket: jumpgate,
      child: spawn(process.execPath, [bin, "agent", "-D", "-a", jumpgate], { stdio: "ignore" }),
    });
    await Promise.all([waitForSocket(openssh), waitForSocket(jumpgate)]);
  });

  afterAll(async () => {
    for (const { child } of agents.values()) child.kill("SIGTERM");
    await lab?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function run(kind: AgentKind, command: string[]): Step {
    const agent = agents.get(kind);
    if (!agent) throw new Error(`no ${kind} agent`);
    const [program, ...args] = command as [string, ...string[]];
    const r = spawnSync(program, args, {
      encoding: "utf8",
      timeout: 60_000,
      env: { ...process.env, SSH_AUTH_SOCK: agent.socket, SSH_ASKPASS: "", DISPLAY: "" },
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** Runs one step with each agent; both must agree on the exit status and output. */
  function both(command: string[]): Step {
    const [a, b] = KINDS.map((k) => run(k, command)) as [Step, Step];
    expect(
      { code: b.code, stdout: b.stdout.replaceAll(agents.get("jumpgate")!.socket, "<sock>") },
      `jumpgate's agent differs from ssh-agent on: ${command.join(" ")}\nssh-agent stderr: ${a.stderr}\njumpgate stderr: ${b.stderr}`,
    ).toEqual({ code: a.code, stdout: a.stdout.replaceAll(agents.get("openssh")!.socket, "<sock>") });
    return b;
  }

  /** Each agent holds only the key, with these -h constraints (added by OpenSSH's ssh-add). */
  function restrict(...hops: string[]): void {
    both(["ssh-add", "-D"]);
    const args = ["ssh-add", "-H", hostKeys, ...hops.flatMap((h) => ["-h", h]), key];
    const added = both(args);
    expect(added.code, added.stderr).toBe(0);
  }

  const ssh = (host: string, command: string, extra: string[] = []) => [
    "ssh",
    "-F",
    sshConfig,
    "-o",
    "IdentityAgent=SSH_AUTH_SOCK",
    ...extra,
    host,
    command,
  ];
  /** From jaguar, with the agent forwarded there: ssh on to mcgonagall. */
  const innerSsh = () =>
    `ssh -o BatchMode=yes -o UserKnownHostsFile=${lab.knownHostsPath} -o GlobalKnownHostsFile=/dev/null ` +
    `-o StrictHostKeyChecking=yes -o IdentityFile=/nonexistent -p ${lab.mcgonagall.port} ` +
    `${lab.user}@${lab.mcgonagall.host} 'echo inner-ok'`;
  const fingerprint = () =>
    spawnSync("ssh-keygen", ["-lf", `${key}.pub`], { encoding: "utf8" }).stdout.split(" ")[1] as string;

  it("-h jaguar: logs into jaguar, not into mcgonagall, and is hidden from a forwarded agent", () => {
    restrict("jaguar");
    // Local use (no session bound): ssh-add lists it.
    expect(both(["ssh-add", "-l"]).stdout).toContain(fingerprint());
    expect(both(ssh("jaguar", "echo outer-ok")).stdout).toContain("outer-ok");
    const jump = both(ssh("mcgonagall", "echo inner-ok"));
    expect(jump.code).toBe(255);
    expect(jump.stdout).not.toContain("inner-ok");
    // Over the forwarded agent on jaguar the key is permitted to jaguar but not beyond: not listed.
    const listed = both(ssh("jaguar", "ssh-add -l", ["-A"]));
    expect(listed.stdout).toContain("The agent has no identities.");
    const cascade = both(ssh("jaguar", innerSsh(), ["-A"]));
    expect(cascade.code).not.toBe(0);
    expect(cascade.stdout).not.toContain("inner-ok");
  });

  it('-h jaguar -h "jaguar>mcgonagall": ssh -A jaguar, then on to mcgonagall; not ProxyJump', () => {
    restrict("jaguar", "jaguar>mcgonagall");
    expect(both(ssh("jaguar", "ssh-add -l", ["-A"])).stdout).toContain(fingerprint());
    const cascade = both(ssh("jaguar", innerSsh(), ["-A"]));
    expect(cascade.code, cascade.stderr).toBe(0);
    expect(cascade.stdout).toContain("inner-ok");
    // ProxyJump makes mcgonagall a first hop from here, which no constraint allows.
    expect(both(ssh("mcgonagall", "echo inner-ok")).code).toBe(255);
  });

  it("jumpgate add -h builds the same constraints as ssh-add -h (used by both agents)", () => {
    both(["ssh-add", "-D"]);
    const added = both([
      process.execPath,
      bin,
      "add",
      "-H",
      hostKeys,
      "-h",
      "jaguar",
      "-h",
      "jaguar>mcgonagall",
      key,
    ]);
    expect(added.code, added.stderr).toBe(0);
    expect(both(ssh("jaguar", innerSsh(), ["-A"])).stdout).toContain("inner-ok");
    expect(both(ssh("mcgonagall", "echo inner-ok")).code).toBe(255);
  });

  it("-h jaguar -h mcgonagall: the ProxyJump route works", () => {
    restrict("jaguar", "mcgonagall");
    const jump = both(ssh("mcgonagall", "echo via-jump"));
    expect(jump.code, jump.stderr).toBe(0);
    expect(jump.stdout).toContain("via-jump");
    // Still not usable beyond jaguar through a forwarded agent.
    expect(both(ssh("jaguar", innerSsh(), ["-A"])).stdout).not.toContain("inner-ok");
  });

  it("user@host: only that user may log in with the key", () => {
    restrict(`nobody-${process.pid}@jaguar`);
    expect(both(ssh("jaguar", "echo outer-ok")).code).toBe(255);
    restrict(`${lab.user}@jaguar`);
    expect(both(ssh("jaguar", "echo outer-ok")).stdout).toContain("outer-ok");
  });

  it("a constrained key signs nothing but userauth requests (ssh-add -T is refused)", () => {
    restrict("jaguar");
    expect(both(["ssh-add", "-T", `${key}.pub`]).code).not.toBe(0);
    both(["ssh-add", "-D"]);
    both(["ssh-add", "-q", key]);
    expect(both(["ssh-add", "-T", `${key}.pub`]).code).toBe(0);
  });

  it("refuses constraints the agent cannot honour, as ssh-agent does", () => {
    both(["ssh-add", "-D"]);
    // ssh-add sends "user@" with no host; the agent finds the "to" hop incomplete.
    const r = both(["ssh-add", "-H", hostKeys, "-h", `${lab.user}@`, key]);
    expect(r.code).not.toBe(0);
    expect(both(["ssh-add", "-l"]).code).toBe(1);
  });
});
