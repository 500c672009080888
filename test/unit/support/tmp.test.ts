/** test/support/tmp.ts: dirs made through useTempDirs are gone once their suite is done. */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { removeTree, useTempDirs } from "../../support/tmp.js";

const made: string[] = [];

// Runs before the next describe: vitest runs sibling suites in order, each with its own afterAll.
describe("a suite that calls useTempDirs", () => {
  const tempDir = useTempDirs();

  it("makes private dirs under os.tmpdir() with the given prefix", () => {
    const dir = tempDir("jg-tmp-unit-");
    made.push(dir);
    expect(dir.startsWith(join(tmpdir(), "jg-tmp-unit-"))).toBe(true);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    // Something a careless test leaves behind: a locked-down subtree.
    mkdirSync(join(dir, "ro", "deeper"), { recursive: true });
    writeFileSync(join(dir, "ro", "deeper", "f"), "x");
    chmodSync(join(dir, "ro", "deeper"), 0o000);
    chmodSync(join(dir, "ro"), 0o500);
    made.push(tempDir("jg-tmp-unit-"));
    expect(made.every(existsSync)).toBe(true);
  });
});

describe("after that suite's afterAll", () => {
  it("has removed every dir it made, read-only ones included", () => {
    expect(made).toHaveLength(2);
    for (const dir of made) expect(existsSync(dir)).toBe(false);
  });
});

describe("removeTree", () => {
  it("removes a tree with unsearchable dirs, leaves a symlink's target alone, and ignores a missing path", () => {
    const outside = mkdtempSync(join(tmpdir(), "jg-tmp-unit-outside-"));
    const dir = mkdtempSync(join(tmpdir(), "jg-tmp-unit-tree-"));
    try {
      chmodSync(outside, 0o500);
      symlinkSync(outside, join(dir, "link"));
      mkdirSync(join(dir, "a", "b"), { recursive: true });
      chmodSync(join(dir, "a", "b"), 0o000);
      chmodSync(join(dir, "a"), 0o000);
      removeTree(dir);
      expect(existsSync(dir)).toBe(false);
      // Not followed: the link's target keeps its mode.
      expect(statSync(outside).mode & 0o777).toBe(0o500);
      expect(() => removeTree(dir)).not.toThrow();
    } finally {
      removeTree(outside);
      removeTree(dir);
    }
  });
});
