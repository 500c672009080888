/** `jumpgate cp`'s command line: scp's options, the refusals, and the help text. */
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { parseCpArgs, registerCpCommand } from "../../../src/cli/commands/cp.js";
import { jumpgateErrorOf } from "../../support/errors.js";

describe("parseCpArgs", () => {
  it("reads scp's options in scp's spelling", () => {
    const a = parseCpArgs([
      "-rpq3",
      "-P",
      "2222",
      "-J",
      "jaguar",
      "-oBatchMode=yes",
      "-i",
      "k",
      "-F",
      "cfg",
      "a",
      "h:b",
    ]);
    expect(a).toMatchObject({
      recursive: true,
      preserve: true,
      quiet: true,
      configFile: "cfg",
      operands: ["a", "h:b"],
    });
    expect(a.items).toEqual([
      { kind: "port", value: "2222" },
      { kind: "jump", value: "jaguar" },
      { kind: "option", value: "BatchMode=yes" },
      { kind: "identity", value: "k" },
    ]);
  });
  it("-c, -C, -4 become options; -- ends options", () => {
    const a = parseCpArgs(["-c", "aes128-ctr", "-C", "-4", "--", "-odd-name", "h:"]);
    expect(a.items.map((i) => i.value)).toEqual([
      "Ciphers=aes128-ctr",
      "Compression=yes",
      "AddressFamily=inet",
    ]);
    expect(a.operands).toEqual(["-odd-name", "h:"]);
  });
  it.each([["-O"], ["-R"], ["-l", "100"], ["-S", "ssh"], ["-T"]])("%s is refused with JG_USAGE", (...opt) => {
    const e = jumpgateErrorOf(() => parseCpArgs([...opt, "a", "h:b"]));
    expect(e.code).toBe("JG_USAGE");
    expect(e.message).toContain("does not support");
  });
  it("needs a source and a target", () => {
    const e = jumpgateErrorOf(() => parseCpArgs(["only-one"]));
    expect(e.code).toBe("JG_USAGE");
    expect(e.exitCode).toBe(2);
  });
});

describe("cp --help", () => {
  it("documents the options, the symlink rule, -3 as the default and has examples", () => {
    const program = new Command().enablePositionalOptions();
    registerCpCommand(program);
    const cp = program.commands.find((c) => c.name() === "cp");
    let text = "";
    cp?.configureOutput({ writeOut: (s) => (text += s) });
    cp?.outputHelp();
    for (const needle of [
      "-r ",
      "-p ",
      "-q ",
      "-3 ",
      "-F file",
      "-J jumps",
      "-o Keyword=value",
      "-i file",
      "-P port",
    ]) {
      expect(text).toContain(needle);
    }
    expect(text).toMatch(/Symlinks/);
    expect(text).toMatch(/the default \(and only\) way/);
    expect(text).toMatch(/Examples:\n {2}jumpgate cp /);
  });
});
