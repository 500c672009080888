/**
 * reader.ts + resolve.ts + dump.ts through resolve(), against an in-memory machine (fake-env.ts).
 * Expected lines are what `ssh -G` (OpenSSH 9.2p1 Debian) prints for the same configuration.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { dumpConfig } from "../../../src/config/dump.js";
import { type CliItem, type ResolvedHost, resolve, resolveRoute } from "../../../src/config/resolve.js";
import { ConfigError } from "../../../src/errors.js";
import { jumpgateErrorOf } from "../../support/errors.js";
import { type FakeEnv, type FakeEnvOptions, fakeEnv, HOME, USER_CONFIG } from "./fake-env.js";

const SYSTEM_CONFIG = "/etc/ssh/ssh_config";

interface Case {
  /** ~/.ssh/config (unless `files` names it). */
  config?: string;
  files?: FakeEnvOptions["files"];
  items?: CliItem[];
  configFile?: string;
  env?: Omit<FakeEnvOptions, "files">;
}

interface Result {
  resolved: ResolvedHost;
  lines: string[];
  env: FakeEnv;
}

function run(dest: string, c: Case = {}): Result {
  const files = { ...(c.config === undefined ? {} : { [USER_CONFIG]: c.config }), ...c.files };
  const env = fakeEnv({ ...c.env, files });
  const resolved = resolve({
    items: [...(c.items ?? []), { kind: "destination", value: dest }],
    env,
    ...(c.configFile === undefined ? {} : { configFile: c.configFile }),
  });
  return { resolved, lines: dumpConfig(resolved.options, resolved.hostname).trimEnd().split("\n"), env };
}

function lines(dest: string, c: Case = {}): string[] {
  return run(dest, c).lines;
}

const errorOf = jumpgateErrorOf;

function routeOf(dest: string, c: Case = {}) {
  const files = { ...(c.config === undefined ? {} : { [USER_CONFIG]: c.config }), ...c.files };
  const env = fakeEnv({ ...c.env, files });
  return resolveRoute({ items: [...(c.items ?? []), { kind: "destination", value: dest }], env });
}

const opt = (value: string): CliItem => ({ kind: "option", value });

describe("defaults", () => {
  it("with no config at all, prints OpenSSH's defaults for the fake user", () => {
    const out = lines("h");
    expect(out[0]).toBe("host h");
    expect(out).toContain("user u");
    expect(out).toContain("hostname h");
    expect(out).toContain("port 22");
    expect(out).toContain("identityfile ~/.ssh/id_rsa");
    expect(out).toContain(`userknownhostsfile ${HOME}/.ssh/known_hosts ${HOME}/.ssh/known_hosts2`);
    expect(out).toContain("globalknownhostsfile /etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2");
    expect(out).toContain("forwardx11trusted yes");
    expect(out).toContain("ipqos lowdelay throughput");
    expect(out).toContain("stricthostkeychecking ask");
    expect(out).toContain("controlpersist no");
    expect(out).toContain("escapechar ~");
    expect(out).toContain("rekeylimit 0 0");
    expect(out).toContain("tunneldevice any:any");
    expect(out).toContain("connecttimeout none");
    expect(out).toContain("permitremoteopen any");
    expect(out).toContain("canonicalizePermittedcnames none");
    expect(out).not.toContain(expect.stringMatching(/^proxy(command|jump) /));
  });

  it("reads the user config, then the system config", () => {
    const { env } = run("h", { config: "" });
    expect(env.reads.slice(0, 2)).toEqual([USER_CONFIG, SYSTEM_CONFIG]);
  });
});

describe("first obtained value wins", () => {
  const config = [
    "Host h",
    "    HostName 127.0.0.2",
    "    Port 2201",
    "    Port 2299",
    "    User alice",
    "Host h",
    "    Port 2202",
    "    User bob",
    "Host *",
    "    Port 2203",
    "    ConnectTimeout 7",
  ].join("\n");

  it("within a block, across blocks and against Host *", () => {
    const out = lines("h", { config });
    expect(out).toContain("port 2201");
    expect(out).toContain("user alice");
    expect(out).toContain("hostname 127.0.0.2");
    expect(out).toContain("connecttimeout 7");
  });

  it("the user config wins over the system config", () => {
    const out = lines("h", { config: "Port 1111\n", files: { [SYSTEM_CONFIG]: "Port 2222\nUser sys\n" } });
    expect(out).toContain("port 1111");
    expect(out).toContain("user sys");
  });

  it("command-line options win over both, and among themselves the first wins", () => {
    expect(lines("h", { config, items: [opt("Port=3000"), { kind: "port", value: "4000" }] })).toContain(
      "port 3000",
    );
    expect(lines("h", { config, items: [{ kind: "port", value: "4000" }, opt("Port=3000")] })).toContain(
      "port 4000",
    );
    expect(lines("h", { config, items: [{ kind: "user", value: "carol" }] })).toContain("user carol");
    expect(lines("carol@h", { config })).toContain("user carol");
    expect(lines("dave@h", { config, items: [{ kind: "user", value: "carol" }] })).toContain("user carol");
  });

  it("-o takes the keyword forms a config line takes", () => {
    expect(lines("h", { items: [opt("Port 3000")] })).toContain("port 3000");
    expect(lines("h", { items: [opt("port = 3001")] })).toContain("port 3001");
    expect(lines("h", { items: [opt("  PORT\t3002")] })).toContain("port 3002");
  });

  it("ssh:// destinations set user and port unless given before", () => {
    expect(lines("ssh://alice@h:2022")).toEqual(expect.arrayContaining(["user alice", "port 2022"]));
    expect(lines("ssh://alice@h:2022", { items: [{ kind: "port", value: "23" }] })).toContain("port 23");
  });
});

