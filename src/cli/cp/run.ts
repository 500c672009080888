/**
 * Running `jumpgate cp` once its arguments are parsed: operands -> locations (local paths made
 * absolute), each remote host resolved through ssh_config and connected through one connection
 * manager (so two hosts behind jaguar share one jaguar connection), progress on stderr, Ctrl-C
 * aborts cleanly (temporary files removed). When a gate runs, the copy runs in the gate with its
 * connections (../gate/transfer.ts) and only the progress comes back here: that path loads neither
 * ssh2 nor the config modules (the direct path imports them when it runs; ~80 ms of start-up).
 */
import { resolve as resolvePath } from "node:path";
import { JumpgateError } from "../../errors.js";
import { errorFromWire, type GateClient } from "../../gate/client.js";
import type { CopyResult, Location } from "../../transfer/copy.js";
import { chooseProgressMode, createProgressReporter, printable } from "../../transfer/progress.js";
import { type Operand, parseOperand, type RemoteHostSpec } from "../../transfer/remotepath.js";
import { createLogger, type LogLevel } from "../../util/log.js";
import type { ParsedCpArgs } from "../commands/cp.js";
import { clientEnvironment } from "../gate/relay.js";
import { runningGate, transferGateEligible, transferThroughGate } from "../gate/transfer.js";
import { createRemoteLeaser } from "../remote-lease.js";

function toLocation(op: Operand): Location {
  if (op.kind === "local") return { kind: "local", path: resolvePath(op.path) };
  return { kind: "remote", host: { user: op.user, host: op.host, port: op.port }, path: op.path };
}

function logLevel(args: ParsedCpArgs): LogLevel {
  if (args.verbosity >= 3) return "DEBUG3";
  if (args.verbosity === 2) return "DEBUG2";
  if (args.verbosity === 1) return "DEBUG1";
  return args.quiet ? "ERROR" : "INFO";
}

/**
 * Runs `jumpgate cp`; resolves with the exit status. `gate` is a gate client the caller already
 * connected (main.ts's light path, which decided on the gate before loading commander); without
 * it, a running gate is looked for here.
 */
export async function runCp(args: ParsedCpArgs, gate?: GateClient): Promise<number> {
  const operands = args.operands.map(parseOperand);
  const locations = operands.map(toLocation);
  const target = locations.pop() as Location;
  const log = createLogger(logLevel(args));
  const leaser = createRemoteLeaser(args, log);
  const connect = async (host: RemoteHostSpec) => {
    const lease = await leaser.acquire(host);
    return { session: lease.session, release: () => lease.release() };
  };

  const reporter = createProgressReporter({
    mode: chooseProgressMode(args.quiet, process.stderr.isTTY),
    sink: process.stderr,
  });
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let failures = 0;
  // Keep the bar's line clean: messages start on their own line.
  const clearBar = process.stderr.isTTY && !args.quiet ? "\r\x1b[K" : "";
  const onError = (error: JumpgateError) => {
    failures++;
    // Names come from the servers: control characters are shown as '?'.
    process.stderr.write(`${clearBar}jumpgate: ${error.code}: ${printable(error.message)}\n`);
  };
  try {
    const client = gate ?? (transferGateEligible(args.verbosity) ? await runningGate() : null);
    let result: Pick<CopyResult, "files" | "errors"> | null = null;
    if (client !== null) {
      const done = await transferThroughGate(
        client,
        {
          op: "cp",
          items: args.items,
          ...(args.configFile === undefined ? {} : { configFile: args.configFile }),
          cwd: process.cwd(),
          env: clientEnvironment(),
          sources: locations,
          target,
          recursive: args.recursive,
          preserve: args.preserve,
          quiet: args.quiet,
        },
        {
          onProgress: reporter.listener,
          onError,
          // Warnings (Permanently added ...): ssh -q silences them too.
          message: (line) => {
            if (!args.quiet) process.stderr.write(`${clearBar}${printable(line)}\n`);
          },
          interrupted: () => ({
            code: "JG_CP_INTERRUPTED",
            message: "the copy was interrupted; no partial file was left under a final name.",
          }),
        },
      );
      if (done !== null) result = { files: done.files, errors: done.errors.map(errorFromWire) };
    }
    if (result === null) {
      const { copy } = await import("../../transfer/copy.js");
      result = await copy({
        sources: locations,
        target,
        recursive: args.recursive,
        preserve: args.preserve,
        connect,
        signal: abort.signal,
        onProgress: reporter.listener,
        onError,
      });
    }
    reporter.finish();
    if (result.errors.length === 1) return result.errors[0]?.exitCode ?? 1;
    if (failures > 1) {
      // Each failure was printed as it happened; this line sums them up (and sets the status, 1 as scp).
      throw new JumpgateError(
        "JG_CP_FAILED",
        `${failures} problems (listed above); ${result.files} file${result.files === 1 ? "" : "s"} copied. Nothing incomplete was left under a final name.`,
      );
    }
    return 0;
  } catch (error) {
    // copy() throws JG_CP_INTERRUPTED after Ctrl-C, once the temporaries are removed.
    if (reporter.state().startedAt !== undefined) reporter.finish();
    throw error;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await leaser.close();
  }
}
