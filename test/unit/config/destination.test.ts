import { describe, expect, it } from "vitest";
import {
  cleanHostname,
  parseJump,
  parseSshUri,
  parseUserHostPort,
  validHostname,
  validRemoteUser,
} from "../../../src/config/destination.js";

describe("parseUserHostPort (misc.c parse_user_host_port)", () => {
  it.each([
    ["jaguar", null, "jaguar", -1],
    ["alice@jaguar", "alice", "jaguar", -1],
    ["alice@jaguar:2222", "alice", "jaguar", 2222],
    ["jaguar:2222", null, "jaguar", 2222],
    ["jaguar:", null, "jaguar", -1],
    ["jaguar:ssh", null, "jaguar", 22],
    ["a@b@jaguar", "a@b", "jaguar", -1],
    ["[::1]:2222", null, "::1", 2222],
    ["[::1]", null, "::1", -1],
    ["bob@[fe80::1%eth0]:22", "bob", "fe80::1%eth0", 22],
    ["10.0.0.1:2200", null, "10.0.0.1", 2200],
  ])("%j -> user %j host %j port %i", (text, user, host, port) => {
    expect(parseUserHostPort(text)).toEqual({ user, host, port });
  });

  it.each([
    ["@jaguar"],
    ["alice@"],
    [""],
    ["::1"],
    ["jaguar:0"],
    ["jaguar:70000"],
    ["jaguar:x"],
    ["jaguar:22:33"],
    ["jaguar/22"],
    ["[::1]x"],
    ["[::1"],
  ])("%j is malformed", (text) => {
    expect(parseUserHostPort(text)).toBeNull();
  });
});

describe("cleanHostname", () => {
  it("strips one pair of surrounding brackets only", () => {
    expect(cleanHostname("[::1]")).toBe("::1");
    expect(cleanHostname("[[x]]")).toBe("[x]");
    expect(cleanHostname("[x")).toBe("[x");
    expect(cleanHostname("x]")).toBe("x]");
    expect(cleanHostname("[]")).toBe("");
  });
});

describe("parseSshUri (misc.c parse_uri + parse_ssh_uri)", () => {
  it("is not a URI without the exact ssh:// prefix", () => {
    expect(parseSshUri("jaguar")).toBe("not-uri");
    expect(parseSshUri("alice@jaguar:22")).toBe("not-uri");
    expect(parseSshUri("SSH://jaguar")).toBe("not-uri");
    expect(parseSshUri("sftp://jaguar")).toBe("not-uri");
  });

  it.each([
    ["ssh://jaguar", null, "jaguar", -1],
    ["ssh://alice@jaguar", "alice", "jaguar", -1],
    ["ssh://alice@jaguar:2222", "alice", "jaguar", 2222],
    ["ssh://jaguar:2222/", null, "jaguar", 2222],
    ["ssh://jaguar/", null, "jaguar", -1],
    ["ssh://alice;fingerprint=SHA256:abc@jaguar", "alice", "jaguar", -1],
    ["ssh://al%40ice@jaguar", "al@ice", "jaguar", -1],
    ["ssh://a+b@jaguar", "a b", "jaguar", -1],
    ["ssh://my_host.internal", null, "my_host.internal", -1],
  ])("%j -> user %j host %j port %i", (uri, user, host, port) => {
    expect(parseSshUri(uri)).toEqual({ user, host, port });
  });

  it.each([
    ["ssh://"],
    ["ssh://@jaguar"],
    ["ssh://;x@jaguar"],
    ["ssh://jaguar/path"],
    ["ssh://jaguar:22/path"],
    ["ssh://jaguar:0"],
    ["ssh://jaguar:x"],
    ["ssh://u%zz@jaguar"],
    ["ssh://u%4@jaguar"],
    ["ssh://[::1]:22"],
    ["ssh://a$b"],
    ["ssh://-jaguar"],
    ["ssh://a..b"],
  ])("%j is malformed", (uri) => {
    expect(parseSshUri(uri)).toBeNull();
  });

  // Debian's 9.2p1-2+deb12u10 (CVE-2025-61985) refuses %00 in url-encoded user names.
  it("refuses an encoded NUL in the user name", () => {
    expect(parseSshUri("ssh://a%00b@jaguar")).toBeNull();
  });

  // valid_domain() strips a trailing dot in place, so parse_uri() returns the host without it:
  // `ProxyJump ssh://a.b.` prints `proxyjump a.b` in `ssh -G`.
  it("drops a trailing dot from the host, as valid_domain() does in place", () => {
    expect(parseSshUri("ssh://jaguar.example.")).toEqual({ user: null, host: "jaguar.example", port: -1 });
  });
});