describe("keywords that accumulate", () => {
  it("IdentityFile and CertificateFile collect every value in order, without duplicates", () => {
    const out = lines("h", {
      config: [
        "Host h",
        "  IdentityFile ~/.ssh/a",
        "  IdentityFile ~/.ssh/b",
        "  CertificateFile ~/.ssh/a-cert.pub",
        "Host *",
        "  IdentityFile ~/.ssh/a",
        "  IdentityFile ~/.ssh/c",
      ].join("\n"),
    });
    expect(out.filter((l) => l.startsWith("identityfile "))).toEqual([
      "identityfile ~/.ssh/a",
      "identityfile ~/.ssh/b",
      "identityfile ~/.ssh/c",
    ]);
    expect(out).toContain("certificatefile ~/.ssh/a-cert.pub");
  });

  it("LocalForward, RemoteForward and DynamicForward collect and print as ssh -G does", () => {
    const out = lines("h", {
      config: [
        "LocalForward 1111 localhost:12345",
        "LocalForward 127.0.0.1:2222 [::1]:22",
        "Host h",
        "  LocalForward 1111 localhost:12345",
        "  RemoteForward 0 localhost:22",
        "  RemoteForward 8080",
        "  DynamicForward 1080",
      ].join("\n"),
    });
    expect(out.filter((l) => l.startsWith("localforward "))).toEqual([
      "localforward 1111 [localhost]:12345",
      "localforward [127.0.0.1]:2222 [::1]:22",
    ]);
    expect(out).toContain("remoteforward 0 [localhost]:22");
    expect(out).toContain("remoteforward 8080 [socks]:0");
    expect(out).toContain("dynamicforward 1080");
  });

  it("ClearAllForwardings drops them all", () => {
    const out = lines("h", { config: "LocalForward 1111 localhost:22\nClearAllForwardings yes\n" });
    expect(out.some((l) => l.startsWith("localforward "))).toBe(false);
    expect(out).toContain("clearallforwardings yes");
  });

  it("SendEnv accumulates and '-pattern' removes earlier names", () => {
    const out = lines("h", { config: "SendEnv LANG LC_*\nSendEnv -LC_*\nSendEnv TERM\n" });
    expect(out.filter((l) => l.startsWith("sendenv "))).toEqual(["sendenv LANG", "sendenv TERM"]);
  });

  it("SetEnv: the first line that sets anything wins as a whole", () => {
    const out = lines("h", { config: "SetEnv A=1 B=2\nSetEnv A=3 C=4\n" });
    expect(out.filter((l) => l.startsWith("setenv "))).toEqual(["setenv A=1", "setenv B=2"]);
  });
});

describe("Host blocks", () => {
  it("wildcards, pattern lists and negation", () => {
    const config = [
      "Host *.internal !secret.internal",
      "  User ops",
      "Host db? web*",
      "  Port 2200",
      "Host *",
      "  User default",
    ].join("\n");
    expect(lines("db1.internal", { config })).toContain("user ops");
    expect(lines("secret.internal", { config })).toContain("user default");
    expect(lines("db1", { config })).toContain("port 2200");
    expect(lines("db12", { config })).toContain("port 22");
    expect(lines("webserver", { config })).toContain("port 2200");
  });

  it("a block with only negations never matches", () => {
    expect(lines("other", { config: "Host !secret\n  Port 2200\n" })).toContain("port 22");
  });

  it("Host patterns see the destination as typed (case-sensitive), not the HostName", () => {
    const config =
      "Host Jaguar\n  Port 2201\nHost real.example\n  Port 2202\nHost j\n  HostName real.example\n";
    expect(lines("Jaguar", { config })).toContain("port 2201");
    expect(lines("jaguar", { config })).toContain("port 22");
    expect(lines("j", { config })).toContain("port 22");
  });

  it("options before the first Host apply to every host", () => {
    expect(lines("anything", { config: "User early\nHost other\n  User late\n" })).toContain("user early");
  });

  it("an empty Host argument is an error", () => {
    const error = errorOf(() => run("h", { config: 'Host ""\n' }));
    expect(error.code).toBe("JG_CONFIG_SYNTAX");
    expect(error.message).toContain(`${USER_CONFIG} line 1`);
  });
});

