import { describe, expect, it } from "vitest";
import { parseShortOptions, type ShortOptionSpec } from "../../../src/cli/sshargs.js";
import { jumpgateErrorOf } from "../../support/errors.js";

const spec: ShortOptionSpec = { withValue: "FlpJoLRDi", flags: "Aa", longFlags: ["json", "route"] };
const parse = (...argv: string[]) => parseShortOptions(argv, spec);

const usageError = jumpgateErrorOf;

describe("parseShortOptions (getopt-style, as ssh reads its arguments)", () => {
  it("takes a value glued to the letter or in the next argument", () => {
    expect(parse("-p22", "h")).toEqual([
      { name: "p", value: "22" },
      { name: "", value: "h" },
    ]);
    expect(parse("-p", "22", "h")).toEqual([
      { name: "p", value: "22" },
      { name: "", value: "h" },
    ]);
  });

  it("keeps everything after the letter, '=' included", () => {
    expect(parse("-oPort=22")).toEqual([{ name: "o", value: "Port=22" }]);
    expect(parse("-o", "Port 22")).toEqual([{ name: "o", value: "Port 22" }]);
    expect(parse("-L1111:localhost:22")).toEqual([{ name: "L", value: "1111:localhost:22" }]);
  });

  it("clusters flags, and a value letter ends the cluster", () => {
    expect(parse("-Aa")).toEqual([
      { name: "A", value: "" },
      { name: "a", value: "" },
    ]);
    expect(parse("-Ap22")).toEqual([
      { name: "A", value: "" },
      { name: "p", value: "22" },
    ]);
    expect(parse("-Ap", "22")).toEqual([
      { name: "A", value: "" },
      { name: "p", value: "22" },
    ]);
    expect(parse("-pA")).toEqual([{ name: "p", value: "A" }]);
  });

  it("a value may itself start with '-'", () => {
    expect(parse("-l", "-weird")).toEqual([{ name: "l", value: "-weird" }]);
  });

  it("reads options before and after the destination, in order", () => {
    expect(parse("-p", "22", "h", "-l", "alice")).toEqual([
      { name: "p", value: "22" },
      { name: "", value: "h" },
      { name: "l", value: "alice" },
    ]);
  });

  it("'--' ends the options; a lone '-' is an operand", () => {
    expect(parse("--", "-p", "x")).toEqual([
      { name: "", value: "-p" },
      { name: "", value: "x" },
    ]);
    expect(parse("-")).toEqual([{ name: "", value: "-" }]);
  });

  it("long flags are recognised only when listed", () => {
    expect(parse("--json", "h")).toEqual([
      { name: "json", value: "" },
      { name: "", value: "h" },
    ]);
    const error = usageError(() => parse("--yaml"));
    expect(error.code).toBe("JG_USAGE");
    expect(error.message).toContain("--yaml");
  });

  it("an unknown letter is a usage error naming it, also inside a cluster", () => {
    const error = usageError(() => parse("-x"));
    expect(error.code).toBe("JG_USAGE");
    expect(error.message).toContain("-- x");
    expect(usageError(() => parse("-Az")).message).toContain("-- z");
  });

  it("a value letter at the very end is a usage error", () => {
    const error = usageError(() => parse("h", "-p"));
    expect(error.code).toBe("JG_USAGE");
    expect(error.message).toContain("-p");
    expect(error.exitCode).toBe(2);
  });

  it("no arguments, no result", () => {
    expect(parse()).toEqual([]);
  });
});
