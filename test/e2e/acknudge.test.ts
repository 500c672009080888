/**
 * The ACK nudge (src/connection/acknudge.ts) against the real lab: jaguar's sshd keeps Nagle on a
 * connection that only carries jumps, so a reply jumpgate does not answer gets an SSH_MSG_IGNORE;
 * sshd accepts it silently, and commands through the hop keep their output and exit status.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { resolveHops } from "../../src/config/resolve.js";
import { ConnectionManager, keepaliveRoundTrip } from "../../src/connection/manager.js";
import { createSecurity } from "../../src/connection/security.js";
import { silentLogger } from "../../src/util/log.js";
import { type BastionLab, describeE2E, startBastionLab } from "../support/lab.js";

describeE2E("ACK nudge through the bastion", "sshd", () => {
  let lab: BastionLab;

  beforeAll(async () => {
    lab = await startBastionLab();
  });

  afterAll(async () => {
    await lab?.stop();
  });

  const hopsFor = (destination: string) =>
    resolveHops({ items: [{ kind: "destination", value: destination }], configFile: lab.configPath });

  it("nudges the jump connection's unanswered replies and the connections stay healthy", async () => {
    const manager = new ConnectionManager({
      security: createSecurity({ log: silentLogger, batchMode: true }),
      log: silentLogger,
      idleTimeout: 10_000,
    });
    try {
      const mcg = await manager.acquire(hopsFor("mcgonagall"));
      const jaguar = await manager.acquire(hopsFor("jaguar"));
      expect(jaguar.reused).toBe(true);
      for (let i = 0; i < 3; i++) {
        const { channel, done } = await mcg.session.exec("echo $JG_LAB_HOST; exit 3");
        let out = "";
        channel.on("data", (d: Buffer) => {
          out += d.toString();
        });
        expect(await done).toEqual({ code: 3, signal: null });
        expect(out).toBe("mcgonagall\n");
      }
      // A keepalive reply is one jumpgate never answers: the nudge carries the ACK instead.
      const before = jaguar.session.ackNudges;
      expect(await keepaliveRoundTrip(jaguar.session)).not.toBeNull();
      expect(await keepaliveRoundTrip(jaguar.session)).not.toBeNull();
      await new Promise((r) => setImmediate(r));
      expect(jaguar.session.ackNudges).toBeGreaterThan(before);
      // sshd took the IGNOREs as the protocol says: both connections still answer.
      expect(jaguar.session.closed).toBe(false);
      expect(await keepaliveRoundTrip(mcg.session)).not.toBeNull();
      mcg.release();
      jaguar.release();
    } finally {
      await manager.close();
    }
  });
});
