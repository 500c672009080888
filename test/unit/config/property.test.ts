/**
 * Property tests: random and mutated ssh_config text never crashes the resolver with anything but a
 * JumpgateError (and file errors name a real line of that file); matchPattern agrees with a regular
 * expression; splitArgs undoes quoting.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dumpConfig } from "../../../src/config/dump.js";
import { knownKeywords } from "../../../src/config/keywords.js";
import { splitArgs, splitKeyword } from "../../../src/config/lexer.js";
import { type CliItem, resolve, resolveRoute } from "../../../src/config/resolve.js";
import { ConfigError, JumpgateError } from "../../../src/errors.js";
import { matchPattern, matchPatternList } from "../../../src/util/patterns.js";
import { fakeEnv, HOME, USER_CONFIG } from "./fake-env.js";

// JG_PROPERTY_RUNS raises the number of runs for a longer hunt.
const RUNS = Number(process.env.JG_PROPERTY_RUNS ?? 300);
const SYSTEM_CONFIG = "/etc/ssh/ssh_config";
const INCLUDED = `${HOME}/.ssh/inc.conf`;

/** Config files are read as latin1, so every byte is one char 0..255. */
const byteChar = fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c));
const junk = (maxLength: number) => fc.string({ unit: byteChar, maxLength });

const KEYWORDS = knownKeywords();
const FAVOURITES = [
  "Host",
  "Match",
  "Include",
  "IgnoreUnknown",
  "HostName",
  "Port",
  "User",
  "ProxyJump",
  "ProxyCommand",
  "LocalForward",
  "RemoteForward",
  "DynamicForward",
  "ControlPath",
  "IdentityFile",
  "CanonicalizeHostname",
  "RekeyLimit",
  "Ciphers",
  "HostKeyAlgorithms",
  "SendEnv",
  "SetEnv",
  "EscapeChar",
];
const UNKNOWN = ["Frobnicate", "UseKeychain", "PORT", "hOsT", "Portt", "#Port"];

const VALUES = [
  "h",
  "jaguar",
  "*",
  "!h",
  "*.internal",
  "h,jaguar",
  "22",
  "0",
  "-1",
  "65536",
  "2222",
  "ssh",
  "yes",
  "no",
  "ask",
  "auto",
  "none",
  "all",
  "final",
  "canonical",
  "host",
  "user",
  "exec",
  "originalhost",
  "localuser",
  "!all",
  "1h30m",
  "1x",
  "1G",
  "20.5",
  "~/.ssh/id_%h",
  "~nosuch/x",
  "/tmp/%C",
  "%h.example",
  "%Z",
  "%",
  `\${HOME}`,
  `\${UNSET}`,
  `\${`,
  "1111:localhost:22",
  "[::1]:1111",
  "/tmp/a.sock:/tmp/b.sock",
  "1111",
  "u@jaguar:2201",
  "ssh://u@jaguar:2201",
  "a,b,c",
  "+aes128-cbc",
  "-*",
  "^nosuch",
  "ssh-ed25519*",
  "inc.conf",
  "*.conf",
  "~/.ssh/inc.conf",
  "LANG",
  "-LC_*",
  "A=1",
  "^A",
  '"a b"',
  "'x y'",
  '"',
  "'",
  '""',
  "=",
  "#",
  "# note",
  "\\",
  "\\ ",
  '\\"',
];

const keyword = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...KEYWORDS) },
  { weight: 5, arbitrary: fc.constantFrom(...FAVOURITES) },
  { weight: 1, arbitrary: fc.constantFrom(...UNKNOWN) },
);
const atom = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...VALUES) },
  { weight: 1, arbitrary: fc.integer({ min: -3, max: 70000 }).map(String) },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
  { weight: 1, arbitrary: junk(4) },
);
const separator = fc.constantFrom(" ", " ", "=", " = ", "\t", "==", "  ", "= =", "");
const keywordLine = fc
  .tuple(
    fc.constantFrom("", "", "  ", "\t"),
    keyword,
    separator,
    fc.array(atom, { maxLength: 4 }),
    fc.constantFrom("", "", "", " # trailing", "#", " \t", "\r"),
  )
  .map(([indent, kw, sep, values, tail]) => `${indent}${kw}${sep}${values.join(" ")}${tail}`);