describe("Match", () => {
  it("'Match host' uses the HostName, 'Match originalhost' the destination", () => {
    const config = [
      "Host j",
      "  HostName real.example",
      "Match host real.example",
      "  Port 2022",
      "Match originalhost j",
      "  User orig",
    ].join("\n");
    const out = lines("j", { config });
    expect(out).toContain("port 2022");
    expect(out).toContain("user orig");
  });

  it("'Match host' substitutes %h in a HostName seen so far", () => {
    const out = lines("db", { config: "HostName %h.internal\nMatch host db.internal\n  Port 2023\n" });
    expect(out).toContain("hostname db.internal");
    expect(out).toContain("port 2023");
  });

  it("'Match host' is case-insensitive on both sides", () => {
    expect(lines("JAGUAR", { config: "Match host Jag*\n  Port 2024\n" })).toContain("port 2024");
  });

  it("'Match user' sees the user so far; 'Match localuser' the local user", () => {
    const config = "Match user alice\n  Port 2025\nMatch localuser u\n  Compression yes\n";
    expect(lines("alice@h", { config })).toContain("port 2025");
    expect(lines("bob@h", { config })).toContain("port 22");
    expect(lines("h", { config })).toContain("compression yes");
  });

  it("criteria are ANDed and '!' negates one", () => {
    const config = "Match host h !user root\n  Port 2026\n";
    expect(lines("h", { config })).toContain("port 2026");
    expect(lines("root@h", { config })).toContain("port 22");
  });

  it("'Match all' matches, '!all' does not", () => {
    expect(lines("h", { config: "Match all\n  Port 2027\n" })).toContain("port 2027");
    expect(lines("h", { config: "Match !all\n  Port 2027\n" })).toContain("port 22");
  });

  it("'all' after exactly one other criterion is accepted, as in OpenSSH (it counts criteria before 'all')", () => {
    expect(lines("h", { config: "Match host h all\n  Port 2039\n" })).toContain("port 2039");
    expect(lines("x", { config: "Match host h all\n  Port 2039\n" })).toContain("port 22");
  });

  it("'Match exec' runs the expanded command and matches on exit status 0", () => {
    const { lines: out, env } = run("h", {
      config: 'Match exec "probe %h %p %r %n %u %d %i %L %l %%"\n  Port 2028\n',
      env: { shell: () => 0 },
    });
    expect(env.shellCalls).toEqual(["probe h 22 u h u /home/u 1000 box box.example %"]);
    expect(out).toContain("port 2028");
  });

  it("'Match exec' with a failing command does not match", () => {
    const { lines: out, env } = run("h", {
      config: "Match exec false\n  Port 2029\n",
      env: { shell: () => 1 },
    });
    expect(env.shellCalls).toEqual(["false"]);
    expect(out).toContain("port 22");
  });

  it("'Match exec' %C is the connection hash of local host, host, port and user", () => {
    const { env } = run("h", { config: "Match exec %C\n  Port 2030\n" });
    const expected = createHash("sha1").update("box.exampleh22u").digest("hex");
    expect(env.shellCalls).toEqual([expected]);
  });

  it("'Match exec' is skipped once an earlier criterion failed", () => {
    const { env } = run("h", { config: "Match host other exec true\n  Port 2031\n" });
    expect(env.shellCalls).toEqual([]);
  });

  it("'Match exec' that does not exit normally is an error on its line", () => {
    const error = errorOf(() =>
      run("h", { config: "\nMatch exec crash\n  Port 2032\n", env: { shell: () => -1 } }),
    );
    expect(error.code).toBe("JG_CONFIG_MATCH");
    expect(error.message).toContain(`${USER_CONFIG} line 2`);
  });

  // OpenSSH expands the command before it decides to skip it, so an unknown token fails even
  // after an earlier criterion failed: `ssh -G` exits with "percent_expand: unknown key %x".
  it("'Match exec' with an unknown token fails even when skipped", () => {
    const error = errorOf(() => run("h", { config: '\nMatch host other exec "echo %x"\n  Port 2033\n' }));
    expect(error.code).toBe("JG_CONFIG_TOKEN");
    expect(error.message).toContain(`${USER_CONFIG} line 2`);
  });

  it("'Match final' asks for a second pass in which 'final' matches and the HostName is the host", () => {
    const config = [
      "Host j",
      "  HostName Real.Example",
      "Match final host real.example",
      "  User finaluser",
      "Match !final",
      "  Port 2034",
    ].join("\n");
    const out = lines("j", { config });
    expect(out).toContain("user finaluser");
    expect(out).toContain("port 2034");
    expect(out).toContain("hostname real.example");
  });

  it("'Match canonical' alone asks for no second pass", () => {
    expect(lines("h", { config: "Match canonical\n  Port 2035\n" })).toContain("port 22");
  });

  it("CanonicalizeHostname yes triggers the second pass for 'Match canonical'", () => {
    const out = lines("h", { config: "CanonicalizeHostname yes\nMatch canonical\n  Port 2036\n" });
    expect(out).toContain("port 2036");
  });

  it("'Match exec' runs again in the final pass", () => {
    const { env } = run("h", { config: "Match final\nMatch exec true\n  Port 2037\n" });
    expect(env.shellCalls).toEqual(["true", "true"]);
  });

  it.each([
    ["Match", "JG_CONFIG_SYNTAX"],
    ["Match host", "JG_CONFIG_MATCH"],
    ["Match host h user", "JG_CONFIG_MATCH"],
    ["Match color blue", "JG_CONFIG_MATCH"],
    ["Match all host h", "JG_CONFIG_MATCH"],
    ["Match host h host h all", "JG_CONFIG_MATCH"],
    ["Match all extra", "JG_CONFIG_MATCH"],
    ['Match exec "unterminated', "JG_CONFIG_SYNTAX"],
    ["Match # only a comment", "JG_CONFIG_MATCH"],
  ])("%j fails with %s on its line", (line, code) => {
    const error = errorOf(() => run("h", { config: `Port 2222\n${line}\n` }));
    expect(error.code).toBe(code);
    expect(error.message).toContain(`${USER_CONFIG} line 2`);
  });

  // match_cfg_line() stops at an empty criterion and leaves the rest unconsumed; the caller then
  // reports "keyword match extra arguments at end of line".
  it("an empty quoted criterion followed by more criteria is an error", () => {
    const error = errorOf(() => run("h", { config: 'Match host h "" user x\n  Port 2038\n' }));
    expect(["JG_CONFIG_SYNTAX", "JG_CONFIG_MATCH"]).toContain(error.code);
    expect(error.message).toContain(`${USER_CONFIG} line 1`);
  });

  it("Match and Host are refused on the command line", () => {
    expect(errorOf(() => run("h", { items: [opt("Match all")] })).code).toBe("JG_USAGE");
    expect(errorOf(() => run("h", { items: [opt("Host h")] })).code).toBe("JG_USAGE");
    expect(errorOf(() => run("h", { items: [opt("Include x")] })).code).toBe("JG_USAGE");
  });
});

