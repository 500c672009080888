import { describe, expect, it } from "vitest";
import {
  compileComponent,
  expandGlob,
  hasGlob,
  matchComponent,
  unquote,
} from "../../../src/transfer/glob.js";

describe("glob components", () => {
  it("finds unquoted glob syntax only", () => {
    expect(hasGlob("*.log")).toBe(true);
    expect(hasGlob("a?")).toBe(true);
    expect(hasGlob("[ab]")).toBe(true);
    expect(hasGlob("plain")).toBe(false);
    expect(hasGlob("a\\*b")).toBe(false);
    expect(unquote("a\\*b")).toBe("a*b");
  });
  it.each([
    ["*.log", "a.log", true],
    ["*.log", "a.txt", false],
    ["*.log", ".h.log", false],
    [".*.log", ".h.log", true],
    ["?", "x", true],
    ["?", "xy", false],
    ["[ab]c", "bc", true],
    ["[!ab]c", "bc", false],
    ["[!ab]c", "zc", true],
    ["[a-c]", "b", true],
    ["[a-c]", "d", false],
    ["[]]", "]", true],
    ["a\\*", "a*", true],
    ["a\\*", "ab", false],
    ["[unclosed", "[unclosed", true],
    ["f(1).txt", "f(1).txt", true],
    ["ü*", "über", true],
  ])("%s vs %s -> %s", (pattern, name, want) => {
    expect(matchComponent(pattern, name)).toBe(want);
  });
  it("never matches across '/'", () => {
    expect(compileComponent("*").test("a/b")).toBe(false);
    expect(compileComponent("[!.]*").test("/..")).toBe(false);
    expect(compileComponent("[^x]").test("/")).toBe(false);
  });
});

describe("expandGlob over listings", () => {
  const tree: Record<string, string[]> = {
    ".": ["logs", "data", "x.txt"],
    logs: ["b.log", "a.log", ".hidden.log", "c.txt"],
    data: ["2024", "2025"],
    "data/2024": ["one.csv"],
    "data/2025": ["two.csv", "three.json"],
    "/abs": ["z1", "z2"],
  };
  const list = async (dir: string) => {
    const names = tree[dir];
    if (!names) throw new Error("not a directory");
    return names.map((name) => ({ name }));
  };
  it("expands the last component, sorted", async () => {
    expect(await expandGlob("logs/*.log", { list })).toEqual([
      { path: "logs/a.log" },
      { path: "logs/b.log" },
    ]);
  });
  it("expands middle components and drops non-directories", async () => {
    expect(await expandGlob("data/*/*.csv", { list })).toEqual([
      { path: "data/2024/one.csv" },
      { path: "data/2025/two.csv" },
    ]);
    const exists = async (p: string) => {
      const slash = p.lastIndexOf("/");
      return tree[p.slice(0, slash)]?.includes(p.slice(slash + 1)) ?? false;
    };
    expect(await expandGlob("*/a.log", { list, exists })).toEqual([{ path: "logs/a.log" }]);
  });
  it("absolute patterns stay absolute", async () => {
    expect(await expandGlob("/abs/z?", { list })).toEqual([{ path: "/abs/z1" }, { path: "/abs/z2" }]);
  });
  it("no match gives nothing; no glob gives the unquoted path without listing", async () => {
    expect(await expandGlob("logs/*.nope", { list })).toEqual([]);
    expect(await expandGlob("no\\*glob", { list: () => Promise.reject(new Error("listed")) })).toEqual([
      { path: "no*glob" },
    ]);
  });
  it("listed names that are not one plain component never match, whatever the pattern", async () => {
    const hostile = async () => ["app", "/..", "..", ".", "a/b", "", "n\0ul"].map((name) => ({ name }));
    expect(await expandGlob("logs/*", { list: hostile })).toEqual([{ path: "logs/app" }]);
    expect(await expandGlob("logs/[!.]*", { list: hostile })).toEqual([{ path: "logs/app" }]);
    expect(await expandGlob("logs/.*", { list: hostile })).toEqual([]);
  });
  it("a runaway pattern is stopped with JG_CP_GLOB", async () => {
    await expect(expandGlob("logs/*", { list, maxMatches: 1 })).rejects.toMatchObject({ code: "JG_CP_GLOB" });
  });
});
