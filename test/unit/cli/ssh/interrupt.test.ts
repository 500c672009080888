/**
 * The -N interrupt latch: one listener from before the forwards come up until the session ends, so
 * a Ctrl-C in either phase stops the run (a real SIGINT to a real `jumpgate ssh -N` is in
 * test/e2e/forward.test.ts).
 */
import { afterEach, describe, expect, it } from "vitest";
import { type Interrupt, watchInterrupt } from "../../../../src/cli/ssh/interrupt.js";

let latch: Interrupt | undefined;
afterEach(() => latch?.dispose());

describe("watchInterrupt", () => {
  it("a signal before anyone waits is kept, and stops the holder at once when it starts waiting", () => {
    latch = watchInterrupt();
    expect(latch.fired).toBe(false);
    process.emit("SIGINT");
    expect(latch.fired).toBe(true);
    let stops = 0;
    latch.onFire(() => stops++);
    expect(stops).toBe(1);
  });

  it("a signal while waiting stops the holder once; SIGTERM counts too", () => {
    latch = watchInterrupt();
    let stops = 0;
    latch.onFire(() => stops++);
    expect(stops).toBe(0);
    process.emit("SIGTERM");
    process.emit("SIGTERM");
    expect(stops).toBe(1);
  });

  it("listens for the whole life and removes exactly its own listeners on dispose", () => {
    const before = [process.listenerCount("SIGINT"), process.listenerCount("SIGTERM")];
    latch = watchInterrupt();
    expect([process.listenerCount("SIGINT"), process.listenerCount("SIGTERM")]).toEqual([
      (before[0] as number) + 1,
      (before[1] as number) + 1,
    ]);
    latch.dispose();
    expect([process.listenerCount("SIGINT"), process.listenerCount("SIGTERM")]).toEqual(before);
  });
});
