/**
 * `jumpgate agent` as people use it: `eval $(jumpgate agent)` in a shell, OpenSSH's ssh-add and
 * ssh on its socket, the seeds' cascade (`jumpgate ssh -A jaguar`, then ssh on to mcgonagall with
 * the forwarded agent), and `jumpgate agent -k` leaving no socket and no process behind.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type BastionLab, describeE2E, startBastionLab } from "../support/lab.js";
import { useTempDirs } from "../support/tmp.js";

const tempDir = useTempDirs();

const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const jumpgate = `${process.execPath} ${join(repo, "bin/jumpgate.js")}`;

function sh(script: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync("sh", ["-c", script], {
    encoding: "utf8",
    env: { ...process.env, SSH_AUTH_SOCK: "", SSH_AGENT_PID: "", ...env },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describeE2E("jumpgate agent with OpenSSH's tools", "netns", () => {
  let lab: BastionLab;

  beforeAll(async () => {
    lab = await startBastionLab();
  });

  afterAll(async () => {
    await lab?.stop();
  });

  it("eval $(jumpgate agent), ssh-add, a login through the agent only, then -k cleans up", () => {
    const work = tempDir("jg-agent-cli-");
    const r = sh(`
      set -e
      eval "$(${jumpgate} agent -s)" > /dev/null
      echo "SOCK=$SSH_AUTH_SOCK PID=$SSH_AGENT_PID"
      stat -c 'MODES=%a' "$SSH_AUTH_SOCK"
      stat -c 'DIRMODE=%a' "$(dirname "$SSH_AUTH_SOCK")"
      ssh-add ${lab.identityPath} 2>&1
      ssh-add -l
      ssh -F ${lab.configPath} -o IdentityAgent="$SSH_AUTH_SOCK" -o IdentityFile=${join(work, "none")} jaguar 'echo agent-login-ok'
      eval "$(${jumpgate} agent -k)"
    `);
    expect(r.stderr).not.toMatch(/Could not open/);
    expect(r.code).toBe(0);
    const sock = /SOCK=(\S+)/.exec(r.stdout)?.[1] as string;
    const pid = Number(/PID=(\d+)/.exec(r.stdout)?.[1]);
    expect(r.stdout).toContain("MODES=600");
    expect(r.stdout).toContain("DIRMODE=700");
    const fingerprint = spawnSync("ssh-keygen", ["-lf", lab.identityPath], { encoding: "utf8" }).stdout.split(
      " ",
    )[1];
    expect(r.stdout).toContain(fingerprint);
    expect(r.stdout).toContain("agent-login-ok");
    expect(r.stdout).toContain(`Agent pid ${pid} killed`);
    const isAlive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    // SIGTERM was sent; give the agent a moment to close its socket and exit.
    const deadline = Date.now() + 5_000;
    while (isAlive() && Date.now() < deadline) spawnSync("sleep", ["0.1"]);
    expect(isAlive()).toBe(false);
    // Nothing left: no process, no socket, no directory.
    expect(existsSync(sock)).toBe(false);
    expect(existsSync(join(sock, ".."))).toBe(false);
  });

  it("the seeds' cascade: jumpgate ssh -A jaguar, then ssh to mcgonagall with the forwarded agent", () => {
    const r = sh(`
      set -e
      eval "$(${jumpgate} agent)" > /dev/null
      ssh-add -q ${lab.identityPath}
      ${jumpgate} ssh -F ${lab.configPath} -A jaguar \\
        'ssh -o BatchMode=yes -o UserKnownHostsFile=${lab.knownHostsPath} -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o IdentityFile=/nonexistent ${lab.user}@${lab.mcgonagall.host} -p ${lab.mcgonagall.port} "echo reached \\$JG_LAB_HOST"'
      eval "$(${jumpgate} agent -k)" > /dev/null
    `);
    expect(r.stderr).not.toMatch(/Permission denied/);
    expect(r.stdout).toContain("reached mcgonagall");
    expect(r.code).toBe(0);
  });

  it("OpenSSH's ssh -A works with jumpgate's agent too", () => {
    const r = sh(`
      set -e
      eval "$(${jumpgate} agent)" > /dev/null
      ssh-add -q ${lab.identityPath}
      # OpenSSH forwards the agent it uses, so IdentityAgent must name ours (the lab config says none).
      ssh -F ${lab.configPath} -o IdentityAgent="$SSH_AUTH_SOCK" -A jaguar 'ssh-add -l'
      eval "$(${jumpgate} agent -k)" > /dev/null
    `);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/SHA256:\S+ .*\(ED25519\)/);
  });

  it("-k without SSH_AGENT_PID is a clear error", () => {
    const r = sh(`${jumpgate} agent -k`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/JG_AGENT_UNAVAILABLE: SSH_AGENT_PID not set/);
  });
});
