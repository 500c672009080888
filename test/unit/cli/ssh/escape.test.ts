import { describe, expect, it } from "vitest";
import { EscapeFilter, escapeHelp } from "../../../../src/cli/ssh/escape.js";

const TILDE = "~".charCodeAt(0);

function run(filter: EscapeFilter, text: string) {
  return filter
    .push(Buffer.from(text, "latin1"))
    .map((a) => (a.kind === "send" ? a.data.toString("latin1") : a.kind));
}

describe("EscapeFilter", () => {
  it("passes ordinary input through", () => {
    expect(run(new EscapeFilter(TILDE), "ls -la\r")).toEqual(["ls -la\r"]);
  });

  it("recognises ~. only at the start of a line", () => {
    const f = new EscapeFilter(TILDE);
    expect(run(f, "a~.")).toEqual(["a~."]);
    expect(run(f, "\r~.")).toEqual(["\r", "disconnect"]);
  });

  it("recognises an escape at the very start of the session", () => {
    expect(run(new EscapeFilter(TILDE), "~?")).toEqual(["help"]);
  });

  it("sends one ~ for ~~ and the pair for an unknown escape", () => {
    expect(run(new EscapeFilter(TILDE), "~~x")).toEqual(["~x"]);
    expect(run(new EscapeFilter(TILDE), "~z")).toEqual(["~z"]);
  });

  it("maps ~# and ~C", () => {
    const f = new EscapeFilter(TILDE);
    expect(run(f, "~#")).toEqual(["list-connections"]);
    expect(run(f, "\n~C")).toEqual(["\n", "command-line"]);
  });

  it("keeps state across chunks", () => {
    const f = new EscapeFilter(TILDE);
    expect(run(f, "echo\r")).toEqual(["echo\r"]);
    expect(run(f, "~")).toEqual([]);
    expect(run(f, ".")).toEqual(["disconnect"]);
  });

  it("stops at a disconnect: later bytes are not sent", () => {
    expect(run(new EscapeFilter(TILDE), "~.rm -rf\r")).toEqual(["disconnect"]);
  });

  it("honours another escape character and none", () => {
    expect(run(new EscapeFilter(1), "\x01.")).toEqual(["disconnect"]);
    expect(run(new EscapeFilter(null), "~.")).toEqual(["~."]);
  });

  it("lists ~C in the help only when the command line is enabled", () => {
    expect(escapeHelp("~", false)).not.toContain("~C");
    expect(escapeHelp("~", true)).toContain("~C   - open a command line");
    expect(escapeHelp("%", false)).toContain(" %.   - terminate connection");
  });
});