/** Lines that are usually valid, so that resolution gets past the first line and into the deep paths. */
const VALID: Record<string, readonly string[]> = {
  Port: ["22", "2201", "ssh", "65535"],
  User: ["alice", "bob", "%u", "a;b"],
  HostName: ["%h.example", "127.0.0.1", "127.1", "h", "Jaguar.Example", "::1", "FE80::1"],
  ProxyJump: [
    "jaguar",
    "u@jaguar:2201",
    "none",
    "a,b",
    "ssh://jaguar",
    "h",
    "[::1]:2222",
    "jaguar # bastion",
  ],
  ProxyCommand: ["nc %h %p", "none", "-", "ssh -W %h:%p jaguar"],
  LocalForward: ["1111 localhost:22", "[::1]:1111 [::2]:22", "/tmp/a.sock /tmp/b.sock", "2222 /run/app.sock"],
  RemoteForward: ["0 localhost:22", "8080", "/tmp/r.sock localhost:80", "localhost:9000"],
  DynamicForward: ["1080", "localhost:1081", "/tmp/socks.sock"],
  ControlPath: ["~/.ssh/cm-%r@%h:%p", "none", "/tmp/%C", `\${XDG}/cm-%L`],
  ControlMaster: ["auto", "yes", "autoask"],
  ControlPersist: ["10m", "yes", "no", "0"],
  IdentityFile: ["~/.ssh/id_%h", "~/.ssh/id_ed25519", "/keys/%r"],
  CertificateFile: ["~/.ssh/id-cert.pub"],
  SendEnv: ["LANG LC_*", "-LC_*", "TERM"],
  SetEnv: ["A=1 B=2", "A=3", 'X="a b"'],
  Ciphers: ["+aes128-cbc", "-aes*", "aes256-ctr", "^chacha20-poly1305@openssh.com"],
  MACs: ["-hmac-sha1", "hmac-sha2-256"],
  KexAlgorithms: ["+diffie-hellman-group1-sha1", "curve25519-sha256"],
  HostKeyAlgorithms: ["ssh-ed25519*", "+ssh-rsa", "-ssh-*"],
  PubkeyAcceptedAlgorithms: ["+ssh-rsa", "ssh-ed25519"],
  CASignatureAlgorithms: ["ssh-ed25519"],
  CanonicalizeHostname: ["yes", "no", "always"],
  CanonicalDomains: ["example.com", "a.example b.example"],
  CanonicalizePermittedCNAMEs: ["*.a.example:*.b.example", "none"],
  CanonicalizeMaxDots: ["0", "2"],
  RekeyLimit: ["1G 1h", "default none", "500M"],
  EscapeChar: ["~", "^A", "none", "%"],
  IPQoS: ["af21 cs1", "lowdelay", "none"],
  TunnelDevice: ["any:any", "1:2", "3"],
  Tunnel: ["yes", "ethernet", "point-to-point"],
  ForwardAgent: ["yes", "no", "/tmp/agent.sock", `\${SSH_AUTH_SOCK}`, "$SSH_AUTH_SOCK"],
  IdentityAgent: ["none", "~/agent.sock", "SSH_AUTH_SOCK", `\${XDG}/agent`],
  AddKeysToAgent: ["confirm 1h", "yes", "1h"],
  UserKnownHostsFile: ["~/.ssh/kh_%h /etc/kh", "none", "~/.ssh/known_hosts"],
  GlobalKnownHostsFile: ["/etc/ssh/kh", "none"],
  PermitRemoteOpen: ["any", "localhost:*", "none", "db:5432 [::1]:22"],
  LogLevel: ["DEBUG3", "quiet", "debug1", "SILENT"],
  LogVerbose: ["kex.c:*:1000"],
  SyslogFacility: ["AUTH", "local7"],
  StreamLocalBindMask: ["0177", "0"],
  FingerprintHash: ["md5", "sha256"],
  RemoteCommand: ["echo %h", "none"],
  LocalCommand: ["echo %n"],
  PermitLocalCommand: ["yes"],
  UpdateHostKeys: ["ask", "yes"],
  RequestTTY: ["force", "no"],
  SessionType: ["none", "subsystem"],
  ForkAfterAuthentication: ["yes"],
  StdinNull: ["yes"],
  ServerAliveInterval: ["30", "1m"],
  ConnectTimeout: ["10", "none"],
  ConnectionAttempts: ["3", "0"],
  BatchMode: ["yes"],
  ClearAllForwardings: ["yes"],
  HostKeyAlias: ["Alias"],
  BindAddress: ["127.0.0.1"],
  ProxyUseFDPass: ["yes"],
  VerifyHostKeyDNS: ["ask"],
  StrictHostKeyChecking: ["accept-new", "off"],
  Include: ["inc.conf", "*.conf", "~/.ssh/inc.conf", "nothing/*"],
  IgnoreUnknown: ["Use*", "frob*,usekeychain"],
};
const VALID_KEYWORDS = Object.keys(VALID);

