/**
 * The built CLI as a user runs it: help and version, and how failures look (stable code, message,
 * exit status). Runs bin/jumpgate.js in a child process, like a shell would.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { useTempDirs } from "../support/tmp.js";

const tempDir = useTempDirs();

const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const bin = join(repo, "bin/jumpgate.js");

function jumpgate(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: repo, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("jumpgate CLI", () => {
  it("prints the package version", () => {
    const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { version: string };
    const r = jumpgate("--version");
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it("lists its commands with examples in --help", () => {
    const r = jumpgate("--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/config/);
    expect(r.stdout).toMatch(/demo/);
    expect(r.stdout).toMatch(/Examples:/);
  });

  it("documents config with ssh's options and an example", () => {
    const r = jumpgate("config", "--help");
    expect(r.code).toBe(0);
    for (const option of ["-F file", "-J jumps", "-o Keyword=value", "--json", "--route", "Examples:"]) {
      expect(r.stdout).toContain(option);
    }
  });

  it("refuses an unknown option with JG_USAGE and exit 2", () => {
    const r = jumpgate("config", "-Z", "host");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^jumpgate: JG_USAGE: unknown option -- Z/);
  });

  it("names the file and line of a bad keyword, exits 255, prints no stack", () => {
    const dir = tempDir("jg-cli-");
    const config = join(dir, "config");
    writeFileSync(config, "Host jaguar\n  HostName 127.0.0.1\n  Prot 2201\n");
    const r = jumpgate("config", "-F", config, "jaguar");
    expect(r.code).toBe(255);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      `jumpgate: JG_CONFIG_UNKNOWN_KEYWORD: ${config} line 3: Bad configuration option: prot. Check the spelling (see ssh_config(5)), or list it in IgnoreUnknown before this line.\n`,
    );
  });

  it("reports a malformed forward with JG_FORWARD_SPEC", () => {
    const r = jumpgate("config", "-F", "none", "-L", "1111", "jaguar");
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/^jumpgate: JG_FORWARD_SPEC: Bad local forwarding specification '1111'/);
  });

  it("reports a jump loop in --route instead of hanging", () => {
    const dir = tempDir("jg-cli-");
    const config = join(dir, "config");
    writeFileSync(config, "Host a\n  ProxyJump b\nHost b\n  ProxyJump a\n");
    const r = jumpgate("config", "-F", config, "--route", "a");
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/^jumpgate: JG_JUMP_LOOP: /);
  });

  it("survives a reader that closes the pipe early", () => {
    const r = spawnSync("sh", ["-c", `"${process.execPath}" "${bin}" config -F none jaguar | head -1`], {
      encoding: "utf8",
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("host jaguar\n");
    expect(r.stderr).not.toMatch(/EPIPE|Error/);
  });
});