describe("validHostname / validRemoteUser (ssh.c, CVE-2023-51385 and later)", () => {
  it("host names may not start with '-' or contain shell characters, spaces or commas", () => {
    expect(validHostname("jaguar.example")).toBe(true);
    expect(validHostname("fe80::1%eth0")).toBe(true);
    expect(validHostname("my_host-1")).toBe(true);
    for (const bad of [
      "-oProxyCommand=x",
      "a;b",
      "a b",
      "a,b",
      "a$b",
      "a`b",
      "a'b",
      'a"b',
      "a|b",
      "a\tb",
      "a\nb",
    ]) {
      expect(validHostname(bad)).toBe(false);
    }
  });

  it("user names allow spaces but not '-' after one, nor shell characters or control characters", () => {
    expect(validRemoteUser("alice")).toBe(true);
    expect(validRemoteUser("DOMAIN\\alice")).toBe(true);
    expect(validRemoteUser("first last")).toBe(true);
    expect(validRemoteUser("a$b")).toBe(true);
    for (const bad of ["-alice", "a -o", "a;b", "a|b", "a'b", "a\u0001b", "trailing\\"]) {
      expect(validRemoteUser(bad)).toBe(false);
    }
  });
});

describe("parseJump (readconf.c parse_jump)", () => {
  const ok = (spec: string, strict = false) => {
    const r = parseJump(spec, strict);
    if (!r.ok) throw new Error(`expected ${spec} to parse: ${r.reason}`);
    return r.jump;
  };

  it("'none' (any case) disables jumping", () => {
    expect(ok("none")).toEqual({ none: true, last: null, extra: null });
    expect(ok("NONE").none).toBe(true);
  });

  it("one hop", () => {
    expect(ok("jaguar")).toEqual({
      none: false,
      last: { user: null, host: "jaguar", port: -1 },
      extra: null,
    });
    expect(ok("alice@jaguar:2222").last).toEqual({ user: "alice", host: "jaguar", port: 2222 });
    expect(ok("[::1]:2222").last).toEqual({ user: null, host: "::1", port: 2222 });
  });

  it("several hops: the last is parsed, the earlier ones are kept as text", () => {
    expect(ok("a,b,c")).toEqual({ none: false, last: { user: null, host: "c", port: -1 }, extra: "a,b" });
    expect(ok("alice@a:2200,bob@b")).toEqual({
      none: false,
      last: { user: "bob", host: "b", port: -1 },
      extra: "alice@a:2200",
    });
  });

  it("ssh:// hops", () => {
    expect(ok("ssh://u@a:2200,ssh://b")).toEqual({
      none: false,
      last: { user: null, host: "b", port: -1 },
      extra: "ssh://u@a:2200",
    });
    expect(ok("ssh://alice@jaguar:2222").last).toEqual({ user: "alice", host: "jaguar", port: 2222 });
  });

  it("a comment and trailing whitespace are dropped, also from the earlier hops", () => {
    expect(ok("jaguar # the bastion")).toEqual({
      none: false,
      last: { user: null, host: "jaguar", port: -1 },
      extra: null,
    });
    // Debian's parse_jump() takes jump_extra from the comment-stripped text: `ssh -G` prints
    // `proxyjump a,b` for `ProxyJump a,b # c,d`.
    expect(ok("a,b # c,d")).toEqual({ none: false, last: { user: null, host: "b", port: -1 }, extra: "a" });
  });

  it("'none' with a comment is a host called none", () => {
    expect(ok("none # off").last).toEqual({ user: null, host: "none", port: -1 });
  });

  it.each([
    ["a,,b"],
    ["a,"],
    [",a"],
    ["@a"],
    ["a:0"],
    ["a/22"],
    ["ssh://a/path"],
    ["ssh://[::1]:22"],
    ["bad@,b"],
    ["ssh://u%4@a"],
  ])("%j is refused", (spec) => {
    expect(parseJump(spec, false).ok).toBe(false);
  });

  it("a malformed earlier hop fails even when the last is fine", () => {
    expect(parseJump("@x,b", false).ok).toBe(false);
  });

  it("strict mode (-J, -o ProxyJump) refuses shell characters in every hop; config files do not", () => {
    expect(parseJump("a;b", false).ok).toBe(true);
    expect(parseJump("a;b", true).ok).toBe(false);
    expect(parseJump("j$1,j2", true).ok).toBe(false);
    expect(parseJump("a;b@j", true).ok).toBe(false);
    expect(parseJump("-oProxyCommand=x", true).ok).toBe(false);
    expect(parseJump("alice@j1,bob@j2:2222", true).ok).toBe(true);
  });

  // misc.c rtrim() in 9.2 NULs every whitespace character after the first one, so everything after
  // the first blank is dropped: `ssh -G` prints `proxyjump a` for `ProxyJump a b`, `proxyjump x,a`
  // for `-J "x,a b"` and `proxyjump u` for `-J "u s@a"`.
  it("drops everything after the first blank, as OpenSSH's rtrim() does", () => {
    expect(ok("a b")).toEqual({ none: false, last: { user: null, host: "a", port: -1 }, extra: null });
    expect(ok("x,a b")).toEqual({ none: false, last: { user: null, host: "a", port: -1 }, extra: "x" });
    expect(ok("u s@a", true).last).toEqual({ user: null, host: "u", port: -1 });
    expect(ok("a\tb").last?.host).toBe("a");
  });
});
