import { describe, expect, it } from "vitest";
import { parseSshArgs } from "../../../../src/cli/commands/ssh.js";
import { escapeByte } from "../../../../src/cli/ssh/run.js";
import { jumpgateErrorOf } from "../../../support/errors.js";

const usage = jumpgateErrorOf;

describe("jumpgate ssh arguments", () => {
  it("takes options before and after the destination, then the command verbatim", () => {
    const a = parseSshArgs(["-p", "2222", "mcgonagall", "-v", "ls", "-la", "/tmp"]);
    expect(a.items).toEqual([
      { kind: "port", value: "2222" },
      { kind: "destination", value: "mcgonagall" },
    ]);
    expect(a.verbosity).toBe(1);
    expect(a.command).toEqual(["ls", "-la", "/tmp"]);
  });

  it("understands -t, -tt, -T, -N, -W, -e and -G", () => {
    expect(parseSshArgs(["-t", "h"]).tty).toBe("yes");
    expect(parseSshArgs(["-tt", "h"]).tty).toBe("force");
    expect(parseSshArgs(["-T", "h"]).tty).toBe("no");
    expect(parseSshArgs(["-N", "h"]).noCommand).toBe(true);
    expect(parseSshArgs(["-W", "127.0.0.1:22", "h"]).stdioForward).toBe("127.0.0.1:22");
    expect(parseSshArgs(["-e", "^A", "h"]).escapeChar).toBe("^A");
    expect(parseSshArgs(["-G", "h"]).printConfig).toBe(true);
  });

  it("turns -A/-a, -C, -4 and -c into config items in order", () => {
    const a = parseSshArgs(["-A", "-C", "-4", "-c", "aes128-ctr", "h"]);
    expect(a.items).toEqual([
      { kind: "forwardAgent", value: true },
      { kind: "option", value: "Compression=yes" },
      { kind: "option", value: "AddressFamily=inet" },
      { kind: "option", value: "Ciphers=aes128-ctr" },
      { kind: "destination", value: "h" },
    ]);
  });

  it("takes -L, -R, -D (in order, before or after the destination) and -f", () => {
    const a = parseSshArgs(["-L", "1:h:2", "-fN", "h", "-R0:localhost:80", "-D", "1080"]);
    expect(a.items).toEqual([
      { kind: "local", value: "1:h:2" },
      { kind: "destination", value: "h" },
      { kind: "remote", value: "0:localhost:80" },
      { kind: "dynamic", value: "1080" },
    ]);
    expect(a.background).toBe(true);
    expect(a.noCommand).toBe(true);
  });

  it("refuses what it does not implement, saying so", () => {
    expect(usage(() => parseSshArgs(["-M", "h"])).message).toMatch(/connection multiplexing \(-M\)/);
    expect(usage(() => parseSshArgs(["-Z", "h"])).code).toBe("JG_USAGE");
    expect(usage(() => parseSshArgs([])).message).toMatch(/needs a destination/);
  });

  it("reads escape characters as ssh does", () => {
    expect(escapeByte("~")).toBe(126);
    expect(escapeByte("^A")).toBe(1);
    expect(escapeByte("none")).toBeNull();
    expect(usage(() => escapeByte("ab")).code).toBe("JG_USAGE");
  });
});
