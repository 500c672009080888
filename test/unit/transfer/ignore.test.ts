/** gitignore(5) rules as push applies them to --exclude and .gitignore files. */
import { describe, expect, it } from "vitest";
import { isIgnored, parseIgnore, type RuleSet } from "../../../src/transfer/ignore.js";

const root = (text: string): RuleSet[] => [{ base: "", rules: parseIgnore(text) }];
const ig = (text: string, path: string, dir = false) => isIgnored(root(text), path, dir);

describe("gitignore matching", () => {
  it("a name without a slash matches at any depth", () => {
    expect(ig("*.log", "a.log")).toBe(true);
    expect(ig("*.log", "deep/er/a.log")).toBe(true);
    expect(ig("*.log", "a.logx")).toBe(false);
    expect(ig("node_modules", "x/node_modules", true)).toBe(true);
  });

  it("a leading or middle slash anchors the pattern", () => {
    expect(ig("/top.txt", "top.txt")).toBe(true);
    expect(ig("/top.txt", "sub/top.txt")).toBe(false);
    expect(ig("doc/*.md", "doc/a.md")).toBe(true);
    expect(ig("doc/*.md", "x/doc/a.md")).toBe(false);
  });

  it("a trailing slash matches directories only", () => {
    expect(ig("build/", "build", true)).toBe(true);
    expect(ig("build/", "build", false)).toBe(false);
  });

  it("* and ? never cross '/', ** does in its three forms", () => {
    expect(ig("a/*", "a/b/c")).toBe(false);
    expect(ig("a/?", "a/b")).toBe(true);
    expect(ig("**/cache", "x/y/cache")).toBe(true);
    expect(ig("**/cache", "cache")).toBe(true);
    expect(ig("logs/**", "logs/a/b.txt")).toBe(true);
    expect(ig("logs/**", "logs", true)).toBe(false);
    expect(ig("a/**/b", "a/b")).toBe(true);
    expect(ig("a/**/b", "a/x/y/b")).toBe(true);
  });

  it("character classes, negated classes and escapes", () => {
    expect(ig("file[0-9].txt", "file7.txt")).toBe(true);
    expect(ig("file[!0-9].txt", "file7.txt")).toBe(false);
    expect(ig("file[!0-9].txt", "filex.txt")).toBe(true);
    expect(ig("\\#notcomment", "#notcomment")).toBe(true);
    expect(ig("\\!bang", "!bang")).toBe(true);
    expect(ig("a\\*b", "a*b")).toBe(true);
    expect(ig("a\\*b", "axb")).toBe(false);
  });

  it("comments and blank lines are skipped; trailing spaces dropped unless escaped", () => {
    expect(parseIgnore("# c\n\n   \n").length).toBe(0);
    expect(ig("a.txt   ", "a.txt")).toBe(true);
    expect(ig("a\\ ", "a ")).toBe(true);
  });

  it("the last matching rule wins; ! re-includes", () => {
    expect(ig("*.log\n!keep.log", "keep.log")).toBe(false);
    expect(ig("!keep.log\n*.log", "keep.log")).toBe(true);
  });

  it("a deeper .gitignore applies below its directory only, after its parents", () => {
    const sets: RuleSet[] = [
      { base: "", rules: parseIgnore("*.tmp") },
      { base: "sub", rules: parseIgnore("!x.tmp\nsecret") },
    ];
    expect(isIgnored(sets, "sub/x.tmp", false)).toBe(false);
    expect(isIgnored(sets, "x.tmp", false)).toBe(true);
    expect(isIgnored(sets, "sub/secret", false)).toBe(true);
    expect(isIgnored(sets, "secret", false)).toBe(false);
    expect(isIgnored(sets, "subway/secret", false)).toBe(false);
  });
});
