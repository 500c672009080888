/**
 * Ctrl-C while a forward is still being set up: a server that never answers the remote forward
 * request (an embedded ssh2 server; real sshd always answers) must not keep `jumpgate ssh -N -R`
 * alive. OpenSSH's ssh exits at once in the same case. Once killed by the harness after its
 * deadline, the exit code would be null: the assertion is on the code, not on a time.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedSshServer, startEmbeddedSshServer } from "../support/embedded-ssh-server.js";
import { startJumpgate } from "../support/forward-lab.js";

describe("ssh -N: Ctrl-C while the server has not answered a forward request", () => {
  let server: EmbeddedSshServer;
  let requests = 0;
  const waiting: Array<() => void> = [];

  beforeAll(async () => {
    server = await startEmbeddedSshServer("silent", (conn) => {
      // Global requests (tcpip-forward) are received and never answered.
      conn.on("request", () => {
        requests++;
        for (const wake of waiting.splice(0)) wake();
      });
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  /** Resolves once the server has seen `n` forward requests in all. */
  const requested = async (n: number) => {
    while (requests < n) await new Promise<void>((resolve) => waiting.push(resolve));
  };

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`${signal} stops it cleanly (exit 0) with the request still pending`, async () => {
      const before = requests;
      const r = startJumpgate(["ssh", "-F", server.configPath, "-N", "-R", "0:127.0.0.1:9", "silent"]);
      await Promise.race([requested(before + 1), r.exited]);
      expect(requests, `jumpgate said: ${r.stderr()}`).toBe(before + 1);
      const code = await r.stop(signal);
      expect(code, `jumpgate said: ${r.stderr()}`).toBe(0);
    });
  }
});
