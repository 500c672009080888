/**
 * Running `jumpgate ssh` once its arguments are parsed: resolve the route, connect through the
 * manager, run the session, close everything.
 */
import { dumpConfig } from "../../config/dump.js";
import { resolve, resolveHops } from "../../config/resolve.js";
import { ConnectionManager } from "../../connection/manager.js";
import { createSecurity } from "../../connection/security.js";
import { JumpgateError } from "../../errors.js";
import { createLogger, type LogLevel, parseLogLevel } from "../../util/log.js";
import type { ParsedSshArgs } from "../commands/ssh.js";
import { ForwardSet } from "../forward/set.js";
import { BACKGROUND_ENV, goToBackground, signalReady } from "./background.js";
import { watchInterrupt } from "./interrupt.js";
import { runSession, type SessionPlan, type TtyRequest } from "./run.js";

function logLevelFor(args: ParsedSshArgs, configured: string): LogLevel {
  if (args.quiet) return "QUIET";
  if (args.verbosity >= 3) return "DEBUG3";
  if (args.verbosity === 2) return "DEBUG2";
  if (args.verbosity === 1) return "DEBUG1";
  return parseLogLevel(configured);
}

export interface RunSshExtras {
  /** `jumpgate forward`: say what each forward listens on. */
  announce?: boolean;
  /** `jumpgate forward`: refuse to run with nothing to forward. */
  requireForwards?: boolean;
}

/** Runs `jumpgate ssh`; resolves with the exit status. */
export async function runSsh(args: ParsedSshArgs, extras: RunSshExtras = {}): Promise<number> {
  const request = {
    items: args.items,
    ...(args.configFile === undefined ? {} : { configFile: args.configFile }),
  };
  const resolved = resolve(request);
  if (args.printConfig) {
    process.stdout.write(dumpConfig(resolved.options, resolved.hostname));
    return 0;
  }
  const log = createLogger(logLevelFor(args, resolved.options.logLevel ?? "INFO"));
  for (const warning of resolved.warnings) log.error(warning);
  const hops = resolveHops(request, resolved);
  const o = resolved.options;
  const noCommand = args.noCommand || o.sessionType === 0;
  if (extras.requireForwards && o.localForwards.length === 0 && o.remoteForwards.length === 0) {
    throw new JumpgateError(
      "JG_USAGE",
      "Nothing to forward: give -L, -R or -D (or LocalForward/RemoteForward/DynamicForward in the config).",
    );
  }
  if (args.background && process.env[BACKGROUND_ENV] === undefined) {
    // ssh -f: "Cannot fork into background without a command to execute."
    if (noCommand === false && args.command.length === 0 && (o.remoteCommand ?? "") === "") {
      throw new JumpgateError(
        "JG_USAGE",
        "Cannot go to the background (-f) without a command to execute: add a command or -N.",
        { exitCode: 255 },
      );
    }
    return goToBackground(log);
  }
  const security = createSecurity({ log, batchMode: o.batchMode === 1 });
  const manager = new ConnectionManager({ security, log, idleTimeout: 0 });
  const plan: SessionPlan = {
    command: args.command.join(" "),
    noCommand,
    stdioForward: args.stdioForward,
    tty: ttyRequest(args.tty, o.requestTty),
    escapeChar: args.escapeChar ?? escapeCharOf(o.escapeChar),
    options: o,
    log,
  };
  let forwards: ForwardSet | null = null;
  try {
    const lease = await manager.acquire(hops);
    try {
      forwards = new ForwardSet({
        session: () => lease.session,
        options: o,
        log,
        manager,
        announce: extras.announce === true,
        via: lease.session.hopName,
      });
      // -N: Ctrl-C once a listener is up, while the others come up or while holding them, is a
      // clean stop, not death; one listener covers both (see interrupt.ts for why not two).
      const holding = plan.noCommand && plan.command === "" && plan.stdioForward === null;
      const interrupt = holding ? watchInterrupt() : undefined;
      try {
        if (interrupt) {
          // A forward whose setup waits on the server (a tcpip-forward it never answers) must not
          // outlive Ctrl-C: the finally blocks below close the forwards and the connection, which
          // ends the pending request.
          const started = forwards.startAll();
          started.catch(() => {});
          const stopped = new Promise<"stopped">((resolve) => interrupt.onFire(() => resolve("stopped")));
          if ((await Promise.race([started, stopped])) === "stopped") return 0;
        } else {
          await forwards.startAll();
        }
        if (args.background) signalReady();
        return await runSession(lease, { ...plan, forwards, ...(interrupt ? { interrupt } : {}) }, manager);
      } finally {
        interrupt?.dispose();
      }
    } finally {
      await forwards?.closeAll();
      lease.release();
    }
  } finally {
    await manager.close();
    // Everything is closed; a peer that never answers our disconnect (seen once under heavy load
    // in the -N Ctrl-C test) must not keep the process for long. Unref'd: a normal exit is not delayed.
    setTimeout(() => process.exit(), 3000).unref();
  }
}

function ttyRequest(flag: ParsedSshArgs["tty"], requestTty: number): TtyRequest {
  if (flag !== "auto") return flag;
  // RequestTTY: no=0 yes=1 force=2 auto=3 (config/options.ts REQUEST_TTY).
  return requestTty === 0 ? "no" : requestTty === 1 ? "yes" : requestTty === 2 ? "force" : "auto";
}

function escapeCharOf(code: number): string | null {
  if (code < 0) return null;
  return String.fromCharCode(code);
}
