/**
 * ControlMaster auto/autoask, jumpgate style: when no gate runs and the destination's resolved
 * config asks for connection sharing, start a gate (in the background, as `gate start` does) and
 * go through it. It stops after ControlPersist's time with nothing open (10 minutes when
 * ControlPersist is unset or `no`: a gate that stopped with its first command would share nothing).
 */

import { CONTROL_MASTER } from "../../config/options.js";
import { resolve } from "../../config/resolve.js";
import { GateClient, type GateHello } from "../../gate/client.js";
import type { ParsedSshArgs } from "../commands/ssh.js";
import { DEFAULT_PERSIST_SECONDS, startGateDaemon } from "./run.js";

/** ControlPersist as the gate's --persist / --idle-exit value. */
export function persistFor(controlPersist: number, timeout: number): string {
  if (controlPersist === 1) return timeout > 0 ? String(timeout) : "forever";
  return String(DEFAULT_PERSIST_SECONDS);
}

export async function onDemandGate(
  parsed: ParsedSshArgs,
): Promise<{ client: GateClient; hello: GateHello } | null> {
  const resolved = resolve({
    items: parsed.items,
    ...(parsed.configFile === undefined ? {} : { configFile: parsed.configFile }),
  });
  const o = resolved.options;
  if (o.controlMaster !== CONTROL_MASTER.auto && o.controlMaster !== CONTROL_MASTER.autoask) return null;
  const persist = persistFor(o.controlPersist, o.controlPersistTimeout);
  try {
    const started = await startGateDaemon({ persist, idleExit: persist });
    return await GateClient.connect(started.socket);
  } catch (error) {
    // Sharing is an optimisation: without a gate the command still works, directly.
    if (!parsed.quiet) {
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(
        `jumpgate: ControlMaster ${o.controlMaster === CONTROL_MASTER.auto ? "auto" : "autoask"}: no gate (${message}); connecting directly.\n`,
      );
    }
    return null;
  }
}