const hostPattern = fc.constantFrom(
  "h",
  "*",
  "jaguar",
  "!h",
  "*.internal",
  "H",
  "127.0.0.*",
  "db?",
  "!jaguar",
);
const matchCriterion = fc.oneof(
  fc.constantFrom("all", "canonical", "final", "!final", "!canonical"),
  fc
    .tuple(
      fc.constantFrom("", "!"),
      fc.constantFrom("host", "originalhost", "user", "localuser"),
      fc.array(hostPattern, { minLength: 1, maxLength: 2 }).map((p) => p.join(",")),
    )
    .map(([neg, attribute, list]) => `${neg}${attribute} ${list}`),
  fc.constantFrom('exec "true %h"', "exec false", "exec %C", '!exec "test %p = 22"', "exec %Z"),
);

const validLine = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .constantFrom(...VALID_KEYWORDS)
      .chain((kw) => fc.tuple(fc.constant(kw), fc.constantFrom(...(VALID[kw] as string[]))))
      .chain(([kw, value]) =>
        fc
          .tuple(fc.constantFrom("  ", "", "\t"), fc.constantFrom(" ", "=", " = "))
          .map(([indent, sep]) => `${indent}${kw}${sep}${value}`),
      ),
  },
  {
    weight: 2,
    arbitrary: fc.array(hostPattern, { minLength: 1, maxLength: 3 }).map((p) => `Host ${p.join(" ")}`),
  },
  {
    weight: 2,
    arbitrary: fc.array(matchCriterion, { minLength: 1, maxLength: 3 }).map((c) => `Match ${c.join(" ")}`),
  },
);

const line = fc.oneof(
  { weight: 12, arbitrary: validLine },
  { weight: 3, arbitrary: keywordLine },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "",
      "# comment",
      "Host *",
      "Host h",
      "Host jaguar",
      "Match all",
      "Match final",
      "Match host h",
      "Match exec true",
      "Include inc.conf",
      "ProxyJump jaguar",
      "Host jaguar\n  ProxyJump h",
    ),
  },
  { weight: 1, arbitrary: junk(24) },
);
const configText = fc.array(line, { maxLength: 14 }).map((lines) => lines.join("\n"));

type Mutation = { at: number; op: "insert" | "delete" | "duplicate"; char: string };
const mutation = fc.record({
  at: fc.nat(),
  op: fc.constantFrom<Mutation["op"]>("insert", "delete", "duplicate"),
  char: fc.oneof(byteChar, fc.constantFrom('"', "'", "\\", "=", "#", "\n", " ", "%", "$", "{", "}", "\0")),
});

function mutate(text: string, mutations: Mutation[]): string {
  let out = text;
  for (const { at, op, char } of mutations) {
    const i = out.length === 0 ? 0 : at % (out.length + 1);
    if (op === "insert") out = out.slice(0, i) + char + out.slice(i);
    else if (op === "delete") out = out.slice(0, i) + out.slice(i + 1);
    else {
      const start = out.lastIndexOf("\n", i - 1) + 1;
      const end = out.indexOf("\n", i);
      const piece = out.slice(start, end < 0 ? out.length : end);
      out = `${out.slice(0, start)}${piece}\n${out.slice(start)}`;
    }
  }
  return out;
}

const mutatedText = fc
  .tuple(configText, fc.oneof(fc.constant<Mutation[]>([]), fc.array(mutation, { maxLength: 4 })))
  .map(([text, mutations]) => mutate(text, mutations));

const scenario = fc.record({
  user: mutatedText,
  included: configText,
  system: fc.option(configText, { nil: undefined }),
  dest: fc.constantFrom("h", "jaguar", "H", "127.0.0.1", "db.internal", "alice@h", "ssh://u@h:2200"),
  cliOptions: fc.oneof(
    { weight: 3, arbitrary: fc.constant<string[]>([]) },
    { weight: 1, arbitrary: fc.array(fc.oneof(validLine, keywordLine), { maxLength: 2 }) },
  ),
  useDashF: fc.boolean(),
  mode: fc.constantFrom(0o100644, 0o100644, 0o100644, 0o100644, 0o100664, 0o100666),
  execStatus: fc.constantFrom(0, 1, 1, -1),
});

function lineCount(text: string): number {
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines.length;
}

