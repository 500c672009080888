/** The remote commands push and pull send, how a remote failure is read, and the CLI arguments. */
import { describe, expect, it } from "vitest";
import { parseSize, parseTarArgs } from "../../../src/cli/tar/args.js";
import type { JumpgateError } from "../../../src/errors.js";
import { pullCommand, pushCommand, remoteFailure } from "../../../src/transfer/remote-tar.js";
import { jumpgateErrorOf } from "../../support/errors.js";

describe("remote commands", () => {
  it("push: mkdir -p then tar -x, the directory quoted", () => {
    expect(pushCommand({ dir: "src/app", compress: "none" })).toBe(
      "mkdir -p -- src/app && exec tar -x -p -o -f - -C src/app",
    );
    expect(pushCommand({ dir: "a b'c", compress: "gzip", tar: "gtar" })).toBe(
      "mkdir -p -- 'a b'\\''c' && exec gtar -x -p -o -z -f - -C 'a b'\\''c'",
    );
    expect(pushCommand({ dir: "", compress: "none" })).toContain("-C .");
  });

  it("pull: tar -c of the directory's contents", () => {
    expect(pullCommand({ dir: "/srv/$(x)", compress: "none" })).toBe("exec tar -c -f - -C '/srv/$(x)' .");
    expect(pullCommand({ dir: "~/logs", compress: "gzip" })).toBe("exec tar -c -z -f - -C ~/logs .");
  });
});

describe("remoteFailure", () => {
  const fail = (code: number, stderr: string, what: "push" | "pull" = "push") =>
    remoteFailure("h", { code, signal: null, stderr }, "CONTEXT.", what);

  it("reads success, a missing tar, a full disk, permissions, a missing directory", () => {
    expect(fail(0, "")).toBeUndefined();
    expect(fail(127, "sh: 1: tar: not found")?.code).toBe("JG_TAR_NO_REMOTE_TAR");
    expect(fail(2, "tar: x: Cannot write: No space left on device")?.code).toBe("JG_TAR_NO_SPACE");
    expect(fail(2, "tar: x: Cannot open: Permission denied")?.code).toBe("JG_TAR_PERMISSION");
    expect(fail(2, "tar: /x: Cannot open: No such file or directory", "pull")?.code).toBe("JG_TAR_SOURCE");
    expect(fail(2, "tar: something else")?.code).toBe("JG_TAR_REMOTE_FAILED");
  });

  it("keeps the context and an excerpt of what the remote said", () => {
    const e = fail(2, `${"tar: line\n".repeat(10)}`) as JumpgateError;
    expect(e.message).toMatch(/CONTEXT\./);
    expect(e.message).toMatch(/remote said: tar: line/);
    expect(e.message).toMatch(/4 more lines/);
  });
});

describe("parseTarArgs", () => {
  it("takes ssh-style short options and the long ones, in any order", () => {
    const a = parseTarArgs("push", [
      "-F",
      "cfg",
      "--exclude",
      "*.log",
      "dir",
      "--exclude=node_modules/",
      "-J",
      "jaguar",
      "--gitignore",
      "-q",
      "--compress",
      "gzip",
      "host:dst",
    ]);
    expect(a.operands).toEqual(["dir", "host:dst"]);
    expect(a.exclude).toEqual(["*.log", "node_modules/"]);
    expect(a.gitignore).toBe(true);
    expect(a.compress).toBe("gzip");
    expect(a.quiet).toBe(true);
    expect(a.configFile).toBe("cfg");
    expect(a.items).toEqual([{ kind: "jump", value: "jaguar" }]);
  });

  it("pull --to-file takes only the remote operand; limits parse", () => {
    const a = parseTarArgs("pull", ["--to-file", "x.tar.gz", "--max-size", "2G", "--max-files", "10", "h:d"]);
    expect(a.toFile).toBe("x.tar.gz");
    expect(a.maxSize).toBe(2 * 1024 ** 3);
    expect(a.maxFiles).toBe(10);
    expect(parseSize("500M")).toBe(500 * 1024 ** 2);
    expect(parseSize("12x")).toBeUndefined();
  });

  it("refuses what it does not know, with JG_USAGE", () => {
    expect(jumpgateErrorOf(() => parseTarArgs("push", ["--delete", "a", "h:b"])).code).toBe("JG_USAGE");
    expect(jumpgateErrorOf(() => parseTarArgs("push", ["a"])).message).toMatch(/needs a local directory/);
    expect(jumpgateErrorOf(() => parseTarArgs("pull", ["--gitignore", "h:a", "b"])).code).toBe("JG_USAGE");
    expect(jumpgateErrorOf(() => parseTarArgs("push", ["--compress", "xz", "a", "h:b"])).message).toMatch(
      /gzip, zstd or none/,
    );
    expect(jumpgateErrorOf(() => parseTarArgs("pull", ["--to-file", "f", "h:a", "b"])).message).toMatch(
      /give no local directory/,
    );
  });
});
