import { describe, expect, it } from "vitest";
import {
  a2port,
  a2tun,
  atoiErr,
  convtime,
  iptos2str,
  parseIpqos,
  scanScaled,
  strtonum,
  TUNID_ANY,
  validDomain,
  validEnvName,
} from "../../../src/config/values.js";

describe("strtonum", () => {
  it("accepts a full base-10 integer within bounds", () => {
    expect(strtonum("42", 0, 100)).toBe(42);
    expect(strtonum("+7", 0, 100)).toBe(7);
    expect(strtonum(" 7", 0, 100)).toBe(7);
    expect(strtonum("-3", -5, 5)).toBe(-3);
  });

  it("rejects garbage, empty text and out-of-range values", () => {
    expect(strtonum("", 0, 100)).toBeNull();
    expect(strtonum("4x", 0, 100)).toBeNull();
    expect(strtonum("0x10", 0, 100)).toBeNull();
    expect(strtonum("101", 0, 100)).toBeNull();
    expect(strtonum("-1", 0, 100)).toBeNull();
    expect(strtonum("1.0", 0, 100)).toBeNull();
  });
});

describe("a2port (misc.c)", () => {
  it.each([
    ["22", 22],
    ["0", 0],
    ["65535", 65535],
    ["ssh", 22],
  ])("%j -> %i", (text, port) => {
    expect(a2port(text)).toBe(port);
  });

  it.each([["65536"], ["-1"], [""], ["22x"], ["no-such-service-zz"], ["2 2"]])(
    "%j is invalid (-1)",
    (text) => {
      expect(a2port(text)).toBe(-1);
    },
  );
});

describe("convtime (misc.c)", () => {
  it.each([
    ["90", 90],
    ["0", 0],
    ["90s", 90],
    ["90S", 90],
    ["10m", 600],
    ["1h30m", 5400],
    ["1H30M", 5400],
    ["2d", 172800],
    ["1w", 604800],
    ["1w2d3h4m5s", 604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5],
    ["1m1", 61],
    ["+5", 5],
    ["2147483647", 2147483647],
  ])("%j -> %i seconds", (text, seconds) => {
    expect(convtime(text)).toBe(seconds);
  });

  it.each([["1x"], ["-1"], [""], ["h"], ["1h-5m"], ["5 "], ["2147483648"], ["3551w"], ["2147483647s1s"]])(
    "%j is invalid (-1)",
    (text) => {
      expect(convtime(text)).toBe(-1);
    },
  );
});

describe("atoiErr (misc.c atoi_err)", () => {
  it("returns the value of a non-negative int", () => {
    expect(atoiErr("3")).toEqual({ value: 3 });
    expect(atoiErr("0")).toEqual({ value: 0 });
    expect(atoiErr("2147483647")).toEqual({ value: 2147483647 });
  });

  it("names the problem the way OpenSSH prints it", () => {
    expect(atoiErr(undefined)).toEqual({ error: "missing" });
    expect(atoiErr("")).toEqual({ error: "missing" });
    expect(atoiErr("three")).toEqual({ error: "invalid" });
    expect(atoiErr("3x")).toEqual({ error: "invalid" });
    expect(atoiErr("-1")).toEqual({ error: "too small" });
    expect(atoiErr("2147483648")).toEqual({ error: "too large" });
  });
});

describe("a2tun (misc.c)", () => {
  it("parses one device or local:remote, with 'any'", () => {
    expect(a2tun("3")).toEqual({ local: 3, remote: TUNID_ANY });
    expect(a2tun("any")).toEqual({ local: TUNID_ANY, remote: TUNID_ANY });
    expect(a2tun("ANY")).toEqual({ local: TUNID_ANY, remote: TUNID_ANY });
    expect(a2tun("1:2")).toEqual({ local: 1, remote: 2 });
    expect(a2tun("any:7")).toEqual({ local: TUNID_ANY, remote: 7 });
    expect(a2tun("7:any")).toEqual({ local: 7, remote: TUNID_ANY });
  });

  it("rejects bad devices on either side", () => {
    expect(a2tun("x")).toBeNull();
    expect(a2tun("1:x")).toBeNull();
    expect(a2tun("x:1")).toBeNull();
    expect(a2tun("1:")).toBeNull();
    expect(a2tun("-1")).toBeNull();
    expect(a2tun(String(0x7ffffffe))).toBeNull();
    expect(a2tun(String(0x7ffffffd))).toEqual({ local: 0x7ffffffd, remote: TUNID_ANY });
  });
});

