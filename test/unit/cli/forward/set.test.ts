import { afterEach, describe, expect, it } from "vitest";
import { parseForwardArgs } from "../../../../src/cli/commands/forward.js";
import {
  ESCAPE_COMMAND_HELP,
  ForwardSet,
  forwardsOf,
  runEscapeCommand,
} from "../../../../src/cli/forward/set.js";
import { initialOptions } from "../../../../src/config/options.js";
import type { SshSession } from "../../../../src/connection/session.js";
import { JumpgateError } from "../../../../src/errors.js";
import { silentLogger } from "../../../../src/util/log.js";
import { freePort } from "../../../support/forward-lab.js";

const noSession = (): SshSession => {
  throw new Error("no session in this test");
};

let sets: ForwardSet[] = [];
afterEach(async () => {
  await Promise.all(sets.map((s) => s.closeAll()));
  sets = [];
});

function forwardSet(): ForwardSet {
  const set = new ForwardSet({ session: noSession, options: initialOptions(), log: silentLogger });
  sets.push(set);
  return set;
}

describe("the ~C command line", () => {
  it("adds and cancels forwards with OpenSSH's answers", async () => {
    const set = forwardSet();
    const port = await freePort();
    expect(await runEscapeCommand(`-L ${port}:localhost:1`, set)).toBe("Forwarding port.");
    expect(set.list().map((t) => t.description)).toEqual([`-L ${port}:localhost:1`]);
    expect(await runEscapeCommand(`-L${port}:localhost:1`, set)).toMatch(
      /^Port forwarding failed: cannot listen on/,
    );
    expect(await runEscapeCommand(`-KL ${port}`, set)).toBe("Canceled forwarding.");
    expect(await runEscapeCommand(`-KL ${port}`, set)).toBe("Unknown port forwarding.");
    expect(set.list()).toEqual([]);
    const socks = await freePort();
    expect(await runEscapeCommand(`-D 127.0.0.1:${socks}`, set)).toBe("Forwarding port.");
    expect(await runEscapeCommand(`-KD 127.0.0.1:${socks}`, set)).toBe("Canceled forwarding.");
  });

  it("says what it cannot read", async () => {
    const set = forwardSet();
    expect(await runEscapeCommand("-L nonsense", set)).toBe("Bad forwarding specification.");
    expect(await runEscapeCommand("-KL x:y", set)).toBe("Bad forwarding close specification.");
    expect(await runEscapeCommand("-X 1", set)).toBe("Invalid command.");
    expect(await runEscapeCommand("?", set)).toBe(ESCAPE_COMMAND_HELP);
    expect(await runEscapeCommand("", set)).toBe("");
  });
});

describe("forwards from the options", () => {
  it("splits LocalForward/DynamicForward/RemoteForward into tunnel kinds", () => {
    const o = initialOptions();
    const base = { listenHost: null, listenPath: null, connectPath: null };
    o.localForwards.push({ ...base, listenPort: 1, connectHost: "h", connectPort: 2 });
    o.localForwards.push({ ...base, listenPort: 3, connectHost: "socks", connectPort: 0 });
    o.remoteForwards.push({ ...base, listenPort: 0, connectHost: "localhost", connectPort: 80 });
    expect(forwardsOf(o).map((f) => f.kind)).toEqual(["local", "dynamic", "remote"]);
  });
});

describe("jumpgate forward's arguments", () => {
  it("are ssh's with -N implied and no remote command", () => {
    const a = parseForwardArgs(["mcgonagall", "-L", "1111:localhost:12345"]);
    expect(a.noCommand).toBe(true);
    expect(a.items).toContainEqual({ kind: "local", value: "1111:localhost:12345" });
    const error = (() => {
      try {
        parseForwardArgs(["mcgonagall", "uptime"]);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(JumpgateError);
    expect((error as JumpgateError).message).toMatch(/runs no remote command/);
    expect(() => parseForwardArgs(["-L", "1:h:2"])).toThrow(/jumpgate forward needs a destination/);
  });
});
