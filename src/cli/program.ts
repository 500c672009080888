import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { EXIT, isJumpgateError } from "../errors.js";
import { terminalSafe } from "../util/terminal-text.js";
import { registerAddCommand } from "./commands/add.js";
import { registerAgentCommand } from "./commands/agent.js";
import { registerConfigCommand } from "./commands/config.js";
import { registerCpCommand } from "./commands/cp.js";
import { registerDashCommand } from "./commands/dash.js";
import { registerDemoCommand } from "./commands/demo.js";
import { registerDoctorCommand } from "./commands/doctor.js";
import { registerForwardCommand } from "./commands/forward.js";
import { registerGateCommand } from "./commands/gate.js";
import { registerPullCommand } from "./commands/pull.js";
import { registerPushCommand } from "./commands/push.js";
import { registerSshCommand } from "./commands/ssh.js";
import { registerStatusCommand } from "./commands/status.js";
import { registerTunnelsCommand } from "./commands/tunnels.js";

function packageVersion(): string {
  const pkgUrl = new URL("../../package.json", import.meta.url);
  const pkg = JSON.parse(readFileSync(pkgUrl, "utf8")) as { version: string };
  return pkg.version;
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name("jumpgate")
    .description("SSH toolbox for people who live behind bastions")
    .version(packageVersion(), "-V, --version", "print the version and exit")
    .showHelpAfterError("(run with --help for usage)")
    .addHelpText(
      "after",
      `
Examples:
  jumpgate ssh mcgonagall hostname                      run a command through jaguar (ProxyJump in ~/.ssh/config)
  jumpgate config mcgonagall                            resolve ~/.ssh/config as 'ssh -G mcgonagall' does
  jumpgate config --route mcgonagall                    show the hops: you -> jaguar -> mcgonagall
  jumpgate forward mcgonagall -L 1111:localhost:12345   mcgonagall's localhost-only service here
  jumpgate cp -r mcgonagall:/srv/data ./data            scp-like copies over SFTP, through any route
  jumpgate push --gitignore . mcgonagall:src/app        a project tree as tar over ssh, in-process
  jumpgate gate start                                   keep connections open: the next commands make no handshake
  jumpgate dash                                         live view of the gate's connections, tunnels and copies
  eval $(jumpgate agent)                                an ssh-agent for OpenSSH's ssh and ssh-add (and jumpgate)
  jumpgate demo                                         a bastion and an internal host in-process, through jumpgate`,
    );
  program.exitOverride();
  // Subcommands like `ssh` take their own options after the destination (e.g. `ls -h`).
  program.enablePositionalOptions();
  registerSshCommand(program);
  registerForwardCommand(program);
  registerCpCommand(program);
  registerPushCommand(program);
  registerPullCommand(program);
  registerGateCommand(program);
  registerTunnelsCommand(program);
  registerStatusCommand(program);
  registerDashCommand(program);
  registerAgentCommand(program);
  registerAddCommand(program);
  registerConfigCommand(program);
  registerDemoCommand(program);
  registerDoctorCommand(program);
  return program;
}

/** Parses and runs the command line with commander (help, version, every command). */
export async function runProgram(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    process.exitCode = reportError(error);
  }
}

export function reportError(error: unknown): number {
  if (error instanceof CommanderError) {
    // commander already printed its message (or the help / version text).
    if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return EXIT.ok;
    if (error.code === "commander.help") return EXIT.ok;
    return EXIT.usage;
  }
  if (isJumpgateError(error)) {
    process.stderr.write(`jumpgate: ${error.code}: ${terminalSafe(error.message)}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`jumpgate: JG_INTERNAL: unexpected failure, please report it:\n${message}\n`);
  return 1;
}
