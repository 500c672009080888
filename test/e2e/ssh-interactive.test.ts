/**
 * `jumpgate ssh` as a person uses it, in a real terminal: tmux runs it, send-keys types, and
 * capture-pane reads the screen. Also agent forwarding with a real ssh-agent.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type BastionLab, describeE2E, startBastionLab } from "../support/lab.js";
import { tmux, waitForScreen } from "../support/tmux.js";

const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const bin = join(repo, "bin/jumpgate.js");

describeE2E("jumpgate ssh in a terminal", "netns", () => {
  let lab: BastionLab;
  const session = `jg-e2e-${process.pid}`;

  beforeAll(async () => {
    const tmuxFound = spawnSync("tmux", ["-V"]).status === 0;
    if (!tmuxFound) throw new Error("tmux is needed for the terminal tests (Debian: apt-get install tmux)");
    lab = await startBastionLab();
  });

  afterAll(async () => {
    spawnSync("tmux", ["kill-session", "-t", session]);
    await lab?.stop();
  });

  it("gives an interactive shell with a pty, follows resizes, and ~. disconnects leaving the terminal sane", async () => {
    const command = `${process.execPath} ${bin} ssh -F ${lab.configPath} mcgonagall; echo "EXIT=$?"; stty -a | tr ' ' '\\n' | grep -x -e echo -e -echo -e icanon -e -icanon | tr '\\n' ' '; echo; sleep 60`;
    tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", command);
    // The remote shell's prompt.
    await waitForScreen(session, /:~[#$]\s*$/m);
    tmux("send-keys", "-t", session, "echo host=$JG_LAB_HOST sum=$((6*7))", "Enter");
    await waitForScreen(session, /host=mcgonagall sum=42/);
    tmux("resize-window", "-t", session, "-x", "120", "-y", "40");
    await new Promise((r) => setTimeout(r, 300));
    tmux("send-keys", "-t", session, "stty size", "Enter");
    await waitForScreen(session, /^40 120\s*$/m);
    // ~. only counts at the start of a line: after Enter it disconnects.
    tmux("send-keys", "-t", session, "Enter");
    tmux("send-keys", "-t", session, "-l", "~.");
    const screen = await waitForScreen(session, /EXIT=\d+[\s\S]*(echo|-echo)/);
    expect(screen).toMatch(/Connection to mcgonagall closed\./);
    expect(screen).toMatch(/EXIT=255/);
    // Raw mode is gone: the local terminal echoes and reads lines again.
    const modes = (/EXIT=255\s*\n(.*)/.exec(screen)?.[1] ?? "").trim().split(/\s+/);
    expect(modes.sort()).toEqual(["echo", "icanon"]);
  }, 60_000);

  it("forwards the agent with -A: ssh-add -l on jaguar lists the local agent's key", () => {
    const dir = mkdtempSync(join(tmpdir(), "jg-agent-"));
    const socket = join(dir, "agent.sock");
    const agent = spawnSync("ssh-agent", ["-a", socket, "-s"], { encoding: "utf8" });
    expect(agent.status).toBe(0);
    const pid = /SSH_AGENT_PID=(\d+)/.exec(agent.stdout)?.[1];
    try {
      const env = { ...process.env, SSH_AUTH_SOCK: socket };
      expect(spawnSync("ssh-add", ["-q", lab.identityPath], { env }).status).toBe(0);
      const fingerprint = spawnSync("ssh-keygen", ["-lf", lab.identityPath], {
        encoding: "utf8",
      }).stdout.split(" ")[1];
      const forwarded = spawnSync(
        process.execPath,
        [bin, "ssh", "-F", lab.configPath, "-A", "mcgonagall", "ssh-add -l"],
        {
          env,
          encoding: "utf8",
          timeout: 30_000,
        },
      );
      expect(forwarded.status).toBe(0);
      expect(forwarded.stdout).toContain(fingerprint);
      // Without -A the remote side has no agent.
      const plain = spawnSync(
        process.execPath,
        [bin, "ssh", "-F", lab.configPath, "mcgonagall", "ssh-add -l"],
        {
          env,
          encoding: "utf8",
          timeout: 30_000,
        },
      );
      expect(plain.status).not.toBe(0);
    } finally {
      if (pid) spawnSync("kill", [pid]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