describe("Include", () => {
  it("a relative path is relative to ~/.ssh and may be a glob; files are read in sorted order", () => {
    const out = lines("h", {
      config: "Include conf.d/*.conf\n",
      files: {
        [`${HOME}/.ssh/conf.d/20-b.conf`]: "Port 2020\nUser b\n",
        [`${HOME}/.ssh/conf.d/10-a.conf`]: "Port 2010\n",
        [`${HOME}/.ssh/conf.d/30-c.txt`]: "User c\n",
      },
    });
    expect(out).toContain("port 2010");
    expect(out).toContain("user b");
  });

  it("~ and absolute paths work in the user config", () => {
    expect(
      lines("h", { config: "Include ~/extra\n", files: { [`${HOME}/extra`]: "Port 2040\n" } }),
    ).toContain("port 2040");
    expect(
      lines("h", { config: "Include /opt/ssh.conf\n", files: { "/opt/ssh.conf": "Port 2041\n" } }),
    ).toContain("port 2041");
  });

  it("a relative path in the system config is relative to /etc/ssh", () => {
    const out = lines("h", {
      files: {
        [SYSTEM_CONFIG]: "Include ssh_config.d/*.conf\n",
        "/etc/ssh/ssh_config.d/local.conf": "Port 2042\n",
      },
    });
    expect(out).toContain("port 2042");
  });

  it("'~' is refused in the system config", () => {
    const error = errorOf(() => run("h", { files: { [SYSTEM_CONFIG]: "\nInclude ~/x\n" } }));
    expect(error.code).toBe("JG_CONFIG_INCLUDE");
    expect(error.message).toContain(`${SYSTEM_CONFIG} line 2`);
  });

  it("an Include that matches nothing is ignored", () => {
    expect(lines("h", { config: "Include nothing/*\nInclude missing.conf\nPort 2043\n" })).toContain(
      "port 2043",
    );
  });

  it("an Include in an inactive Host block applies nothing, not even its own Host * blocks", () => {
    const out = lines("h", {
      config: "Host other\n  Include extra.conf\nHost *\n  Port 2044\n",
      files: { [`${HOME}/.ssh/extra.conf`]: "User included\nHost *\n  Port 1111\nMatch all\n  User m\n" },
    });
    expect(out).toContain("port 2044");
    expect(out).toContain("user u");
  });

  it("an Include in an active block applies, and its Host lines do not change the including file's state", () => {
    const out = lines("h", {
      config: "Host h\n  Include extra.conf\n  User after\n",
      files: { [`${HOME}/.ssh/extra.conf`]: "Port 2045\nHost nomatch\n  Port 1\n" },
    });
    expect(out).toContain("port 2045");
    expect(out).toContain("user after");
  });

  it("an error in an included file names that file and its line", () => {
    const included = `${HOME}/.ssh/bad.conf`;
    const error = errorOf(() =>
      run("h", { config: "Include bad.conf\n", files: { [included]: "Port 22\n\nPort nope\n" } }),
    );
    expect(error.code).toBe("JG_CONFIG_BAD_VALUE");
    expect(error.message).toContain(`${included} line 3`);
  });

  it("more than 16 levels of Include is an error, not a hang", () => {
    const self = `${HOME}/.ssh/self`;
    const error = errorOf(() => run("h", { config: "Include self\n", files: { [self]: "Include self\n" } }));
    expect(error.code).toBe("JG_CONFIG_INCLUDE");
  });

  it("16 levels are fine", () => {
    const files: Record<string, string> = {};
    for (let i = 1; i <= 16; i++)
      files[`${HOME}/.ssh/l${i}`] = i === 16 ? "Port 2046\n" : `Include l${i + 1}\n`;
    expect(lines("h", { config: "Include l1\n", files })).toContain("port 2046");
  });

  it("included files are checked for permissions even under -F", () => {
    const error = errorOf(() =>
      run("h", {
        configFile: "/cfg",
        files: { "/cfg": "Include /inc\n", "/inc": { text: "Port 2047\n", mode: 0o100646 } },
      }),
    );
    expect(error.code).toBe("JG_CONFIG_FILE");
  });

  // glob(3) with GLOB_TILDE finds nothing for an unknown ~user; OpenSSH then ignores the Include
  // ("include ... matched no files"), and `ssh -G` succeeds.
  it("an Include of an unknown ~user matches nothing and is ignored", () => {
    expect(lines("h", { config: "Include ~nosuchuser/x\nPort 2048\n" })).toContain("port 2048");
  });
});

