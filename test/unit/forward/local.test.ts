import { createServer, type Server } from "node:net";
import { describe, expect, it } from "vitest";
import { JumpgateError } from "../../../src/errors.js";
import { bindPlan, listen } from "../../../src/forward/local.js";
import { remoteBindHost } from "../../../src/forward/remote.js";
import { describeSpec } from "../../../src/forward/spec.js";

const spec = (listenHost: string | null) => ({ listenHost, listenPath: null });

describe("bind rules (OpenSSH's channel_fwd_bind_addr, client side)", () => {
  it("binds loopback by default, everything with GatewayPorts, and honours explicit addresses", () => {
    expect(bindPlan(spec(null), false)).toEqual({ kind: "loopback" });
    expect(bindPlan(spec(null), true)).toEqual({ kind: "wildcard" });
    expect(bindPlan(spec("localhost"), true)).toEqual({ kind: "loopback" });
    expect(bindPlan(spec("*"), false)).toEqual({ kind: "wildcard" });
    expect(bindPlan(spec(""), false)).toEqual({ kind: "wildcard" });
    expect(bindPlan(spec("127.0.0.2"), false)).toEqual({ kind: "address", host: "127.0.0.2" });
    expect(bindPlan({ listenHost: null, listenPath: "/tmp/s" }, false)).toEqual({
      kind: "path",
      path: "/tmp/s",
    });
  });

  it("asks the server for localhost, every address, or the one given (channel_rfwd_bind_host)", () => {
    expect(remoteBindHost(null)).toBe("localhost");
    expect(remoteBindHost("*")).toBe("");
    expect(remoteBindHost("")).toBe("");
    expect(remoteBindHost("10.1.2.3")).toBe("10.1.2.3");
  });

  it("prints specs the way they are written", () => {
    const s = {
      listenHost: null,
      listenPort: 1111,
      listenPath: null,
      connectHost: "localhost",
      connectPort: 12345,
      connectPath: null,
    };
    expect(describeSpec("local", s)).toBe("-L 1111:localhost:12345");
    expect(describeSpec("remote", { ...s, listenHost: "", listenPort: 0, connectHost: "::1" })).toBe(
      "-R *:0:[::1]:12345",
    );
    expect(describeSpec("dynamic", { ...s, listenHost: "127.0.0.1", connectHost: "socks" })).toBe(
      "-D 127.0.0.1:1111",
    );
  });
});

describe("listen()", () => {
  it("binds 127.0.0.1 (and ::1 where there is IPv6) by default", async () => {
    const l = await listen({ kind: "loopback" }, 0, { gatewayPorts: false, addressFamily: "inet" }, (s) =>
      s.destroy(),
    );
    try {
      expect(l.addresses).toEqual([`127.0.0.1:${l.port}`]);
    } finally {
      await l.close();
    }
  });

  it("binds every interface for GatewayPorts (no bind address) and for '*', loopback otherwise", async () => {
    const { Tunnel } = await import("../../../src/forward/tunnel.js");
    const spec = (listenHost: string | null) => ({
      listenHost,
      listenPort: 0,
      listenPath: null,
      connectHost: "socks",
      connectPort: 0,
      connectPath: null,
    });
    const open = () => Promise.reject(new Error("no session needed to listen"));
    const cases: Array<[string | null, boolean, RegExp]> = [
      [null, true, /^(\[::\]|0\.0\.0\.0):\d+$/],
      ["*", false, /^(\[::\]|0\.0\.0\.0):\d+$/],
      [null, false, /^(127\.0\.0\.1|\[::1\]):\d+$/],
    ];
    for (const [host, gatewayPorts, pattern] of cases) {
      const t = new Tunnel({ kind: "dynamic", spec: spec(host), open, listen: { gatewayPorts } });
      // Port 0 is refused by the spec parser for -D; here it just picks a free port.
      await t.start();
      try {
        for (const address of t.stats().listening) expect(address).toMatch(pattern);
      } finally {
        await t.close();
      }
    }
  });

  it("fails with JG_FORWARD_BIND when no address can be bound, and says why", async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", () => r()));
    const address = blocker.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    try {
      const error = await listen(
        { kind: "address", host: "127.0.0.1" },
        port,
        { gatewayPorts: false },
        () => {},
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(JumpgateError);
      expect((error as JumpgateError).code).toBe("JG_FORWARD_BIND");
      expect((error as JumpgateError).message).toBe(
        `cannot listen on 127.0.0.1:${port}: Address already in use. Another program (or another forward) has it: pick another port or stop that program.`,
      );
      expect((error as JumpgateError).exitCode).toBe(255);
    } finally {
      blocker.close();
    }
  });
});