describe("resolve() on random and mutated config text", () => {
  it("throws nothing but JumpgateError, and file errors name a real line of that file", () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const files: Record<string, { text: string; mode: number } | string> = {
          [USER_CONFIG]: { text: s.user, mode: s.mode },
          [INCLUDED]: s.included,
          ...(s.system === undefined ? {} : { [SYSTEM_CONFIG]: s.system }),
        };
        const texts = new Map<string, string>([
          [USER_CONFIG, s.user],
          [INCLUDED, s.included],
          ...(s.system === undefined ? [] : ([[SYSTEM_CONFIG, s.system]] as const)),
        ]);
        const env = fakeEnv({
          files,
          env: { HOME, XDG: "/run/u", SSH_AUTH_SOCK: "/tmp/agent.sock" },
          shell: (cmd) => (cmd.startsWith("true") ? 0 : s.execStatus),
          paths: ["/tmp/agent.sock"],
        });
        const items: CliItem[] = [
          ...s.cliOptions.map((value): CliItem => ({ kind: "option", value })),
          { kind: "destination", value: s.dest },
        ];
        const request = { items, env, ...(s.useDashF ? { configFile: USER_CONFIG } : {}) };
        try {
          const resolved = resolve(request);
          const text = dumpConfig(resolved.options, resolved.hostname);
          expect(text.startsWith("host ")).toBe(true);
          resolveRoute(request, resolved);
        } catch (error) {
          if (!(error instanceof JumpgateError)) {
            throw new Error(`not a JumpgateError: ${String(error)}\n${(error as Error)?.stack ?? ""}`);
          }
          expect(typeof error.code).toBe("string");
          expect(error.exitCode).toBeGreaterThan(0);
          if (error instanceof ConfigError && error.location !== undefined) {
            const { file, line } = error.location;
            const text = texts.get(file);
            if (text !== undefined) {
              expect(line).toBeGreaterThanOrEqual(1);
              expect(line).toBeLessThanOrEqual(lineCount(text));
              expect(error.message).toContain(`${file} line ${line}`);
            } else {
              expect(file).toBe("command-line");
            }
          }
          // Errors that can only come from a config line always carry their location.
          if (["JG_CONFIG_SYNTAX", "JG_CONFIG_UNKNOWN_KEYWORD", "JG_CONFIG_MATCH"].includes(error.code)) {
            expect(error).toBeInstanceOf(ConfigError);
            expect((error as ConfigError).location).toBeDefined();
          }
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe("matchPattern", () => {
  const toRegExp = (pattern: string) =>
    new RegExp(
      `^${[...pattern].map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))).join("")}$`,
      "s",
    );
  const patternArb = fc.string({ unit: fc.constantFrom("a", "b", "c", "*", "?", "."), maxLength: 10 });
  const subjectArb = fc.string({ unit: fc.constantFrom("a", "b", "c", "."), maxLength: 12 });

  it("agrees with a regular expression translation of '*' and '?'", () => {
    fc.assert(
      fc.property(subjectArb, patternArb, (subject, pattern) => {
        expect(matchPattern(subject, pattern)).toBe(toRegExp(pattern).test(subject));
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it("a one-pattern list agrees with matchPattern; a negated one gives -1 instead of 1", () => {
    fc.assert(
      fc.property(subjectArb, patternArb, (subject, pattern) => {
        const matched = matchPattern(subject, pattern);
        expect(matchPatternList(subject, `!${pattern}`)).toBe(matched ? -1 : 0);
        if (pattern !== "") expect(matchPatternList(subject, pattern)).toBe(matched ? 1 : 0);
      }),
      { numRuns: RUNS },
    );
  });

  it("a subject always matches itself and '*'", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (s) => {
        const literal = s.replace(/[*?]/g, "");
        expect(matchPattern(literal, literal)).toBe(true);
        expect(matchPattern(s, "*")).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});

describe("splitArgs", () => {
  const word = fc.string({
    unit: fc.oneof(byteChar, fc.constantFrom('"', "'", "\\", " ", "#", "\t")),
    maxLength: 10,
  });
  const quoteDouble = (w: string) => `"${w.replace(/[\\"]/g, "\\$&")}"`;
  const quoteSingle = (w: string) => `'${w.replace(/[\\']/g, "\\$&")}'`;
  const quoted = fc
    .tuple(word, fc.boolean())
    .map(([w, double]) => ({ word: w, text: double ? quoteDouble(w) : quoteSingle(w) }));

  it("round-trips words that were quoted", () => {
    fc.assert(
      fc.property(
        fc.array(quoted, { maxLength: 6 }),
        fc.constantFrom(" ", "\t", "  ", " \t "),
        (parts, sep) => {
          const result = splitArgs(parts.map((p) => p.text).join(sep));
          expect(result).toEqual({ ok: true, args: parts.map((p) => p.word) });
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("round-trips a whole config line through splitKeyword and splitArgs", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...KEYWORDS),
        fc.constantFrom(" ", "=", " = ", "\t"),
        fc.array(quoted, { minLength: 1, maxLength: 4 }),
        (kw, sep, parts) => {
          const split = splitKeyword(`${kw}${sep}${parts.map((p) => p.text).join(" ")}`);
          expect(split.keyword).toBe(kw);
          expect(splitArgs(split.rest)).toEqual({ ok: true, args: parts.map((p) => p.word) });
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("never throws, and fails only when a quote is left open", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.oneof(byteChar, fc.constantFrom('"', "'", "\\", " ", "#")), maxLength: 30 }),
        (text) => {
          const result = splitArgs(text);
          if (!result.ok) expect(/["']/.test(text)).toBe(true);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