describe("IgnoreUnknown and unknown keywords", () => {
  it("an unknown keyword is an error with a code, the file and the line", () => {
    const error = errorOf(() => run("h", { config: "Port 2222\nFrobnicate yes\n" }));
    expect(error.code).toBe("JG_CONFIG_UNKNOWN_KEYWORD");
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).location).toEqual({ file: USER_CONFIG, line: 2 });
    expect(error.message).toContain(`${USER_CONFIG} line 2`);
    expect(error.message).toContain("frobnicate");
  });

  it("IgnoreUnknown (a pattern list, case-insensitive) skips unknown keywords after it", () => {
    const out = lines("h", {
      config: "IgnoreUnknown Frob*,UseKeychain\nFrobnicate yes\nusekeychain yes\nPort 2050\n",
    });
    expect(out).toContain("port 2050");
    expect(out).toContain("ignoreunknown Frob*,UseKeychain");
  });

  it("IgnoreUnknown does not reach back to earlier lines", () => {
    const error = errorOf(() => run("h", { config: "Frobnicate yes\nIgnoreUnknown Frob*\n" }));
    expect(error.code).toBe("JG_CONFIG_UNKNOWN_KEYWORD");
  });

  it("an IgnoreUnknown in an inactive block is not set", () => {
    const error = errorOf(() => run("h", { config: "Host other\n  IgnoreUnknown frob\nHost *\n  Frob 1\n" }));
    expect(error.code).toBe("JG_CONFIG_UNKNOWN_KEYWORD");
    expect(error.message).toContain("line 4");
  });

  it("deprecated and unsupported keywords are accepted", () => {
    expect(lines("h", { config: "Protocol 2\nUseRoaming no\nRSAAuthentication yes\nPort 2051\n" })).toContain(
      "port 2051",
    );
  });

  it("keywords are case-insensitive and aliases map to their keyword", () => {
    const out = lines("h", { config: "pOrT 2052\nChallengeResponseAuthentication no\n" });
    expect(out).toContain("port 2052");
    expect(out).toContain("kbdinteractiveauthentication no");
  });
});

describe("errors carry a code and `<file> line N`", () => {
  it.each([
    ["Port 22 23", "JG_CONFIG_SYNTAX"],
    ["Port", "JG_CONFIG_SYNTAX"],
    ['User "alice', "JG_CONFIG_SYNTAX"],
    ["Port 70000", "JG_CONFIG_BAD_VALUE"],
    ["Port==22", "JG_CONFIG_BAD_VALUE"],
    ["Compression maybe", "JG_CONFIG_BAD_VALUE"],
    ["ConnectTimeout 1x", "JG_CONFIG_BAD_VALUE"],
    ["Ciphers nosuch", "JG_CONFIG_BAD_VALUE"],
    ["LocalForward 1111", "JG_FORWARD_SPEC"],
    ["LocalForward 0 localhost:22", "JG_FORWARD_SPEC"],
    ["ProxyJump @bad", "JG_CONFIG_BAD_VALUE"],
    ["LogLevel LOUD", "JG_CONFIG_BAD_VALUE"],
    ["EscapeChar ab", "JG_CONFIG_BAD_VALUE"],
    ["SetEnv NOEQUALS", "JG_CONFIG_BAD_VALUE"],
    // kex_gss_names_valid(): `Bad GSSAPI KexAlgorithms 'nosuch'.` (names are case-sensitive).
    ["GSSAPIKexAlgorithms nosuch", "JG_CONFIG_BAD_VALUE"],
    ["GSSAPIKexAlgorithms GSS-GROUP14-SHA256-", "JG_CONFIG_BAD_VALUE"],
  ])("%j -> %s", (line, code) => {
    const error = errorOf(() => run("h", { config: `# comment\nHost h\n  ${line}\n` }));
    expect(error.code).toBe(code);
    expect(error.message).toContain(`${USER_CONFIG} line 3`);
    expect(error.exitCode).toBe(255);
  });

  // getline() hands OpenSSH the whole line, but everything after a NUL byte is invisible to the C
  // string functions: `ssh -G` reads "Port 2222<NUL>junk" as `Port 2222`.
  it("a NUL byte ends the line, as it does for OpenSSH's C strings", () => {
    expect(lines("h", { config: "Port 2222\u0000junk\nUser alice\u0000 bob\n" })).toEqual(
      expect.arrayContaining(["port 2222", "user alice"]),
    );
  });

  it("lines in inactive blocks are still checked", () => {
    const error = errorOf(() => run("h", { config: "Host other\n  Port notaport\n" }));
    expect(error.code).toBe("JG_CONFIG_BAD_VALUE");
    expect(error.message).toContain("line 2");
  });

  it("a -o error names the command line", () => {
    const error = errorOf(() => run("h", { items: [opt("Port=nope")] }));
    expect(error.message).toContain("command-line");
  });

  it("a HostName with an unknown token names the HostName line", () => {
    const error = errorOf(() => run("h", { config: "\n\nHostName %x.example\n" }));
    expect(error.code).toBe("JG_CONFIG_TOKEN");
    expect(error.message).toContain(`${USER_CONFIG} line 3`);
  });
});

