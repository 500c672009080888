import { describe, expect, it } from "vitest";
import { filterList, matchHostname, matchPattern, matchPatternList } from "../../../src/util/patterns.js";

describe("matchPattern (match.c match_pattern)", () => {
  it.each([
    ["jaguar", "jaguar", true],
    ["jaguar", "jaguar2", false],
    ["jaguar2", "jaguar", false],
    ["", "", true],
    ["a", "", false],
    ["", "a", false],
  ])("literal %j against %j -> %s", (subject, pattern, expected) => {
    expect(matchPattern(subject, pattern)).toBe(expected);
  });

  it("'*' matches any run, including the empty one", () => {
    expect(matchPattern("", "*")).toBe(true);
    expect(matchPattern("anything.at.all", "*")).toBe(true);
    expect(matchPattern("db1.internal", "*.internal")).toBe(true);
    expect(matchPattern(".internal", "*.internal")).toBe(true);
    expect(matchPattern("db1.internal.example", "*.internal")).toBe(false);
    expect(matchPattern("db1", "db*")).toBe(true);
    expect(matchPattern("db", "db*")).toBe(true);
    expect(matchPattern("d", "db*")).toBe(false);
    expect(matchPattern("abc", "***")).toBe(true);
    expect(matchPattern("", "**")).toBe(true);
  });

  it("'?' matches exactly one character", () => {
    expect(matchPattern("web1", "web?")).toBe(true);
    expect(matchPattern("web", "web?")).toBe(false);
    expect(matchPattern("web12", "web?")).toBe(false);
    expect(matchPattern("", "?")).toBe(false);
    expect(matchPattern("ab", "??")).toBe(true);
    expect(matchPattern("abc", "*?")).toBe(true);
    expect(matchPattern("", "*?")).toBe(false);
  });

  it("is case sensitive and has no character classes", () => {
    expect(matchPattern("Jaguar", "jaguar")).toBe(false);
    expect(matchPattern("a", "[a]")).toBe(false);
    expect(matchPattern("[a]", "[a]")).toBe(true);
    expect(matchPattern("a.b", "a?b")).toBe(true);
    expect(matchPattern("axb", "a.b")).toBe(false);
  });

  it("backtracks over several stars", () => {
    expect(matchPattern("abcabcabd", "*abd")).toBe(true);
    expect(matchPattern("abcabcabc", "*abd")).toBe(false);
    expect(matchPattern("mississippi", "m*iss*ppi")).toBe(true);
    expect(matchPattern("mississippi", "m*iss*x*ppi")).toBe(false);
    expect(matchPattern("aaaaaaaaab", "*a*a*a*b")).toBe(true);
    expect(matchPattern("aaaaaaaaaa", "*a*a*a*b")).toBe(false);
    expect(matchPattern("a-b-c", "*-*-*")).toBe(true);
    expect(matchPattern("a-b", "*-*-*")).toBe(false);
  });

  it("stays fast on pathological inputs", () => {
    const subject = "a".repeat(5000);
    const started = Date.now();
    expect(matchPattern(subject, `${"*a".repeat(50)}b`)).toBe(false);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe("matchPatternList (match.c match_pattern_list)", () => {
  it("returns 1 when any sub-pattern matches", () => {
    expect(matchPatternList("jaguar", "mcgonagall,jag*")).toBe(1);
    expect(matchPatternList("jaguar", "mcgonagall,leopard")).toBe(0);
  });

  it("a matching negation wins regardless of its position", () => {
    expect(matchPatternList("jaguar", "*,!jaguar")).toBe(-1);
    expect(matchPatternList("jaguar", "!jaguar,*")).toBe(-1);
    expect(matchPatternList("leopard", "*,!jaguar")).toBe(1);
  });

  it("a list of only negations never matches positively", () => {
    expect(matchPatternList("leopard", "!jaguar")).toBe(0);
    expect(matchPatternList("jaguar", "!jaguar")).toBe(-1);
  });

  it("an empty list matches nothing, not even the empty string", () => {
    expect(matchPatternList("", "")).toBe(0);
    expect(matchPatternList("x", "")).toBe(0);
  });

  it("a trailing comma adds no empty sub-pattern", () => {
    expect(matchPatternList("", "a,")).toBe(0);
    expect(matchPatternList("a", "a,")).toBe(1);
    // A lone comma is one empty sub-pattern, which matches only the empty string.
    expect(matchPatternList("", ",")).toBe(1);
    expect(matchPatternList("x", ",")).toBe(0);
  });

  it("an empty sub-pattern in the middle matches only the empty string", () => {
    expect(matchPatternList("", "a,,b")).toBe(1);
    expect(matchPatternList("c", "a,,b")).toBe(0);
  });

  it("a lone '!' negates the empty pattern", () => {
    expect(matchPatternList("", "!")).toBe(-1);
    expect(matchPatternList("x", "!,x")).toBe(1);
  });

  it("lowercases the patterns only when asked", () => {
    expect(matchPatternList("jaguar", "JAGUAR")).toBe(0);
    expect(matchPatternList("jaguar", "JAGUAR", true)).toBe(1);
    // The subject is never lowercased here.
    expect(matchPatternList("JAGUAR", "jaguar", true)).toBe(0);
  });

  it("a sub-pattern of 1023 characters or more never matches", () => {
    const long = "a".repeat(1023);
    expect(matchPatternList(long, long)).toBe(0);
    const shorter = "a".repeat(1022);
    expect(matchPatternList(shorter, shorter)).toBe(1);
  });
});

describe("matchHostname", () => {
  it("compares host names case-insensitively on both sides", () => {
    expect(matchHostname("Jaguar.Example", "*.example")).toBe(1);
    expect(matchHostname("jaguar.example", "JAGUAR.*")).toBe(1);
    expect(matchHostname("JAGUAR", "!jaguar,*")).toBe(-1);
    expect(matchHostname("leopard", "jaguar")).toBe(0);
  });
});

describe("filterList (match_filter_allowlist / denylist)", () => {
  const proposal = "aes128-ctr,aes192-ctr,aes256-ctr,chacha20-poly1305@openssh.com";

  it("allow keeps matching names in proposal order", () => {
    expect(filterList(proposal, "aes256-ctr,aes128-*", "allow")).toBe("aes128-ctr,aes256-ctr");
    expect(filterList(proposal, "*", "allow")).toBe(proposal);
    expect(filterList(proposal, "nosuch", "allow")).toBe("");
  });

  it("deny removes matching names", () => {
    expect(filterList(proposal, "aes*", "deny")).toBe("chacha20-poly1305@openssh.com");
    expect(filterList(proposal, "nosuch", "deny")).toBe(proposal);
    expect(filterList(proposal, "*", "deny")).toBe("");
  });

  it("a negated filter entry keeps a name out of an allow list and in a deny list", () => {
    expect(filterList(proposal, "aes*,!aes192-ctr", "allow")).toBe("aes128-ctr,aes256-ctr");
    expect(filterList(proposal, "aes*,!aes192-ctr", "deny")).toBe("aes192-ctr,chacha20-poly1305@openssh.com");
  });
});
