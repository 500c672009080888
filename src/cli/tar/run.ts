/**
 * Running `jumpgate push` / `jumpgate pull` once the arguments are parsed: the remote operand
 * resolved through ssh_config into a route, one connection through the manager, progress on
 * stderr, each refused archive entry explained as it happens, Ctrl-C aborts. When a gate runs, the
 * transfer runs in the gate with its connections (../gate/transfer.ts) and only the progress,
 * refusals and the outcome come back here.
 */
import { resolve as resolvePath } from "node:path";
import type { Lease } from "../../connection/manager.js";
import { JumpgateError } from "../../errors.js";
import type { GateClient } from "../../gate/client.js";
import type { TransferArgs } from "../../gate/transfer.js";
import { chooseProgressMode, createProgressReporter, printable } from "../../transfer/progress.js";
import { type Operand, parseOperand } from "../../transfer/remotepath.js";
import { createLogger, type LogLevel } from "../../util/log.js";
import { clientEnvironment } from "../gate/relay.js";
import { runningGate, transferGateEligible, transferThroughGate } from "../gate/transfer.js";
import { createRemoteLeaser } from "../remote-lease.js";
import type { ParsedTarArgs } from "./args.js";

type RemoteOperand = Extract<Operand, { kind: "remote" }>;

function logLevel(args: ParsedTarArgs): LogLevel {
  if (args.verbosity >= 3) return "DEBUG3";
  if (args.verbosity === 2) return "DEBUG2";
  if (args.verbosity === 1) return "DEBUG1";
  return args.quiet ? "ERROR" : "INFO";
}

function remoteOperand(args: ParsedTarArgs, text: string): RemoteOperand {
  const op = parseOperand(text);
  if (op.kind !== "remote") {
    throw new JumpgateError(
      "JG_USAGE",
      `'${text}' is not a remote directory: write it host:dir (e.g. mcgonagall:src/app). Run 'jumpgate ${args.command} --help'.`,
    );
  }
  if (op.path.startsWith("~") && op.path !== "~" && !op.path.startsWith("~/")) {
    throw new JumpgateError(
      "JG_USAGE",
      `'${op.path}': ~user paths are not expanded by ${args.command}; write the directory's path.`,
    );
  }
  return op;
}

function localOperand(args: ParsedTarArgs, text: string): string {
  if (parseOperand(text).kind === "remote") {
    throw new JumpgateError(
      "JG_USAGE",
      `'${text}' looks like host:path; ${args.command} takes one local directory (write a local name containing ':' as ./name).`,
    );
  }
  return resolvePath(text);
}

/** The gate's transfer request for this command (local paths already absolute). */
function gateRequest(args: ParsedTarArgs, remote: RemoteOperand, local: string | undefined): TransferArgs {
  const base = {
    items: args.items,
    ...(args.configFile === undefined ? {} : { configFile: args.configFile }),
    cwd: process.cwd(),
    env: clientEnvironment(),
    host: { user: remote.user, host: remote.host, port: remote.port },
    remoteDir: remote.path,
    compress: args.compress,
    ...(args.remoteTar ? { remoteTar: args.remoteTar } : {}),
    quiet: args.quiet,
  };
  if (args.command === "push") {
    return {
      ...base,
      op: "push",
      localDir: local as string,
      exclude: args.exclude,
      gitignore: args.gitignore,
    };
  }
  return {
    ...base,
    op: "pull",
    ...(local !== undefined ? { localDir: local } : {}),
    ...(args.toFile !== undefined ? { toFile: resolvePath(args.toFile) } : {}),
    ...(args.maxFiles !== undefined ? { maxEntries: args.maxFiles } : {}),
    ...(args.maxSize !== undefined ? { maxBytes: args.maxSize } : {}),
  };
}

/**
 * Runs push or pull; resolves with the exit status. `gate` is a gate client the caller already
 * connected (main.ts's light path); without it, a running gate is looked for here.
 */
export async function runTar(args: ParsedTarArgs, gate?: GateClient): Promise<number> {
  const isPush = args.command === "push";
  const remote = remoteOperand(args, args.operands[isPush ? 1 : 0] as string);
  const localText = args.operands[isPush ? 0 : 1];
  const local = localText === undefined ? undefined : localOperand(args, localText);
  const log = createLogger(logLevel(args));
  const leaser = createRemoteLeaser(args, log);
  const leases: Lease[] = [];

  const session = async () => {
    const lease = await leaser.acquire(remote);
    leases.push(lease);
    return lease.session;
  };

  const tty = process.stderr.isTTY === true;
  const reporter = createProgressReporter({
    mode: chooseProgressMode(args.quiet, tty),
    sink: process.stderr,
  });
  /** Messages start on a fresh line when a bar is being drawn. */
  const say = (line: string) =>
    process.stderr.write(`${tty && !args.quiet ? "\r\x1b[K" : ""}jumpgate: ${line}\n`);
  const abort = new AbortController();
  const onSignal = () => abort.abort(new JumpgateError("JG_TAR_INTERRUPTED", interruptedMessage(args)));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const common = {
    session,
    host: remote.host,
    remoteDir: remote.path,
    compress: args.compress,
    ...(args.remoteTar ? { remoteTar: args.remoteTar } : {}),
    signal: abort.signal,
    // Quiet: nothing is drawn or summed up, so the events are not even reduced.
    ...(args.quiet ? {} : { onProgress: reporter.listener }),
  };
  try {
    const client = gate ?? (transferGateEligible(args.verbosity) ? await runningGate() : null);
    if (client !== null) {
      const done = await transferThroughGate(client, gateRequest(args, remote, local), {
        onProgress: reporter.listener,
        // Warnings (Permanently added ...): ssh -q silences them too.
        message: (text) => {
          if (!args.quiet) process.stderr.write(`${tty ? "\r\x1b[K" : ""}${printable(text)}\n`);
        },
        entry: (line) => say(printable(line)),
        interrupted: () => ({ code: "JG_TAR_INTERRUPTED", message: interruptedMessage(args) }),
      });
      if (done !== null) {
        reporter.finish();
        return 0;
      }
    }
    const { pull, push } = await import("../../transfer/tar.js");
    if (isPush) {
      await push({
        ...common,
        localDir: local as string,
        exclude: args.exclude,
        gitignore: args.gitignore,
      });
    } else {
      await pull({
        ...common,
        ...(local !== undefined ? { localDir: local } : {}),
        ...(args.toFile !== undefined ? { toFile: resolvePath(args.toFile) } : {}),
        limits: {
          ...(args.maxFiles !== undefined ? { maxEntries: args.maxFiles } : {}),
          ...(args.maxSize !== undefined ? { maxBytes: args.maxSize } : {}),
        },
        onRefused: (r) => say(`refused ${printable(r.path)}: ${printable(r.reason)}`),
        onNote: (n) => say(`note: ${printable(n.path)}: ${printable(n.reason)}`),
      });
    }
    reporter.finish();
    return 0;
  } catch (error) {
    if (reporter.state().startedAt !== undefined) reporter.finish();
    throw error;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    for (const lease of leases) lease.release();
    await leaser.close();
  }
}

function interruptedMessage(args: ParsedTarArgs): string {
  return args.command === "push"
    ? "push interrupted: the remote tar kept the files it had received completely; the one in transit may be partial."
    : args.toFile !== undefined
      ? `pull interrupted: ${args.toFile} was not written (the partial archive was removed).`
      : "pull interrupted: the files extracted so far stay; the one being written was removed.";
}
