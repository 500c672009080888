/**
 * Running `jumpgate agent`: as a daemon (the default: a detached child serves, the parent prints
 * the shell commands once the socket is ready), in the foreground (-D), or killing one (-k).
 */
import { spawn } from "node:child_process";
import { createWriteStream, rmSync } from "node:fs";
import { basename, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { AgentBackend, AgentConnection } from "../../agent/keyring.js";
import { Keyring } from "../../agent/keyring.js";
import type { AgentPrivateKey, Constraints } from "../../agent/protocol.js";
import { listenAgent } from "../../agent/server.js";
import { convtime } from "../../config/values.js";
import { JumpgateError } from "../../errors.js";
import type { AgentArgs } from "../commands/agent.js";

type ShellKind = "sh" | "csh";

function shellKind(args: AgentArgs): ShellKind {
  if (args.shell) return args.shell;
  return (process.env.SHELL ?? "").endsWith("csh") ? "csh" : "sh";
}

/** What `eval $(jumpgate agent)` runs: ssh-agent's exact lines. */
export function environmentLines(kind: ShellKind, socket: string, pid: number): string {
  if (kind === "csh") {
    return `setenv SSH_AUTH_SOCK ${socket};\nsetenv SSH_AGENT_PID ${pid};\necho Agent pid ${pid};\n`;
  }
  return `SSH_AUTH_SOCK=${socket}; export SSH_AUTH_SOCK;\nSSH_AGENT_PID=${pid}; export SSH_AGENT_PID;\necho Agent pid ${pid};\n`;
}

function killLines(kind: ShellKind, pid: number): string {
  if (kind === "csh")
    return `unsetenv SSH_AUTH_SOCK;\nunsetenv SSH_AGENT_PID;\necho Agent pid ${pid} killed;\n`;
  return `unset SSH_AUTH_SOCK;\nunset SSH_AGENT_PID;\necho Agent pid ${pid} killed;\n`;
}

function lifetimeSeconds(text: string | null): number | undefined {
  if (text === null) return undefined;
  const seconds = convtime(text);
  if (seconds <= 0)
    throw new JumpgateError(
      "JG_USAGE",
      `Invalid lifetime '${text}': use seconds or a time such as 90m or 1h30m.`,
    );
  return seconds;
}

/** -t: keys added without a lifetime get the default one, as ssh-agent -t does. */
function withDefaultLifetime(keyring: AgentBackend, lifetime: number | undefined): AgentBackend {
  if (lifetime === undefined) return keyring;
  return {
    list: (conn) => keyring.list(conn),
    sign: (blob, data, flags, conn) => keyring.sign(blob, data, flags, conn),
    add: (key: AgentPrivateKey, comment: string, constraints?: Constraints, conn?: AgentConnection) =>
      keyring.add(key, comment, { ...constraints, lifetime: constraints?.lifetime ?? lifetime }, conn),
    remove: (blob, conn) => keyring.remove(blob, conn),
    removeAll: () => keyring.removeAll(),
    lock: (pass) => keyring.lock(pass),
    unlock: (pass) => keyring.unlock(pass),
    extension: (name, contents, conn) => keyring.extension(name, contents, conn),
  };
}

export async function runAgent(args: AgentArgs): Promise<number> {
  const kind = shellKind(args);
  if (args.kill) return killAgent(kind);
  const lifetime = lifetimeSeconds(args.lifetime);
  if (args.foreground || args.readyFd !== null) return serve(args, kind, lifetime);
  return daemonize(args, kind);
}

function killAgent(kind: ShellKind): number {
  const pid = Number(process.env.SSH_AGENT_PID);
  if (!Number.isInteger(pid) || pid <= 0) {
    throw new JumpgateError(
      "JG_AGENT_UNAVAILABLE",
      "SSH_AGENT_PID not set, cannot kill agent. Run it in the shell where you started the agent.",
      {
        exitCode: 1,
      },
    );
  }
  try {
    process.kill(pid, "SIGTERM");
  } catch (error) {
    throw new JumpgateError("JG_AGENT_UNAVAILABLE", `kill ${pid}: ${(error as Error).message}`, {
      exitCode: 1,
      cause: error,
    });
  }
  process.stdout.write(killLines(kind, pid));
  return 0;
}

/** Serves until SIGTERM/SIGINT/SIGHUP; the socket (and its directory, if ours) goes with it. */
async function serve(args: AgentArgs, kind: ShellKind, lifetime: number | undefined): Promise<number> {
  const keyring = withDefaultLifetime(new Keyring(), lifetime);
  const listener = await listenAgent({ keyring, ...(args.socketPath ? { path: args.socketPath } : {}) });
  const ownDir = args.socketPath === null;
  if (args.readyFd !== null) {
    // The parent waits for this line, then prints the shell commands and leaves.
    const ready = createWriteStream("", { fd: args.readyFd });
    ready.end(`${listener.path}\n`);
  } else {
    process.stdout.write(environmentLines(kind, listener.path, process.pid));
  }
  await new Promise<void>((resolve) => {
    for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.once(signal, () => resolve());
  });
  await listener.close();
  if (ownDir && basename(dirname(listener.path)).startsWith("jumpgate-")) {
    rmSync(dirname(listener.path), { recursive: true, force: true });
  }
  return 0;
}

/** The parent: start a detached child that serves, wait for its socket, print, exit. */
async function daemonize(args: AgentArgs, kind: ShellKind): Promise<number> {
  const bin = fileURLToPath(new URL("../../../bin/jumpgate.js", import.meta.url));
  const childArgs = [bin, "agent", "-R", "3"];
  if (args.socketPath) childArgs.push("-a", args.socketPath);
  if (args.lifetime) childArgs.push("-t", args.lifetime);
  const child = spawn(process.execPath, childArgs, {
    detached: true,
    stdio: ["ignore", "ignore", "ignore", "pipe"],
    cwd: "/",
  });
  const ready = child.stdio[3];
  if (!ready) throw new JumpgateError("JG_AGENT_SOCKET", "could not talk to the agent process.");
  const socket = await new Promise<string>((resolve, reject) => {
    let text = "";
    ready.on("data", (d: Buffer) => {
      text += d.toString();
      if (text.includes("\n")) resolve(text.trim());
    });
    child.once("exit", (code) =>
      reject(
        new JumpgateError(
          "JG_AGENT_SOCKET",
          `the agent exited (status ${code}) before its socket was ready; try 'jumpgate agent -D' to see why.`,
        ),
      ),
    );
  });
  ready.destroy();
  child.unref();
  process.stdout.write(environmentLines(kind, socket, child.pid ?? 0));
  return 0;
}
