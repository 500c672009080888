/**
 * Running one session of `jumpgate ssh` over a leased connection: `-W` stdio forwarding, `-N`,
 * a remote command or an interactive shell, with a pty when asked (or when ssh would give one),
 * escapes, window resizes, and the remote exit status as ours.
 */
import type { Options } from "../../config/options.js";
import type { ConnectionManager, Lease } from "../../connection/manager.js";
import { JumpgateError } from "../../errors.js";
import type { Logger } from "../../util/log.js";
import { type ForwardSet, runEscapeCommand } from "../forward/set.js";
import { sessionEnvironment } from "./env.js";
import { EscapeFilter, escapeHelp } from "./escape.js";
import type { Interrupt } from "./interrupt.js";
import { enterRawMode, type TerminalGuard, windowSize } from "./terminal.js";

export type TtyRequest = "auto" | "yes" | "force" | "no";

export interface SessionPlan {
  command: string;
  noCommand: boolean;
  stdioForward: string | null;
  tty: TtyRequest;
  /** The escape character as typed (`~`, `^A`), or null for none. */
  escapeChar: string | null;
  options: Options;
  log: Logger;
  /** The run's forwards: `~C` adds and cancels, `~#` lists their connections. */
  forwards?: ForwardSet;
  /** `-N`: the SIGINT/SIGTERM listener that has run since before the forwards were set up. */
  interrupt?: Interrupt;
}

/** Exit status when jumpgate itself fails or the connection drops, as with ssh. */
const EXIT_SSH = 255;

export async function runSession(
  lease: Lease,
  plan: SessionPlan,
  manager: ConnectionManager,
): Promise<number> {
  if (plan.stdioForward !== null) return stdioForward(lease, plan.stdioForward);
  if (plan.noCommand && plan.command === "") return holdOpen(lease, plan);
  return runChannel(lease, plan, manager);
}

/** `-W host:port`: stdin/stdout become a channel to host:port (how ProxyCommand uses us). */
async function stdioForward(lease: Lease, spec: string): Promise<number> {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(spec);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port < 1 || port > 65535) {
    throw new JumpgateError(
      "JG_FORWARD_SPEC",
      `Bad stdio forwarding specification '${spec}': use host:port.`,
    );
  }
  const channel = await lease.session.forwardOut((m[1] ?? m[2]) as string, port);
  process.stdin.pipe(channel);
  channel.pipe(process.stdout);
  return new Promise((resolve) => {
    channel.on("close", () => {
      process.stdin.unpipe(channel);
      process.stdin.pause();
      resolve(0);
    });
    lease.session.onClose(() => resolve(EXIT_SSH));
  });
}

/** `-N`: keep the connection (and later, its forwards) until interrupted or lost. */
function holdOpen(lease: Lease, plan: SessionPlan): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = () => {
      // Ours to end: the close that follows is not news.
      stopping = true;
      resolve(0);
    };
    if (plan.interrupt) plan.interrupt.onFire(stop);
    else {
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    }
    lease.session.onClose((reason) => {
      if (stopping) return;
      plan.log.error(`Connection to ${lease.session.hopName} closed: ${reason}.`);
      resolve(EXIT_SSH);
    });
  });
}

function wantPty(plan: SessionPlan): boolean {
  const localTty = Boolean(process.stdin.isTTY);
  switch (plan.tty) {
    case "no":
      return false;
    case "force":
      return true;
    case "yes":
      if (!localTty) plan.log.info("Pseudo-terminal will not be allocated because stdin is not a terminal.");
      return localTty;
    default:
      return plan.command === "" && localTty;
  }
}

/** `-e` values: one character, `^X` for a control character, or `none`. */
export function escapeByte(spec: string | null): number | null {
  if (spec === null || spec === "none") return null;
  if (spec.length === 1) return spec.charCodeAt(0);
  if (spec.length === 2 && spec[0] === "^") return spec.charCodeAt(1) & 31;
  throw new JumpgateError("JG_USAGE", `Bad escape character '${spec}': use one character, ^X or none.`);
}