describe("~/.ssh/config ownership and permissions", () => {
  it("a world-writable user config is refused", () => {
    const error = errorOf(() =>
      run("h", { files: { [USER_CONFIG]: { text: "Port 2222\n", mode: 0o100666 } } }),
    );
    expect(error.code).toBe("JG_CONFIG_FILE");
    expect(error.message).toContain(USER_CONFIG);
  });

  it("a user config owned by someone else is refused; root's is fine", () => {
    expect(
      errorOf(() =>
        run("h", { files: { [USER_CONFIG]: { text: "Port 2222\n", uid: 4242, mode: 0o100644 } } }),
      ).code,
    ).toBe("JG_CONFIG_FILE");
    expect(
      lines("h", { files: { [USER_CONFIG]: { text: "Port 2222\n", uid: 0, mode: 0o100644 } } }),
    ).toContain("port 2222");
  });

  it("a group-writable user config is fine only when the group is the owner's private group (Debian)", () => {
    expect(
      lines("h", { files: { [USER_CONFIG]: { text: "Port 2225\n", gid: 1000, mode: 0o100664 } } }),
    ).toContain("port 2225");
    const shared = errorOf(() =>
      run("h", { files: { [USER_CONFIG]: { text: "Port 2225\n", gid: 100, mode: 0o100664 } } }),
    );
    expect(shared.code).toBe("JG_CONFIG_FILE");
    expect(
      errorOf(() =>
        run("h", {
          files: { [USER_CONFIG]: { text: "Port 2225\n", gid: 1000, mode: 0o100664 } },
          env: { privateGroups: {} },
        }),
      ).code,
    ).toBe("JG_CONFIG_FILE");
  });

  it("-F files and the system config are not checked", () => {
    expect(
      lines("h", {
        configFile: "/cfg",
        files: { "/cfg": { text: "Port 2223\n", uid: 4242, mode: 0o100666 } },
      }),
    ).toContain("port 2223");
    expect(
      lines("h", { files: { [SYSTEM_CONFIG]: { text: "Port 2224\n", uid: 4242, mode: 0o100666 } } }),
    ).toContain("port 2224");
  });
});

describe("-F", () => {
  it("replaces both the user and the system config", () => {
    const { lines: out, env } = run("h", {
      config: "Port 1\n",
      configFile: "/cfg",
      files: { "/cfg": "Port 2060\n", [SYSTEM_CONFIG]: "User sys\n" },
    });
    expect(out).toContain("port 2060");
    expect(out).toContain("user u");
    expect(env.reads).not.toContain(USER_CONFIG);
    expect(env.reads).not.toContain(SYSTEM_CONFIG);
  });

  it("'none' reads no file at all", () => {
    const { lines: out, env } = run("h", {
      config: "Port 1\n",
      configFile: "none",
      files: { [SYSTEM_CONFIG]: "User sys\n" },
    });
    expect(out).toContain("port 22");
    expect(env.reads).toEqual([]);
  });

  it("a missing -F file is an error", () => {
    expect(errorOf(() => run("h", { configFile: "/missing" })).code).toBe("JG_CONFIG_FILE");
  });

  it("relative Includes in a -F file still live in ~/.ssh", () => {
    const out = lines("h", {
      configFile: "/cfg",
      files: { "/cfg": "Include extra\n", [`${HOME}/.ssh/extra`]: "Port 2061\n" },
    });
    expect(out).toContain("port 2061");
  });
});

describe("host names and token expansion", () => {
  it("HostName with %h and %%", () => {
    expect(lines("db", { config: "HostName %h.internal\n" })).toContain("hostname db.internal");
    expect(lines("db", { config: "HostName a%%b\n" })).toContain("hostname a%b");
  });

  it("names are lowercased and addresses canonicalised", () => {
    const out = lines("HoSt");
    expect(out).toContain("host HoSt");
    expect(out).toContain("hostname host");
    expect(lines("127.1")).toContain("hostname 127.0.0.1");
    expect(lines("h", { config: "HostName 127.000.000.001\n" })).toContain("hostname 127.0.0.1");
  });

  // resolve_canonicalize() only replaces an address that differs case-insensitively from its
  // numeric form: `ssh -G FE80::1` prints `hostname FE80::1`.
  it("keeps an IPv6 address whose canonical form differs only in case", () => {
    expect(lines("FE80::1")).toContain("hostname FE80::1");
  });

  // ssh.c is_addr() falls back to getaddrinfo(AI_NUMERICHOST), which takes every inet_aton() form:
  // `ssh -G 0x7f.1` and `HostName 0X7F.1` print `hostname 127.0.0.1`.
  it("canonicalises every numeric IPv4 form getaddrinfo accepts", () => {
    expect(lines("2130706433")).toContain("hostname 127.0.0.1");
    expect(lines("017700000001")).toContain("hostname 127.0.0.1");
    expect(lines("0x7f.1")).toContain("hostname 127.0.0.1");
    expect(lines("h", { config: "HostName 0X7F.1\n" })).toContain("hostname 127.0.0.1");
  });

  // resolve_addr() asks getaddrinfo() for the configured AddressFamily only, so an IPv4 literal is
  // not canonicalised under `AddressFamily inet6` (`ssh -G` prints `hostname 127.1`), nor an IPv6
  // one under `AddressFamily inet`.
  it("canonicalises an address only within the configured AddressFamily", () => {
    expect(lines("127.1", { config: "AddressFamily inet6\n" })).toContain("hostname 127.1");
    expect(lines("FE80:0::1", { config: "AddressFamily inet\n" })).toContain("hostname FE80:0::1");
    expect(lines("127.1", { config: "AddressFamily inet\n" })).toContain("hostname 127.0.0.1");
  });

  it(`ControlPath takes %-tokens, \${VAR} and ~`, () => {
    const out = lines("h", {
      config: `User alice\nPort 2200\nControlPath ~/.ssh/cm-%r@%h:%p-%L-%u-\${XDG}\n`,
      env: { env: { XDG: "x" } },
    });
    expect(out).toContain(`controlpath ${HOME}/.ssh/cm-alice@h:2200-box-u-x`);
  });

  it("ControlPath %C is the connection hash", () => {
    const out = lines("h", { config: "ControlPath /tmp/%C\n" });
    const hash = createHash("sha1").update("box.exampleh22u").digest("hex");
    expect(out).toContain(`controlpath /tmp/${hash}`);
  });

  it("an unknown token or an unset variable in ControlPath is an error naming its line", () => {
    const token = errorOf(() => run("h", { config: "\nControlPath /tmp/%Z\n" }));
    expect(token.code).toBe("JG_CONFIG_TOKEN");
    expect(token.message).toContain(`${USER_CONFIG} line 2`);
    const unset = errorOf(() => run("h", { config: `ControlPath /tmp/\${NOPE}\n` }));
    expect(unset.code).toBe("JG_CONFIG_TOKEN");
  });

  it("IdentityFile and ProxyCommand are printed unexpanded", () => {
    const out = lines("h", { config: "IdentityFile ~/.ssh/id_%h\nProxyCommand nc %h %p\n" });
    expect(out).toContain("identityfile ~/.ssh/id_%h");
    expect(out).toContain("proxycommand nc %h %p");
  });

  it(`RemoteCommand takes %-tokens but not \${VAR}`, () => {
    const out = lines("h", { config: `RemoteCommand echo %h %% \${HOME}\n`, env: { env: { HOME: "/x" } } });
    expect(out).toContain(`remotecommand echo h % \${HOME}`);
  });

  it("UserKnownHostsFile is expanded", () => {
    const out = lines("h", { config: "UserKnownHostsFile ~/.ssh/kh_%h /etc/kh\n" });
    expect(out).toContain(`userknownhostsfile ${HOME}/.ssh/kh_h /etc/kh`);
  });

  it("HostKeyAlias is lowercased", () => {
    expect(lines("h", { config: "HostKeyAlias MyAlias\n" })).toContain("hostkeyalias myalias");
  });
});

