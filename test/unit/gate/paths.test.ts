import { chmodSync, mkdirSync, symlinkSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkGateDir, ensureGateDir, gateDir } from "../../../src/gate/paths.js";
import { jumpgateErrorOf } from "../../support/errors.js";
import { useTempDirs } from "../../support/tmp.js";

const tempDir = useTempDirs();

describe("gate paths", () => {
  it("prefers $XDG_RUNTIME_DIR/jumpgate, else ~/.jumpgate", () => {
    expect(gateDir({ XDG_RUNTIME_DIR: "/run/user/1000" })).toBe("/run/user/1000/jumpgate");
    expect(gateDir({})).toBe(join(homedir(), ".jumpgate"));
    expect(gateDir({ XDG_RUNTIME_DIR: "relative" })).toBe(join(homedir(), ".jumpgate"));
  });

  it("creates the directory 0700 and refuses one open to others or a symlink", () => {
    const base = tempDir("jg-gate-paths-");
    const dir = join(base, "jumpgate");
    ensureGateDir(dir);
    expect(checkGateDir(dir)).toBe(true);
    const open = join(base, "open");
    mkdirSync(open);
    chmodSync(open, 0o711);
    const openError = jumpgateErrorOf(() => checkGateDir(open));
    expect(openError.code).toBe("JG_GATE_DIR_UNSAFE");
    expect(openError.message).toMatch(/mode 711/);
    const link = join(base, "link");
    symlinkSync(dir, link);
    const linkError = jumpgateErrorOf(() => checkGateDir(link));
    expect(linkError.code).toBe("JG_GATE_DIR_UNSAFE");
    expect(linkError.message).toMatch(/not a directory/);
    expect(checkGateDir(join(base, "missing"))).toBe(false);
  });
});
