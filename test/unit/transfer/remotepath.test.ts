import { describe, expect, it } from "vitest";
import { hostColon, parseOperand, prepareRemotePath } from "../../../src/transfer/remotepath.js";
import { jumpgateErrorOf } from "../../support/errors.js";

describe("parseOperand (scp's syntax)", () => {
  it.each([
    ["host:path", { user: null, host: "host", port: null, path: "path" }],
    ["host:", { user: null, host: "host", port: null, path: "." }],
    ["alice@host:/etc/motd", { user: "alice", host: "host", port: null, path: "/etc/motd" }],
    ["a@b@host:x", { user: "a@b", host: "host", port: null, path: "x" }],
    ["@host:x", { user: null, host: "host", port: null, path: "x" }],
    ["[::1]:/tmp/x", { user: null, host: "::1", port: null, path: "/tmp/x" }],
    ["bob@[fe80::1]:dir/f", { user: "bob", host: "fe80::1", port: null, path: "dir/f" }],
    ["host:a:b", { user: null, host: "host", port: null, path: "a:b" }],
    ["scp://alice@host:2222/rel/f", { user: "alice", host: "host", port: 2222, path: "rel/f" }],
    ["scp://host//etc/motd", { user: null, host: "host", port: null, path: "/etc/motd" }],
    ["scp://host", { user: null, host: "host", port: null, path: "." }],
    ["ssh://bob@[::1]:22/a%20b", { user: "bob", host: "::1", port: 22, path: "a b" }],
    ["scp://al%69ce;fp=x@host/f", { user: "alice", host: "host", port: null, path: "f" }],
  ])("%s is remote", (text, want) => {
    expect(parseOperand(text)).toEqual({ kind: "remote", text, ...want });
  });

  it.each(["file", "./a:b", "/abs/a:b", ":leading", "dir/host:x", "[::1", "[::1]x:y", "-"])(
    "%s is local",
    (text) => {
      expect(parseOperand(text)).toEqual({ kind: "local", path: text, text });
    },
  );

  it.each([
    ["user@:x", "host name is empty"],
    ["scp://@host/x", "empty user"],
    ["scp://host:0/x", "bad port"],
    ["scp://host:99999/x", "bad port"],
    ["scp://host:2x/x", "bad port"],
    ["scp:///x", "host name is empty"],
    ["scp://[::1/x", "unclosed"],
    ["scp://host/%zz", "bad %-escape"],
    ["scp://host/a%00b", "%00"],
    ["-oProxyCommand=x:y", "cannot start with '-'"],
    ["h;rm -rf x:y", "not a valid host name"],
    ["we`ird@host:x", "not a valid user name"],
    ["", "empty operand"],
  ])("%s is refused with JG_CP_PATH (%s)", (text, why) => {
    const error = jumpgateErrorOf(() => parseOperand(text));
    expect(error.code).toBe("JG_CP_PATH");
    expect(error.message).toContain(why);
    expect(error.exitCode).toBe(2);
  });

  it("colon() finds the host's colon only before the first slash", () => {
    expect(hostColon("a/b:c")).toBe(-1);
    expect(hostColon("a:b/c")).toBe(1);
    expect(hostColon("[::1]:x")).toBe(5);
    expect(hostColon("u@[::1]:x")).toBe(7);
  });
});

describe("prepareRemotePath (scp's prepare_remote_path)", () => {
  it.each([
    ["", "."],
    ["~", "."],
    ["~/", "."],
    ["~//", "."],
    ["~/a/b", "a/b"],
    ["~//a", "a"],
    ["rel", "rel"],
    ["/abs", "/abs"],
  ])("%s -> %s", (input, want) => {
    expect(prepareRemotePath(input)).toEqual({ path: want });
  });
  it("~user needs the server's expand-path", () => {
    expect(prepareRemotePath("~bob/x")).toEqual({ expand: "~bob/x" });
  });
});
