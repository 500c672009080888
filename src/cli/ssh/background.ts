/**
 * `jumpgate ssh -f`: go to the background once authenticated and the forwards are up.
 *
 * Node cannot fork(), so the foreground process starts itself again as a child (same arguments,
 * a marker in the environment), relays the child's stderr (prompts' messages, errors, "Allocated
 * port"), and exits 0 once the child says it is ready, or with the child's status if it fails
 * first. The child then stops writing to stderr (as ssh -f points stdio at /dev/null) and ignores
 * SIGHUP, so closing the terminal does not end the tunnel. The child keeps the controlling
 * terminal until then, so passphrase prompts on /dev/tty still work.
 */
import { spawn } from "node:child_process";
import type { Logger } from "../../util/log.js";

/** Set in the child's environment; its value is irrelevant. */
export const BACKGROUND_ENV = "JUMPGATE_BACKGROUND_CHILD";

/** Foreground side: resolves with the exit status the foreground process should have. */
export function goToBackground(log: Logger): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      env: { ...process.env, [BACKGROUND_ENV]: "1" },
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    let settled = false;
    const settle = (code: number) => {
      if (settled) return;
      settled = true;
      child.stderr?.unpipe(process.stderr);
      child.stderr?.destroy();
      if (child.connected) child.disconnect();
      child.unref();
      resolve(code);
    };
    child.stderr?.pipe(process.stderr, { end: false });
    child.on("message", (message) => {
      if (message !== "ready") return;
      // With -v, say which process holds the forwards (scripts and tests stop it by pid).
      log.debug(`Backgrounded as pid ${child.pid}.`);
      settle(0);
    });
    child.on("exit", (code, signal) => settle(code ?? (signal ? 255 : 0)));
    child.on("error", () => settle(255));
  });
}

/** Background side: tells the foreground process we are up, then detaches from its stdio. */
export function signalReady(): void {
  if (process.env[BACKGROUND_ENV] === undefined || typeof process.send !== "function") return;
  process.send("ready", () => {
    if (process.connected) process.disconnect();
  });
  // The parent closes its end of our stderr once it exits: later writes must not crash us.
  process.stderr.on("error", () => {});
  process.stderr.write = (() => true) as typeof process.stderr.write;
  process.on("SIGHUP", () => {});
}
