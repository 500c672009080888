/**
 * One SIGINT/SIGTERM listener for the whole life of `jumpgate ssh -N`: Ctrl-C during the setup of
 * the forwards and Ctrl-C while holding them open are the same clean stop.
 *
 * Why one listener rather than a listener per phase: Node (libuv) queues a signal for the signal
 * handle that was active when it arrived. Removing that listener and adding another before the
 * event loop dispatched the signal drops it: `-N` then ignored Ctrl-C for good (seen about once in
 * fifteen runs when Ctrl-C came right as the listeners came up; test/e2e/forward.test.ts).
 */
export interface Interrupt {
  /** Whether a signal arrived already. */
  readonly fired: boolean;
  /** Calls `stop` when a signal arrives, or at once if one did. */
  onFire(stop: () => void): void;
  /** Removes the listeners (after the session ended). */
  dispose(): void;
}

const SIGNALS = ["SIGINT", "SIGTERM"] as const;

export function watchInterrupt(): Interrupt {
  let fired = false;
  const waiting: Array<() => void> = [];
  const onSignal = () => {
    fired = true;
    for (const stop of waiting.splice(0)) stop();
  };
  for (const sig of SIGNALS) process.on(sig, onSignal);
  return {
    get fired() {
      return fired;
    },
    onFire(stop) {
      if (fired) stop();
      else waiting.push(stop);
    },
    dispose() {
      for (const sig of SIGNALS) process.off(sig, onSignal);
      waiting.length = 0;
    },
  };
}
