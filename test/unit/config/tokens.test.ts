import { describe, expect, it } from "vitest";
import { expandTilde, expandTokens, type HomeLookup } from "../../../src/config/tokens.js";

const tokens = { h: "jaguar", p: "2222", r: "alice", u: "u", d: "/home/u" };

describe("expandTokens (misc.c vdollar_percent_expand)", () => {
  it("replaces %x from the token map", () => {
    expect(expandTokens("~/.ssh/cm-%r@%h:%p", tokens, null)).toEqual({
      ok: true,
      value: "~/.ssh/cm-alice@jaguar:2222",
    });
    expect(expandTokens("%h%h", tokens, null)).toEqual({ ok: true, value: "jaguarjaguar" });
  });

  it("'%%' is a literal percent", () => {
    expect(expandTokens("100%%", tokens, null)).toEqual({ ok: true, value: "100%" });
    expect(expandTokens("%%h", tokens, null)).toEqual({ ok: true, value: "%h" });
    expect(expandTokens("%%%h", tokens, null)).toEqual({ ok: true, value: "%jaguar" });
  });

  it("an unknown key is an error naming it", () => {
    const r = expandTokens("/tmp/%Z", tokens, null);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain("%Z");
  });

  it("a '%' at the end of the string is an error", () => {
    expect(expandTokens("abc%", tokens, null).ok).toBe(false);
    expect(expandTokens("%", tokens, null).ok).toBe(false);
  });

  it("without a token map '%' is literal", () => {
    expect(expandTokens("%h %Z %", null, null)).toEqual({ ok: true, value: "%h %Z %" });
  });

  it(`replaces \${VAR} from the environment when one is given`, () => {
    const env = { HOME: "/home/u", SOCK: "/run/agent" };
    expect(expandTokens(`\${HOME}/x`, null, env)).toEqual({ ok: true, value: "/home/u/x" });
    expect(expandTokens(`\${SOCK}-%h`, tokens, env)).toEqual({ ok: true, value: "/run/agent-jaguar" });
    // Only ${...} is special: a bare $NAME stays.
    expect(expandTokens("$HOME", null, env)).toEqual({ ok: true, value: "$HOME" });
    // Without an environment, ${...} is literal.
    expect(expandTokens(`\${HOME}`, null, null)).toEqual({ ok: true, value: `\${HOME}` });
  });

  it("an unset variable, a missing '}' and an empty name are errors", () => {
    const unset = expandTokens(`\${NOPE}/x`, null, {});
    expect(unset.ok).toBe(false);
    if (!unset.ok) expect(unset.reason).toContain("NOPE");
    expect(expandTokens(`\${HOME`, null, { HOME: "/h" }).ok).toBe(false);
    expect(expandTokens(`\${}`, null, {}).ok).toBe(false);
  });

  it("a variable's value is not expanded again", () => {
    expect(expandTokens(`\${V}`, tokens, { V: `%h \${W}` })).toEqual({ ok: true, value: `%h \${W}` });
  });
});

describe("expandTilde (misc.c tilde_expand)", () => {
  const homes: HomeLookup = {
    ownHome: "/home/u",
    homeOf: (user) => ({ alice: "/home/alice", root: "/root", slash: "/" })[user] ?? null,
  };

  it("leaves paths without a leading '~' alone", () => {
    expect(expandTilde("/etc/ssh/x", homes)).toBe("/etc/ssh/x");
    expect(expandTilde("rel/~x", homes)).toBe("rel/~x");
    expect(expandTilde("", homes)).toBe("");
  });

  it("'~' and '~/' are the own home with a trailing slash", () => {
    expect(expandTilde("~", homes)).toBe("/home/u/");
    expect(expandTilde("~/", homes)).toBe("/home/u/");
  });

  it("'~/x' joins with one slash", () => {
    expect(expandTilde("~/.ssh/config", homes)).toBe("/home/u/.ssh/config");
    expect(expandTilde("~//.ssh//config", homes)).toBe("/home/u/.ssh//config");
  });

  it("'~user' and '~user/x' use that user's home", () => {
    expect(expandTilde("~alice/.ssh/id", homes)).toBe("/home/alice/.ssh/id");
    expect(expandTilde("~alice", homes)).toBe("/home/alice/");
    expect(expandTilde("~alice/", homes)).toBe("/home/alice/");
    expect(expandTilde("~slash/x", homes)).toBe("/x");
  });

  it("an unknown user is null", () => {
    expect(expandTilde("~nobody/x", homes)).toBeNull();
    expect(expandTilde("~nobody", homes)).toBeNull();
  });

  it("uses the own home even when it ends in a slash", () => {
    expect(expandTilde("~/x", { ownHome: "/", homeOf: () => null })).toBe("/x");
  });
});
