import { describe, expect, it } from "vitest";
import { runBuiltin, splitWords } from "../../../src/demo/commands.js";

const ctx = { hostname: "jaguar", user: "demo" };

describe("splitWords", () => {
  it.each([
    ["", []],
    ["   ", []],
    ["echo a b", ["echo", "a", "b"]],
    ["echo  a\tb ", ["echo", "a", "b"]],
    ["echo 'a  b'", ["echo", "a  b"]],
    ['echo "a  b" c', ["echo", "a  b", "c"]],
    ["echo ''", ["echo", ""]],
    ['echo "say \\"hi\\""', ["echo", 'say "hi"']],
    ["echo 'no \\escape'", ["echo", "no \\escape"]],
    ["echo a\\ b", ["echo", "a b"]],
    ["echo x'y'\"z\"", ["echo", "xyz"]],
    ["echo $HOME `id` *", ["echo", "$HOME", "`id`", "*"]],
  ])("%j -> %j", (line, words) => {
    expect(splitWords(line)).toEqual(words);
  });

  it("returns null for an unterminated quote", () => {
    expect(splitWords("echo 'oops")).toBeNull();
    expect(splitWords('echo "oops')).toBeNull();
  });
});

describe("runBuiltin", () => {
  it("knows hostname, whoami, echo, true", () => {
    expect(runBuiltin("hostname", ctx)).toEqual({
      stdout: "jaguar\n",
      stderr: "",
      exitCode: 0,
      exits: false,
    });
    expect(runBuiltin("whoami", ctx).stdout).toBe("demo\n");
    expect(runBuiltin("echo hello   world", ctx).stdout).toBe("hello world\n");
    expect(runBuiltin("echo", ctx).stdout).toBe("\n");
    expect(runBuiltin("echo -n x", ctx).stdout).toBe("x");
    expect(runBuiltin("true", ctx)).toMatchObject({ stdout: "", exitCode: 0 });
    expect(runBuiltin("", ctx)).toMatchObject({ stdout: "", exitCode: 0, exits: false });
  });

  it("refuses to set the host name", () => {
    expect(runBuiltin("hostname evil", ctx)).toMatchObject({ stdout: "", exitCode: 1 });
  });

  it.each([
    ["exit", 0],
    ["exit 0", 0],
    ["exit 7", 7],
    ["exit 256", 0],
    ["exit 257", 1],
    ["exit -1", 255],
    ["exit 99999999999999999999999", Number(99999999999999999999999n % 256n)],
  ])("%j -> status %i and the shell ends", (line, code) => {
    expect(runBuiltin(line, ctx)).toMatchObject({ exitCode: code, exits: true, stderr: "" });
  });

  it("exit with a non-number is status 2 (and still exits, like sh)", () => {
    expect(runBuiltin("exit x", ctx)).toMatchObject({ exitCode: 2, exits: true });
    expect(runBuiltin("exit x", ctx).stderr).toContain("numeric argument required");
    expect(runBuiltin("exit 1 2", ctx)).toMatchObject({ exitCode: 1, exits: false });
  });

  it("anything else is 'command not found' (127) and runs nothing: there is no shell syntax", () => {
    for (const line of ["ls", "rm -rf /", "sh -c id", "hostname; id", "/bin/true"]) {
      const r = runBuiltin(line, ctx);
      expect(r).toMatchObject({ stdout: "", exitCode: 127, exits: false });
      expect(r.stderr).toMatch(/command not found/);
    }
    // `true` ignores its arguments, as true(1) does; "&&" is just one more argument.
    expect(runBuiltin("true && id", ctx)).toMatchObject({ stdout: "", stderr: "", exitCode: 0 });
  });

  it("an unterminated quote is a syntax error, status 2", () => {
    expect(runBuiltin("echo 'x", ctx)).toMatchObject({ stdout: "", exitCode: 2 });
  });
});