describe("destinations", () => {
  it.each([["a;b"], ["a b"], ["a,b"], ["-oProxyCommand=x"]])("%j is refused", (dest) => {
    expect(errorOf(() => run(dest)).code).toBe("JG_DESTINATION");
  });

  it("an empty user before '@' is refused", () => {
    expect(errorOf(() => run("@h")).code).toBe("JG_DESTINATION");
  });

  it("a user from the command line with shell characters is refused; from a config file it is not", () => {
    expect(errorOf(() => run("h", { items: [{ kind: "user", value: "a;b" }] })).code).toBe("JG_DESTINATION");
    expect(lines("h", { config: "User a;b\n" })).toContain("user a;b");
  });

  it("an ssh:// destination with a path is refused", () => {
    expect(errorOf(() => run("ssh://h/path")).code).toBe("JG_DESTINATION");
  });

  it("-A and -a set ForwardAgent (first wins)", () => {
    expect(lines("h", { items: [{ kind: "forwardAgent", value: true }] })).toContain("forwardagent yes");
    expect(
      lines("h", { config: "ForwardAgent yes\n", items: [{ kind: "forwardAgent", value: false }] }),
    ).toContain("forwardagent no");
  });

  it("-L, -R and -D add forwards", () => {
    const out = lines("h", {
      items: [
        { kind: "local", value: "1111:localhost:12345" },
        { kind: "remote", value: "9090" },
        { kind: "dynamic", value: "1080" },
      ],
    });
    expect(out).toContain("localforward 1111 [localhost]:12345");
    expect(out).toContain("remoteforward 9090 [socks]:0");
    expect(out).toContain("dynamicforward 1080");
  });
});

describe("ProxyJump and ProxyCommand", () => {
  it("prints the jump spec with user, port, numeric hosts in brackets and earlier hops", () => {
    expect(lines("h", { config: "ProxyJump jaguar\n" })).toContain("proxyjump jaguar");
    expect(lines("h", { config: "ProxyJump alice@jaguar:2222\n" })).toContain("proxyjump alice@jaguar:2222");
    expect(lines("h", { config: "ProxyJump 10.0.0.1\n" })).toContain("proxyjump [10.0.0.1]");
    expect(lines("h", { config: "ProxyJump [::1]:2222\n" })).toContain("proxyjump [::1]:2222");
    expect(lines("h", { config: "ProxyJump a,b,c\n" })).toContain("proxyjump a,b,c");
  });

  it("ProxyJump and ProxyCommand: the first one seen wins", () => {
    const jumpFirst = lines("h", { config: "ProxyJump jaguar\nProxyCommand nc %h %p\n" });
    expect(jumpFirst).toContain("proxyjump jaguar");
    expect(jumpFirst.some((l) => l.startsWith("proxycommand "))).toBe(false);
    const commandFirst = lines("h", { config: "ProxyCommand nc %h %p\nProxyJump jaguar\n" });
    expect(commandFirst).toContain("proxycommand nc %h %p");
    expect(commandFirst.some((l) => l.startsWith("proxyjump "))).toBe(false);
  });

  it("ProxyJump none disables a later ProxyJump but not a later ProxyCommand", () => {
    const out = lines("h", {
      config: "Host h\n  ProxyJump none\nHost *\n  ProxyJump jaguar\n  ProxyCommand nc %h %p\n",
    });
    expect(out.some((l) => l.startsWith("proxyjump "))).toBe(false);
    expect(out).toContain("proxycommand nc %h %p");
  });

  it("-J none lets a ProxyCommand from the config apply", () => {
    const out = lines("h", { config: "ProxyCommand nc %h %p\n", items: [{ kind: "jump", value: "none" }] });
    expect(out).toContain("proxycommand nc %h %p");
  });

  it("-J with a ProxyCommand given earlier on the command line is refused, and -J twice too", () => {
    expect(
      errorOf(() => run("h", { items: [opt("ProxyCommand nc %h %p"), { kind: "jump", value: "j" }] })).code,
    ).toBe("JG_USAGE");
    expect(
      errorOf(() =>
        run("h", {
          items: [
            { kind: "jump", value: "a" },
            { kind: "jump", value: "b" },
          ],
        }),
      ).code,
    ).toBe("JG_USAGE");
  });

  it("-J checks hop names strictly; the config does not", () => {
    expect(errorOf(() => run("h", { items: [{ kind: "jump", value: "j;x" }] })).code).toBe("JG_USAGE");
    expect(lines("h", { config: "ProxyJump j;x\n" })).toContain("proxyjump j;x");
  });

  // ssh.c: "Never use FD passing for ProxyJump" happens before the -G dump (`proxyusefdpass no`).
  it("ProxyJump turns ProxyUseFDPass off", () => {
    expect(lines("h", { config: "ProxyUseFDPass yes\nProxyJump jaguar\n" })).toContain("proxyusefdpass no");
    expect(lines("h", { config: "ProxyUseFDPass yes\n", items: [{ kind: "jump", value: "j" }] })).toContain(
      "proxyusefdpass no",
    );
    expect(lines("h", { config: "ProxyUseFDPass yes\nProxyCommand nc %h %p\n" })).toContain(
      "proxyusefdpass yes",
    );
  });

  it("a host that is its own jump host is a loop (jumphost loop via ...)", () => {
    const error = errorOf(() => run("h", { config: "ProxyJump h\n" }));
    expect(error.code).toBe("JG_JUMP_LOOP");
  });

  it("ProxyJump in an inactive block is still syntax-checked", () => {
    expect(errorOf(() => run("h", { config: "Host other\n  ProxyJump a,,b\n" })).code).toBe(
      "JG_CONFIG_BAD_VALUE",
    );
  });

  // rtrim() in OpenSSH cuts a ProxyJump at its first blank: `ProxyJump jaguar leopard` prints
  // `proxyjump jaguar` in `ssh -G`.
  it("a ProxyJump is cut at its first blank, as OpenSSH's rtrim() does", () => {
    expect(lines("h", { config: "ProxyJump jaguar leopard\n" })).toContain("proxyjump jaguar");
  });
});

