/** shellQuote: what a POSIX shell reads back is exactly the input (checked with a real /bin/sh). */
import { spawnSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { shellQuote, shellQuotePath } from "../../../src/util/shellquote.js";

/** What `sh -c 'printf %s WORD'` prints for a quoted word. */
function roundTrip(word: string): string {
  return spawnSync("/bin/sh", ["-c", `printf %s ${word}`], { encoding: "utf8", env: { HOME: "/home/h" } })
    .stdout;
}

describe("shellQuote", () => {
  it("leaves plain words alone and single-quotes the rest", () => {
    expect(shellQuote("abc/d-e_f.txt")).toBe("abc/d-e_f.txt");
    expect(shellQuote("a b")).toBe("'a b'");
    expect(shellQuote("")).toBe("''");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
  });

  it("survives a real shell unchanged: $, `, \\, ;, quotes, globs, newlines", () => {
    for (const s of ["$(touch /tmp/x)", "`id`", "a\\b", "a;b", '"\'"', "*", "~", "a\nb", "-n"]) {
      expect(roundTrip(shellQuote(s))).toBe(s);
    }
  });

  it("refuses NUL", () => {
    expect(() => shellQuote("a\0b")).toThrow(RangeError);
  });

  it("fuzz: any string without NUL reads back as itself", () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 30 }).filter((s) => !s.includes("\0")),
        (s) => {
          expect(roundTrip(shellQuote(s))).toBe(s);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("shellQuotePath", () => {
  it("keeps ~/ as the home, quotes the rest, guards a leading '-'", () => {
    expect(shellQuotePath("~/a b")).toBe("~/'a b'");
    expect(roundTrip(shellQuotePath("~/a b"))).toBe("/home/h/a b");
    expect(roundTrip(shellQuotePath("~"))).toBe("/home/h");
    expect(shellQuotePath("-rf")).toBe("./-rf");
    expect(roundTrip(shellQuotePath("~user/x"))).toBe("~user/x");
  });
});