describe("parseIpqos / iptos2str (misc.c)", () => {
  it("knows the DSCP and legacy TOS names, case-insensitively", () => {
    expect(parseIpqos("af21")).toBe(0x48);
    expect(parseIpqos("AF21")).toBe(0x48);
    expect(parseIpqos("cs1")).toBe(0x20);
    expect(parseIpqos("ef")).toBe(0xb8);
    expect(parseIpqos("lowdelay")).toBe(0x10);
    expect(parseIpqos("throughput")).toBe(0x08);
    expect(parseIpqos("reliability")).toBe(0x04);
    expect(parseIpqos("none")).toBe(0x7fffffff);
  });

  it("accepts integers 0..255 in C strtol base-0 syntax", () => {
    expect(parseIpqos("16")).toBe(16);
    expect(parseIpqos("0x10")).toBe(16);
    expect(parseIpqos("010")).toBe(8);
    expect(parseIpqos("0")).toBe(0);
    expect(parseIpqos("255")).toBe(255);
  });

  it("rejects everything else", () => {
    expect(parseIpqos(undefined)).toBe(-1);
    expect(parseIpqos("")).toBe(-1);
    expect(parseIpqos("256")).toBe(-1);
    expect(parseIpqos("-1")).toBe(-1);
    expect(parseIpqos("08")).toBe(-1);
    expect(parseIpqos("0x")).toBe(-1);
    expect(parseIpqos("12abc")).toBe(-1);
    expect(parseIpqos("af99")).toBe(-1);
  });

  it("prints the first name in OpenSSH's table, or 0x%02x", () => {
    expect(iptos2str(0x48)).toBe("af21");
    expect(iptos2str(0x10)).toBe("lowdelay");
    expect(iptos2str(0x08)).toBe("throughput");
    // 0x04 is both "le" and "reliability"; "le" comes first in the table.
    expect(iptos2str(0x04)).toBe("le");
    expect(iptos2str(0)).toBe("cs0");
    expect(iptos2str(0x7fffffff)).toBe("none");
    expect(iptos2str(0x05)).toBe("0x05");
    expect(iptos2str(0xff)).toBe("0xff");
  });
});

describe("validDomain (misc.c valid_domain)", () => {
  it("accepts and normalises domain names", () => {
    expect(validDomain("example.com", false)).toEqual({ name: "example.com" });
    expect(validDomain("Example.COM", true)).toEqual({ name: "example.com" });
    expect(validDomain("Example.COM", false)).toEqual({ name: "Example.COM" });
    expect(validDomain("example.com.", false)).toEqual({ name: "example.com" });
    expect(validDomain("my_host-1.internal", false)).toEqual({ name: "my_host-1.internal" });
    expect(validDomain("1.2.3.4", false)).toEqual({ name: "1.2.3.4" });
  });

  it("rejects empty names, bad first characters, '..' and other characters", () => {
    expect(validDomain("", false)).toEqual({ error: "empty domain name" });
    expect(validDomain("-a.com", false)).toHaveProperty(
      "error",
      expect.stringContaining("starts with invalid"),
    );
    expect(validDomain(".a.com", false)).toHaveProperty(
      "error",
      expect.stringContaining("starts with invalid"),
    );
    expect(validDomain("a..com", false)).toHaveProperty("error", expect.stringContaining("consecutive"));
    expect(validDomain("a b", false)).toHaveProperty("error", expect.stringContaining("invalid characters"));
    expect(validDomain("a:b", false)).toHaveProperty("error", expect.stringContaining("invalid characters"));
  });
});

describe("validEnvName (misc.c valid_env_name)", () => {
  it("allows letters, digits and underscores only", () => {
    expect(validEnvName("SSH_AUTH_SOCK")).toBe(true);
    expect(validEnvName("a1")).toBe(true);
    expect(validEnvName("")).toBe(false);
    expect(validEnvName("A-B")).toBe(false);
    expect(validEnvName("A B")).toBe(false);
  });
});

describe("scanScaled (openbsd-compat scan_scaled, RekeyLimit)", () => {
  it("scales by powers of 1024", () => {
    expect(scanScaled("16")).toBe(16n);
    expect(scanScaled("1K")).toBe(1024n);
    expect(scanScaled("1k")).toBe(1024n);
    expect(scanScaled("500M")).toBe(500n * 1024n ** 2n);
    expect(scanScaled("1G")).toBe(1024n ** 3n);
    expect(scanScaled("2T")).toBe(2n * 1024n ** 4n);
    expect(scanScaled("7E")).toBe(7n * 1024n ** 6n);
    expect(scanScaled("1B")).toBe(1n);
  });

  it("scales a fraction and truncates it", () => {
    expect(scanScaled("1.5K")).toBe(1536n);
    expect(scanScaled("1.55K")).toBe(1587n);
    expect(scanScaled("-1.5K")).toBe(-1536n);
  });

  it("rejects unknown units and text after the unit", () => {
    expect(scanScaled("1X")).toBeNull();
    expect(scanScaled("1KB")).toBeNull();
    expect(scanScaled("1.2.3K")).toBeNull();
    expect(scanScaled("+-1")).toBeNull();
  });

  // OpenSSH 9.2's scan_scaled() discards a fraction when there is no scale factor: `ssh -G` with
  // `RekeyLimit 20.5` prints `rekeylimit 20 0`, and with `RekeyLimit 20.5B` the same.
  it("drops the fraction when there is no unit or the unit is B", () => {
    expect(scanScaled("20.5")).toBe(20n);
    expect(scanScaled("20.5B")).toBe(20n);
  });

  // scan_scaled() needs no digits at all: `RekeyLimit K` is 0 for `ssh -G` (`rekeylimit 0 0`).
  it("accepts a unit without digits as zero", () => {
    expect(scanScaled("K")).toBe(0n);
  });

  // Only an alphanumeric after the unit is refused: `RekeyLimit "1K!"` prints `rekeylimit 1024 0`.
  it("accepts a non-alphanumeric character after the unit", () => {
    expect(scanScaled("1K!")).toBe(1024n);
  });

  // scan_scaled() works in a long long: `RekeyLimit 8E` and a 20-digit number fail with
  // "Numerical result out of range" in `ssh -G`.
  it("refuses values that overflow a long long", () => {
    expect(scanScaled("8E")).toBeNull();
    expect(scanScaled("99999999999999999999")).toBeNull();
    expect(scanScaled("9223372036854775807")).toBe(9223372036854775807n);
  });
});