describe("the route", () => {
  const lab = [
    "Host jaguar",
    "  HostName 127.0.0.1",
    "  Port 2201",
    "  User alice",
    "Host mcgonagall",
    "  HostName 127.0.0.2",
    "  ProxyJump jaguar",
    "Host leopard",
    "  HostName 10.0.0.3",
    "  ProxyJump bob@jaguar:2299",
    "Host deep",
    "  ProxyJump jaguar,mcgonagall",
    "Host piped",
    "  HostName 10.0.0.9",
    "  ProxyCommand nc -X connect %h %p",
  ].join("\n");

  it("a direct host is one TCP hop", () => {
    expect(routeOf("jaguar", { config: lab })).toEqual([
      { name: "jaguar", user: "alice", hostname: "127.0.0.1", port: 2201, transport: "tcp" },
    ]);
  });

  it("each ProxyJump hop is resolved through the config as its own destination", () => {
    expect(routeOf("mcgonagall", { config: lab })).toEqual([
      { name: "jaguar", user: "alice", hostname: "127.0.0.1", port: 2201, transport: "tcp" },
      { name: "mcgonagall", user: "u", hostname: "127.0.0.2", port: 22, transport: "jump" },
    ]);
  });

  it("user and port in the jump spec win over the hop's config", () => {
    const route = routeOf("leopard", { config: lab });
    expect(route[0]).toEqual({
      name: "jaguar",
      user: "bob",
      hostname: "127.0.0.1",
      port: 2299,
      transport: "tcp",
    });
  });

  it("multi-hop lists go left to right, each hop resolved on its own", () => {
    const route = routeOf("deep", { config: lab });
    expect(route.map((h) => `${h.name}=${h.hostname}:${h.port}/${h.transport}`)).toEqual([
      "jaguar=127.0.0.1:2201/tcp",
      // mcgonagall's own ProxyJump is replaced by the -J list of earlier hops.
      "mcgonagall=127.0.0.2:22/jump",
      "deep=deep:22/jump",
    ]);
  });

  it("a ProxyCommand hop keeps its command", () => {
    expect(routeOf("piped", { config: lab })).toEqual([
      {
        name: "piped",
        user: "u",
        hostname: "10.0.0.9",
        port: 22,
        transport: "proxycommand",
        proxyCommand: "nc -X connect %h %p",
      },
    ]);
  });

  it("-J on the command line starts the route", () => {
    const route = routeOf("h", { config: lab, items: [{ kind: "jump", value: "jaguar" }] });
    expect(route.map((h) => h.name)).toEqual(["jaguar", "h"]);
  });

  it("a jump loop a -> b -> a raises JG_JUMP_LOOP instead of hanging", () => {
    const config = "Host a\n  ProxyJump b\nHost b\n  ProxyJump a\n";
    // ssh -G never follows the hops, so the options still resolve...
    expect(run("a", { config }).lines).toContain("proxyjump b");
    // ...but the route cannot be built.
    const error = errorOf(() => routeOf("a", { config }));
    expect(error.code).toBe("JG_JUMP_LOOP");
  });

  it("a longer loop a -> b -> c -> a is found too", () => {
    const config = "Host a\n  ProxyJump b\nHost b\n  ProxyJump c\nHost c\n  ProxyJump a\n";
    expect(errorOf(() => routeOf("a", { config })).code).toBe("JG_JUMP_LOOP");
  });
});
