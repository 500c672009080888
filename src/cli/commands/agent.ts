/**
 * `jumpgate agent`: an ssh-agent that OpenSSH's ssh and ssh-add use as their own. Registration
 * only; the daemon lives in ../agent/run.ts, loaded when the command runs.
 */
import type { Command } from "commander";
import { JumpgateError } from "../../errors.js";
import { parseShortOptions } from "../sshargs.js";

const HELP = `
Options (as ssh-agent's):
  -a path     bind the agent socket to path (default: a fresh 0700 directory in $TMPDIR)
  -c / -s     print csh / sh commands (default: from $SHELL)
  -D          stay in the foreground
  -k          kill the agent named by $SSH_AGENT_PID
  -t life     default lifetime of added keys (seconds, or 90m, 1h30m...)

Keys live in this process's memory only: never written, never logged. The socket is 0600 in a
0700 directory; Node cannot check a client's uid, so those permissions are the protection.

Examples:
  eval $(jumpgate agent)          start it and point this shell at it
  jumpgate add ~/.ssh/id_ed25519  (or OpenSSH's ssh-add) to add a key
  eval $(jumpgate agent -k)       stop it
`;

export interface AgentArgs {
  socketPath: string | null;
  shell: "sh" | "csh" | null;
  foreground: boolean;
  kill: boolean;
  lifetime: string | null;
  /** Internal: the daemon child reports readiness on this fd. */
  readyFd: number | null;
}

export function parseAgentArgs(argv: readonly string[]): AgentArgs {
  const out: AgentArgs = {
    socketPath: null,
    shell: null,
    foreground: false,
    kill: false,
    lifetime: null,
    readyFd: null,
  };
  for (const { name, value } of parseShortOptions(argv, {
    withValue: "atR",
    flags: "csDkd",
    longFlags: [],
  })) {
    switch (name) {
      case "a":
        out.socketPath = value;
        break;
      case "t":
        out.lifetime = value;
        break;
      case "R":
        out.readyFd = Number(value);
        break;
      case "c":
        out.shell = "csh";
        break;
      case "s":
        out.shell = "sh";
        break;
      case "D":
      case "d":
        out.foreground = true;
        break;
      case "k":
        out.kill = true;
        break;
      default:
        throw new JumpgateError(
          "JG_USAGE",
          `jumpgate agent takes no argument '${value}'. Run 'jumpgate agent --help'.`,
        );
    }
  }
  return out;
}

export function registerAgentCommand(program: Command): void {
  program
    .command("agent")
    .summary("an ssh-agent for OpenSSH's ssh and ssh-add (and jumpgate), keys in memory only")
    .usage("[-c | -s] [-D] [-a path] [-t life] | -k")
    .argument("[args...]")
    .allowUnknownOption()
    .allowExcessArguments()
    .helpOption("-h, --help", "show this help")
    .addHelpText("after", HELP)
    .action(async (args: string[]) => {
      const { runAgent } = await import("../agent/run.js");
      process.exitCode = await runAgent(parseAgentArgs(args));
    });
}
