/**
 * One conformance suite, run against both agents: OpenSSH's ssh-agent and jumpgate's. The same
 * client (OpenSSH's ssh-add, and jumpgate add) drives each; every step must give the same output
 * and exit status with both, so jumpgate's agent behaves as OpenSSH's does.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeE2E } from "../support/lab.js";

const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const bin = join(repo, "bin/jumpgate.js");

interface Step {
  code: number | null;
  stdout: string;
  stderr: string;
}

type AgentKind = "openssh" | "jumpgate";

describeE2E("agent conformance: ssh-agent and jumpgate agent answer alike", "sshd", () => {
  let dir: string;
  const agents = new Map<AgentKind, { socket: string; child: ChildProcess }>();
  let ed25519: string;
  let rsa: string;
  let askpass: string;

  async function waitForSocket(path: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!existsSync(path)) {
      if (Date.now() > deadline) throw new Error(`agent socket ${path} did not appear`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "jg-conformance-"));
    const keygen = (name: string, args: string[]) => {
      const path = join(dir, name);
      const r = spawnSync("ssh-keygen", ["-q", "-N", "", "-C", name, "-f", path, ...args]);
      if (r.status !== 0) throw new Error(`ssh-keygen ${name} failed`);
      return path;
    };
    ed25519 = keygen("id_ed25519", ["-t", "ed25519"]);
    rsa = keygen("id_rsa", ["-t", "rsa", "-b", "2048"]);
    askpass = join(dir, "askpass");
    writeFileSync(askpass, "#!/bin/sh\necho lockpass\n");
    chmodSync(askpass, 0o700);
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

  afterAll(() => {
    for (const { child } of agents.values()) child.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  });

  function run(kind: AgentKind, command: string[], extraEnv: NodeJS.ProcessEnv = {}): Step {
    const agent = agents.get(kind);
    if (!agent) throw new Error(`no ${kind} agent`);
    const [program, ...args] = command as [string, ...string[]];
    const r = spawnSync(program, args, {
      encoding: "utf8",
      timeout: 20_000,
      env: {
        ...process.env,
        SSH_AUTH_SOCK: agent.socket,
        SSH_ASKPASS: askpass,
        SSH_ASKPASS_REQUIRE: "force",
        ...extraEnv,
      },
    });
    // The socket path differs between the agents; nothing else may.
    return {
      code: r.status,
      stdout: r.stdout.replaceAll(agent.socket, "<sock>"),
      stderr: r.stderr.replaceAll(agent.socket, "<sock>"),
    };
  }

  /** Runs one step against both agents and returns the (identical) result. */
  function both(command: string[]): Step {
    const a = run("openssh", command);
    const b = run("jumpgate", command);
    expect({ stdout: b.stdout, code: b.code }, `jumpgate agent differs on: ${command.join(" ")}`).toEqual({
      stdout: a.stdout,
      code: a.code,
    });
    return a;
  }

  const jumpgateAdd = (...args: string[]) => [process.execPath, bin, "add", ...args];

  it("lists nothing at first", () => {
    expect(both(["ssh-add", "-l"]).code).toBe(1);
    expect(both(jumpgateAdd("-l")).stdout).toBe("The agent has no identities.\n");
  });

  it("adds keys with ssh-add and with jumpgate add, and lists them the same way", () => {
    expect(both(["ssh-add", "-q", ed25519]).code).toBe(0);
    expect(both(jumpgateAdd("-q", rsa)).code).toBe(0);
    const listed = both(["ssh-add", "-l"]);
    const fingerprint = (key: string) =>
      spawnSync("ssh-keygen", ["-lf", key], { encoding: "utf8" }).stdout.split(" ")[1];
    expect(listed.stdout).toContain(fingerprint(ed25519) as string);
    expect(listed.stdout).toContain(fingerprint(rsa) as string);
    expect(both(jumpgateAdd("-l")).stdout).toBe(listed.stdout);
    const publicKeys = both(["ssh-add", "-L"]).stdout;
    expect(publicKeys).toContain(readFileSync(`${ed25519}.pub`, "utf8").trim());
  });

  it("signs with every key (ssh-add -T checks a signature)", () => {
    expect(both(["ssh-add", "-T", `${ed25519}.pub`]).code).toBe(0);
    expect(both(["ssh-add", "-T", `${rsa}.pub`]).code).toBe(0);
  });

  it("locks and unlocks alike: nothing is listed while locked", () => {
    expect(both(["ssh-add", "-x"]).code).toBe(0);
    expect(both(["ssh-add", "-l"]).code).toBe(1);
    expect(both(["ssh-add", "-T", `${ed25519}.pub`]).code).not.toBe(0);
    expect(both(["ssh-add", "-X"]).code).toBe(0);
    expect(both(["ssh-add", "-l"]).code).toBe(0);
  });

  it("removes one key, then all", () => {
    expect(both(["ssh-add", "-d", ed25519]).code).toBe(0);
    expect(both(["ssh-add", "-l"]).stdout).not.toContain("id_ed25519");
    expect(both(jumpgateAdd("-D")).code).toBe(0);
    expect(both(["ssh-add", "-l"]).code).toBe(1);
  });

  it("forgets a key when its lifetime ends", async () => {
    expect(both(["ssh-add", "-q", "-t", "1", ed25519]).code).toBe(0);
    expect(both(["ssh-add", "-l"]).code).toBe(0);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(both(["ssh-add", "-l"]).code).toBe(1);
  });

  it("adds destination-constrained keys alike (ssh-add -h, jumpgate add -h) and refuses bad ones alike", () => {
    // Any host key will do: the constraint is recorded, and checked only on bound connections.
    const knownHosts = join(dir, "known_hosts_constraints");
    writeFileSync(knownHosts, `jaguar ${readFileSync(`${ed25519}.pub`, "utf8").trim()}\n`);
    expect(both(["ssh-add", "-D"]).code).toBe(0);
    expect(both(["ssh-add", "-q", "-H", knownHosts, "-h", "jaguar", ed25519]).code).toBe(0);
    expect(both(jumpgateAdd("-q", "-H", knownHosts, "-h", "jaguar", "-h", "jaguar>jaguar", rsa)).code).toBe(
      0,
    );
    // Listed for local use (no session bound on this connection)...
    expect(both(["ssh-add", "-l"]).stdout.trim().split("\n")).toHaveLength(2);
    // ...but a constrained key signs only userauth requests for a bound session: ssh-add -T fails.
    expect(both(["ssh-add", "-T", `${ed25519}.pub`]).code).not.toBe(0);
    expect(both(["ssh-add", "-T", `${rsa}.pub`]).code).not.toBe(0);
    // "user@" has no host: the agent finds the constraint incomplete and refuses the key.
    expect(both(["ssh-add", "-D"]).code).toBe(0);
    expect(both(["ssh-add", "-H", knownHosts, "-h", "someone@", ed25519]).code).not.toBe(0);
    expect(both(jumpgateAdd("-H", knownHosts, "-h", "someone@", rsa)).code).not.toBe(0);
    // ssh-add's own refusals happen before the agent is asked, with the same status.
    expect(both(["ssh-add", "-H", knownHosts, "-h", "nohost", ed25519]).code).toBe(255);
    expect(both(jumpgateAdd("-H", knownHosts, "-h", "nohost", ed25519)).code).toBe(255);
    expect(both(jumpgateAdd("-H", knownHosts, "-h", "a@jaguar>jaguar", ed25519)).code).toBe(255);
    expect(both(["ssh-add", "-l"]).code).toBe(1);
    // Unconstrained again: signing works.
    expect(both(["ssh-add", "-q", ed25519]).code).toBe(0);
    expect(both(["ssh-add", "-T", `${ed25519}.pub`]).code).toBe(0);
    expect(both(["ssh-add", "-D"]).code).toBe(0);
  });

  it("answers the query extension (jumpgate add -Q): only jumpgate's agent supports it", () => {
    expect(run("openssh", jumpgateAdd("-Q")).code).toBe(1);
    const ours = run("jumpgate", jumpgateAdd("-Q"));
    expect(ours.code).toBe(0);
    expect(ours.stdout).toContain("session-bind@openssh.com");
  });
});
