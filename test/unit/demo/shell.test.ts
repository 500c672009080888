import { describe, expect, it } from "vitest";
import { FakeShell, ttyText } from "../../../src/demo/shell.js";

function harness(tty: boolean) {
  const out = { stdout: "", stderr: "", exits: [] as number[] };
  const shell = new FakeShell(
    { hostname: "mcgonagall", user: "demo" },
    {
      stdout: (t) => {
        out.stdout += t;
      },
      stderr: (t) => {
        out.stderr += t;
      },
      exit: (code) => out.exits.push(code),
    },
    tty,
  );
  shell.start();
  return { shell, out };
}

const PROMPT = "demo@mcgonagall:~$ ";

describe("FakeShell with a pty", () => {
  it("greets, prompts, echoes keystrokes and answers with CRLF line ends", () => {
    const { shell, out } = harness(true);
    expect(out.stdout).toMatch(/^jumpgate demo host mcgonagall: .*\r\n.*\r\ndemo@mcgonagall:~\$ $/);
    out.stdout = "";
    shell.feed("hostname\r");
    expect(out.stdout).toBe(`hostname\r\nmcgonagall\r\n${PROMPT}`);
    expect(out.exits).toEqual([]);
  });

  it("treats CR LF as one Enter and accepts a bare LF too", () => {
    const { shell, out } = harness(true);
    out.stdout = "";
    shell.feed("true\r\ntrue\n");
    expect(out.stdout).toBe(`true\r\n${PROMPT}true\r\n${PROMPT}`);
  });

  it("handles backspace, Ctrl-C and escape sequences", () => {
    const { shell, out } = harness(true);
    out.stdout = "";
    shell.feed("whoamx\x7fi\x1b[A\x1bOB\r");
    expect(out.stdout).toBe(`whoamx\b \bi\r\ndemo\r\n${PROMPT}`);
    out.stdout = "";
    shell.feed("echo never\x03");
    expect(out.stdout).toBe(`echo never^C\r\n${PROMPT}`);
    shell.feed("\x04");
    expect(out.exits).toEqual([130]);
  });

  it("shows stderr on the terminal and ends on exit N", () => {
    const { shell, out } = harness(true);
    out.stdout = "";
    shell.feed("nope\rexit 9\rhostname\r");
    expect(out.stdout).toContain("nope: command not found");
    expect(out.stdout).toContain("\r\nlogout\r\n");
    expect(out.stdout).not.toContain("mcgonagall\r\n");
    expect(out.stderr).toBe("");
    expect(out.exits).toEqual([9]);
    shell.end();
    expect(out.exits).toEqual([9]);
  });

  it("Ctrl-D mid-line is ignored; at an empty prompt it logs out with the last status", () => {
    const { shell, out } = harness(true);
    shell.feed("ex\x04");
    expect(out.exits).toEqual([]);
    shell.feed("\x7f\x7f\x04");
    expect(out.exits).toEqual([0]);
  });
});

describe("FakeShell without a pty (a script on stdin)", () => {
  it("prints no greeting, prompt or echo, and keeps stderr apart", () => {
    const { shell, out } = harness(false);
    shell.feed("hostname\r\nwhoami\nnope\n");
    expect(out.stdout).toBe("mcgonagall\ndemo\n");
    expect(out.stderr).toMatch(/^demo: nope: command not found/);
    shell.end();
    expect(out.exits).toEqual([127]);
  });

  it("runs a last line without newline at EOF", () => {
    const { shell, out } = harness(false);
    shell.feed("echo last");
    shell.end();
    expect(out.stdout).toBe("last\n");
    expect(out.exits).toEqual([0]);
  });
});

describe("ttyText", () => {
  it("turns LF into CRLF without doubling existing CRLF", () => {
    expect(ttyText("a\nb\r\nc")).toBe("a\r\nb\r\nc");
  });
});