async function runChannel(lease: Lease, plan: SessionPlan, manager: ConnectionManager): Promise<number> {
  const o = plan.options;
  const pty = wantPty(plan);
  const env = sessionEnvironment(o.setEnv, o.sendEnv, process.env);
  const hasEnv = Object.keys(env).length > 0 ? env : undefined;
  const size = windowSize();
  const ptyOptions = pty
    ? { term: process.env.TERM ?? "vt100", rows: size.rows, cols: size.cols, width: 0, height: 0 }
    : false;
  const command = plan.command !== "" ? plan.command : o.remoteCommand;
  const { channel, done } =
    command !== null && command !== ""
      ? await lease.session.exec(command, { pty: ptyOptions, ...(hasEnv ? { env: hasEnv } : {}) })
      : await lease.session.shell({ pty: ptyOptions, ...(hasEnv ? { env: hasEnv } : {}) });

  let guard: TerminalGuard = { restore: () => {} };
  const cleanups: Array<() => void> = [];
  if (pty) {
    guard = enterRawMode();
    const onResize = () => {
      const s = windowSize();
      channel.setWindow(s.rows, s.cols, 0, 0);
    };
    process.stdout.on("resize", onResize);
    cleanups.push(() => process.stdout.off("resize", onResize));
  }
  // Escapes work only with a pty, as in OpenSSH (a pipe may carry a literal "~.").
  const filter = new EscapeFilter(pty ? escapeByte(plan.escapeChar) : null);
  const escapeText = plan.escapeChar ?? "~";

  // `~C`: a line typed locally (echoed by us: the terminal is raw), not sent to the server.
  let commandLine: string | null = null;
  const commandInput = (chunk: Buffer): Buffer | null => {
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i] as number;
      if (byte === 0x0d || byte === 0x0a) {
        const line = commandLine ?? "";
        commandLine = null;
        process.stdin.pause();
        process.stderr.write("\r\n");
        const rest = chunk.subarray(i + 1);
        filter.resetLineStart();
        void (plan.forwards ? runEscapeCommand(line, plan.forwards) : Promise.resolve("Invalid command."))
          .then((answer) => {
            if (answer !== "") process.stderr.write(`${answer}\r\n`);
          })
          .finally(() => {
            process.stdin.resume();
            if (rest.length > 0) process.stdin.unshift(rest);
          });
        return null;
      }
      if (byte === 0x03 || byte === 0x1b) {
        // Ctrl-C or Esc: abandon the line, as ssh's readline-less prompt does on interrupt.
        commandLine = null;
        process.stderr.write("\r\n");
        return chunk.subarray(i + 1);
      }
      if (byte === 0x7f || byte === 0x08) {
        if ((commandLine ?? "").length > 0) {
          commandLine = (commandLine ?? "").slice(0, -1);
          process.stderr.write("\b \b");
        }
        continue;
      }
      commandLine = (commandLine ?? "") + String.fromCharCode(byte);
      process.stderr.write(Buffer.from([byte]));
    }
    return Buffer.alloc(0);
  };

  return new Promise<number>((resolve) => {
    let finished = false;
    const finish = (code: number) => {
      if (finished) return;
      finished = true;
      process.stdin.off("data", onData);
      process.stdin.off("end", onEnd);
      process.stdin.pause();
      for (const cleanup of cleanups) cleanup();
      guard.restore();
      resolve(code);
    };
    const onData = (input: Buffer) => {
      let chunk = input;
      if (commandLine !== null) {
        const rest = commandInput(chunk);
        if (rest === null || rest.length === 0) return;
        chunk = rest;
      }
      const actions = filter.push(chunk);
      for (let a = 0; a < actions.length; a++) {
        const action = actions[a] as (typeof actions)[number];
        if (commandLine !== null) {
          // Typed after ~C in the same read: it belongs to the command line.
          if (action.kind === "send") {
            const rest = commandInput(action.data);
            if (rest === null) return;
            if (rest.length > 0) channel.write(rest);
          }
          continue;
        }
        switch (action.kind) {
          case "send":
            if (!channel.write(action.data)) {
              process.stdin.pause();
              channel.once("drain", () => process.stdin.resume());
            }
            break;
          case "disconnect":
            process.stderr.write(`\r\nConnection to ${lease.session.hopName} closed.\r\n`);
            lease.session.close("disconnected by ~.");
            finish(EXIT_SSH);
            return;
          case "help":
            process.stderr.write(
              `${escapeText}?\r\n${escapeHelp(escapeText, o.enableEscapeCommandline === 1)}`,
            );
            break;
          case "list-connections":
            process.stderr.write(`${escapeText}#\r\n${listConnections(manager, plan.forwards)}`);
            filter.resetLineStart();
            break;
          case "command-line":
            if (o.enableEscapeCommandline === 1) {
              process.stderr.write("\r\nssh> ");
              commandLine = "";
            } else process.stderr.write("\r\ncommandline disabled\r\n");
            break;
          case "suspend":
            break;
        }
      }
    };
    const onEnd = () => channel.end();
    process.stdin.on("data", onData);
    process.stdin.on("end", onEnd);
    process.stdin.resume();

    channel.pipe(process.stdout, { end: false });
    channel.stderr.pipe(process.stderr, { end: false });
    // The outcome was captured when the channel opened: through a jump, exit status and close
    // may arrive before this code runs.
    done.then(({ code, signal }) => {
      if (signal !== null) {
        process.stderr.write(`jumpgate: remote command killed by signal ${signal}\n`);
        finish(EXIT_SSH);
      } else finish(code ?? EXIT_SSH);
    });
    lease.session.onClose((reason) => {
      if (finished) return;
      process.stderr.write(`Connection to ${lease.session.hopName} closed: ${reason}.\r\n`);
      finish(EXIT_SSH);
    });
  });
}

function listConnections(manager: ConnectionManager, forwards: ForwardSet | undefined): string {
  const lines = ["The following connections are open:"];
  for (const s of manager.stats()) {
    lines.push(`  ${s.hops.join(" -> ")}: ${s.state}, ${s.channels} channel(s), auth ${s.authMethod ?? "?"}`);
  }
  for (const line of forwards?.describeConnections() ?? []) lines.push(line);
  return `${lines.join("\r\n")}\r\n`;
}
