/**
 * main.ts's choice of the light path for cp/push/pull: only a command line our own parsers read
 * exactly as commander would, not -v, not JUMPGATE_NO_GATE=1. Everything else (help, usage errors)
 * is left to commander so its output stays what it was.
 */
import { afterEach, describe, expect, it } from "vitest";
import { lightTransferArgs } from "../../../src/cli/main.js";

const saved = process.env.JUMPGATE_NO_GATE;
afterEach(() => {
  if (saved === undefined) delete process.env.JUMPGATE_NO_GATE;
  else process.env.JUMPGATE_NO_GATE = saved;
});

describe("lightTransferArgs", () => {
  it("parses cp, push and pull with the commands' parsers", async () => {
    delete process.env.JUMPGATE_NO_GATE;
    const cp = await lightTransferArgs("cp", ["-rq", "-F", "cfg", "a", "h:b"]);
    expect(cp).toMatchObject({
      command: "cp",
      args: { recursive: true, quiet: true, operands: ["a", "h:b"] },
    });
    const push = await lightTransferArgs("push", ["--exclude", "*.log", ".", "h:dir"]);
    expect(push).toMatchObject({ command: "push", args: { exclude: ["*.log"], operands: [".", "h:dir"] } });
    const pull = await lightTransferArgs("pull", ["--to-file", "x.tar", "h:dir"]);
    expect(pull).toMatchObject({ command: "pull", args: { toFile: "x.tar" } });
    // A -h anywhere goes to commander too (it would pass it through; caution costs nothing).
    expect(await lightTransferArgs("cp", ["a", "-h"])).toBeNull();
  });

  it.each([
    [["--help"]],
    [["-h", "a", "h:b"]],
    [["-hr", "a", "h:b"]],
    [["--", "a", "h:b"]],
    [["a", "h:b", "--help"]],
  ])("leaves help and a leading -- to commander: %j", async (args) => {
    delete process.env.JUMPGATE_NO_GATE;
    expect(await lightTransferArgs("cp", args)).toBeNull();
    expect(await lightTransferArgs("push", args)).toBeNull();
  });

  it("leaves usage errors to commander's path (it prints them as always)", async () => {
    delete process.env.JUMPGATE_NO_GATE;
    expect(await lightTransferArgs("cp", ["only-one"])).toBeNull();
    expect(await lightTransferArgs("cp", ["-O", "a", "h:b"])).toBeNull();
    expect(await lightTransferArgs("push", ["--compress", "bzip9", ".", "h:x"])).toBeNull();
    expect(await lightTransferArgs("pull", [])).toBeNull();
  });

  it("-v and JUMPGATE_NO_GATE=1 connect directly", async () => {
    delete process.env.JUMPGATE_NO_GATE;
    expect(await lightTransferArgs("cp", ["-v", "a", "h:b"])).toBeNull();
    expect(await lightTransferArgs("pull", ["-vv", "h:x", "y"])).toBeNull();
    expect(await lightTransferArgs("cp", ["a", "h:b"])).not.toBeNull();
    process.env.JUMPGATE_NO_GATE = "1";
    expect(await lightTransferArgs("cp", ["a", "h:b"])).toBeNull();
  });
});
