/**
 * What each ssh_config keyword does to the options (the big switch of readconf.c
 * process_config_line_depth(), one small handler per value type). A value is stored only when the
 * line is active and the option is still unset: the first obtained value wins.
 */
import { ConfigError, type ConfigLocation } from "../errors.js";
import { matchPattern } from "../util/patterns.js";
import { type AlgorithmKind, algorithmListValid } from "./algorithms.js";
import { type ParsedJump, parseJump } from "./destination.js";
import type { ConfigEnvironment } from "./environment.js";
import { forwardEquals, parseForward } from "./forward.js";
import type { Opcode } from "./keywords.js";
import {
  ADDRESS,
  CANONICALIZEHOSTNAME,
  COMPRESSION,
  CONTROLMASTER,
  FLAG,
  type Multistate,
  PUBKEYAUTH,
  REQUESTTTY,
  SESSIONTYPE,
  STRICT,
  TUNNEL,
  YESNOASK,
  YESNOASKCONFIRM,
} from "./multistate.js";
import { addCertificateFile, addIdentityFile, ESCAPECHAR_NONE, FP_HASH, type Options } from "./options.js";
import type { ReadFlags } from "./reader.js";
import { expandTokens } from "./tokens.js";
import {
  a2port,
  a2tun,
  atoiErr,
  convtime,
  parseIpqos,
  scanScaled,
  validDomain,
  validEnvName,
} from "./values.js";

export interface KeywordLine {
  keyword: string;
  /** Arguments split like argv_split(). */
  args: string[];
  /** The raw text after the keyword (ProxyCommand and friends keep it verbatim). */
  rest: string;
  where: ConfigLocation;
  options: Options;
  active: boolean;
  flags: ReadFlags;
  env: ConfigEnvironment;
  /** A `-o` option: ProxyJump is then checked strictly, like `-J`. */
  cmdline: boolean;
  warn(message: string): void;
}

/** Debian's log.c adds SILENT (listed first, so QUIET prints as SILENT). */
const LOG_LEVELS = [
  "SILENT",
  "QUIET",
  "FATAL",
  "ERROR",
  "INFO",
  "VERBOSE",
  "DEBUG",
  "DEBUG1",
  "DEBUG2",
  "DEBUG3",
];
/** The name ssh prints for each accepted spelling (the first one in the table with the same level). */
const LOG_LEVEL_NAME: Readonly<Record<string, string>> = { QUIET: "SILENT", DEBUG1: "DEBUG" };
const LOG_FACILITIES = [
  "DAEMON",
  "USER",
  "AUTH",
  "AUTHPRIV",
  "LOCAL0",
  "LOCAL1",
  "LOCAL2",
  "LOCAL3",
  "LOCAL4",
  "LOCAL5",
  "LOCAL6",
  "LOCAL7",
];

type IntKey = { [K in keyof Options]: Options[K] extends number ? K : never }[keyof Options];
type StringKey = { [K in keyof Options]: Options[K] extends string | null ? K : never }[keyof Options];
type ListKey = "systemHostfiles" | "userHostfiles" | "logVerbose";

const FLAG_KEYS: Partial<Record<Opcode, IntKey>> = {
  forwardx11: "forwardX11",
  forwardx11trusted: "forwardX11Trusted",
  gatewayports: "gatewayPorts",
  exitonforwardfailure: "exitOnForwardFailure",
  passwordauthentication: "passwordAuthentication",
  kbdinteractiveauthentication: "kbdInteractiveAuthentication",
  hostbasedauthentication: "hostbasedAuthentication",
  gssapiauthentication: "gssAuthentication",
  gssapikeyexchange: "gssKeyex",
  gssapidelegatecredentials: "gssDelegCreds",
  gssapitrustdns: "gssTrustDns",
  gssapirenewalforcesrekey: "gssRenewalRekey",
  batchmode: "batchMode",
  checkhostip: "checkHostIp",
  tcpkeepalive: "tcpKeepAlive",
  nohostauthenticationforlocalhost: "noHostAuthenticationForLocalhost",
  clearallforwardings: "clearForwardings",
  enablesshkeysign: "enableSshKeysign",
  identitiesonly: "identitiesOnly",
  hashknownhosts: "hashKnownHosts",
  permitlocalcommand: "permitLocalCommand",
  visualhostkey: "visualHostKey",
  stdinnull: "stdinNull",
  forkafterauthentication: "forkAfterAuthentication",
  proxyusefdpass: "proxyUseFdpass",
  canonicalizefallbacklocal: "canonicalizeFallbackLocal",
  streamlocalbindunlink: "streamlocalBindUnlink",
  enableescapecommandline: "enableEscapeCommandline",
};

const MULTISTATE_KEYS: Partial<Record<Opcode, [IntKey, Multistate]>> = {
  pubkeyauthentication: ["pubkeyAuthentication", PUBKEYAUTH],
  verifyhostkeydns: ["verifyHostKeyDns", YESNOASK],
  stricthostkeychecking: ["strictHostKeyChecking", STRICT],
  compression: ["compression", COMPRESSION],
  addressfamily: ["addressFamily", ADDRESS],
  controlmaster: ["controlMaster", CONTROLMASTER],
  tunnel: ["tunOpen", TUNNEL],
  requesttty: ["requestTty", REQUESTTTY],
  sessiontype: ["sessionType", SESSIONTYPE],
  canonicalizehostname: ["canonicalizeHostname", CANONICALIZEHOSTNAME],
  updatehostkeys: ["updateHostkeys", YESNOASK],
};

const STRING_KEYS: Partial<Record<Opcode, StringKey>> = {
  kbdinteractivedevices: "kbdInteractiveDevices",
  xauthlocation: "xauthLocation",
  user: "user",
  hostname: "hostname",
  hostkeyalias: "hostKeyAlias",
  preferredauthentications: "preferredAuthentications",
  bindaddress: "bindAddress",
  bindinterface: "bindInterface",
  pkcs11provider: "pkcs11Provider",
  securitykeyprovider: "skProvider",
  controlpath: "controlPath",
  ignoreunknown: "ignoredUnknown",
  revokedhostkeys: "revokedHostKeys",
  gssapiclientidentity: "gssClientIdentity",
  gssapiserveridentity: "gssServerIdentity",
};

const TIME_KEYS: Partial<Record<Opcode, IntKey>> = {
  connecttimeout: "connectionTimeout",
  forwardx11timeout: "forwardX11Timeout",
  serveraliveinterval: "serverAliveInterval",
};

const INT_KEYS: Partial<Record<Opcode, IntKey>> = {
  numberofpasswordprompts: "numberOfPasswordPrompts",
  connectionattempts: "connectionAttempts",
  serveralivecountmax: "serverAliveCountMax",
  canonicalizemaxdots: "canonicalizeMaxDots",
  requiredrsasize: "requiredRsaSize",
};

const COMMAND_KEYS: Partial<Record<Opcode, StringKey>> = {
  proxycommand: "proxyCommand",
  localcommand: "localCommand",
  remotecommand: "remoteCommand",
  knownhostscommand: "knownHostsCommand",
};

const ALGORITHM_KEYS: Partial<Record<Opcode, [StringKey, AlgorithmKind, string]>> = {
  ciphers: ["ciphers", "cipher", "Bad SSH2 cipher spec"],
  macs: ["macs", "mac", "Bad SSH2 MAC spec"],
  kexalgorithms: ["kexAlgorithms", "kex", "Bad SSH2 KexAlgorithms"],
  hostkeyalgorithms: ["hostKeyAlgorithms", "key", "Bad key types"],
  casignaturealgorithms: ["caSignAlgorithms", "key", "Bad key types"],
  hostbasedacceptedalgorithms: ["hostbasedAcceptedAlgos", "key", "Bad key types"],
  pubkeyacceptedalgorithms: ["pubkeyAcceptedAlgos", "key", "Bad key types"],
  gssapikexalgorithms: ["gssKexAlgorithms", "gsskex", "Bad GSSAPI KexAlgorithms"],
};

const LIST_KEYS: Partial<Record<Opcode, ListKey>> = {
  globalknownhostsfile: "systemHostfiles",
  userknownhostsfile: "userHostfiles",
};

type SimpleHandler =
  | { kind: "flag" | "time" | "int"; key: IntKey }
  | { kind: "multistate"; key: IntKey; table: Multistate }
  | { kind: "string"; key: StringKey }
  | { kind: "command"; opcode: Opcode; key: StringKey }
  | { kind: "algorithms"; key: StringKey; algorithm: AlgorithmKind; complaint: string }
  | { kind: "list"; key: ListKey };

/** One lookup per line for the keywords that only store a value (most of them). */
const SIMPLE_HANDLERS: ReadonlyMap<Opcode, SimpleHandler> = (() => {
  const map = new Map<Opcode, SimpleHandler>();
  const each = <T>(table: Partial<Record<Opcode, T>>, make: (value: T, opcode: Opcode) => SimpleHandler) => {
    for (const [opcode, value] of Object.entries(table) as Array<[Opcode, T]>)
      map.set(opcode, make(value, opcode));
  };
  each(FLAG_KEYS, (key) => ({ kind: "flag", key }));
  each(MULTISTATE_KEYS, ([key, table]) => ({ kind: "multistate", key, table }));
  each(STRING_KEYS, (key) => ({ kind: "string", key }));
  each(TIME_KEYS, (key) => ({ kind: "time", key }));
  each(INT_KEYS, (key) => ({ kind: "int", key }));
  each(COMMAND_KEYS, (key, opcode) => ({ kind: "command", opcode, key }));
  each(ALGORITHM_KEYS, ([key, algorithm, complaint]) => ({ kind: "algorithms", key, algorithm, complaint }));
  each(LIST_KEYS, (key) => ({ kind: "list", key }));
  return map;
})();

/** Applies one keyword line (everything but Host, Match and Include). */
export function applyKeyword(opcode: Opcode, line: KeywordLine): void {
  const h = new LineHandler(line);
  h.apply(opcode);
  if (h.remaining() > 0) {
    h.fail("JG_CONFIG_SYNTAX", `keyword ${line.keyword} extra arguments at end of line.`);
  }
}

class LineHandler {
  private next = 0;
  constructor(private readonly line: KeywordLine) {}

  remaining(): number {
    return this.line.args.length - this.next;
  }

  fail(code: "JG_CONFIG_SYNTAX" | "JG_CONFIG_BAD_VALUE" | "JG_FORWARD_SPEC", message: string): never {
    throw new ConfigError(code, message, this.line.where);
  }

  private arg(): string | undefined {
    const a = this.line.args[this.next];
    if (a !== undefined) this.next++;
    return a;
  }

  private consumeAll(): void {
    this.next = this.line.args.length;
  }

  private requireArg(what = "argument"): string {
    const a = this.arg();
    if (a === undefined || a === "")
      this.fail("JG_CONFIG_SYNTAX", `Missing ${what} for ${this.line.keyword}.`);
    return a;
  }

  private get o(): Options {
    return this.line.options;
  }

  private setInt(key: IntKey, value: number): void {
    if (this.line.active && this.o[key] === -1) (this.o[key] as number) = value;
  }

  private setString(key: StringKey, value: string): void {
    if (this.line.active && this.o[key] === null) {
      (this.o[key] as string | null) = value;
      this.o.origins[key] = this.line.where;
    }
  }

  apply(opcode: Opcode): void {
    const simple = SIMPLE_HANDLERS.get(opcode);
    if (simple !== undefined) {
      this.applySimple(simple);
      return;
    }
    switch (opcode) {
      case "ignore":
        this.consumeAll();
        return;
      case "deprecated":
        this.consumeAll();
        return;
      case "unsupported":
        // OpenSSH prints an error for these and still accepts the file.
        this.line.warn(`Unsupported option "${this.line.keyword}" (ignored; OpenSSH no longer supports it).`);
        this.consumeAll();
        return;
      case "forwardagent":
        this.forwardAgent();
        return;
      case "identityfile": {
        const path = this.requireArg();
        if (this.line.active) addIdentityFile(this.o, path, this.line.flags.userConfig);
        return;
      }
      case "certificatefile": {
        const path = this.requireArg();
        if (this.line.active) addCertificateFile(this.o, path, this.line.flags.userConfig);
        return;
      }
      case "port": {
        const text = this.requireArg();
        const port = a2port(text);
        if (port <= 0) this.fail("JG_CONFIG_BAD_VALUE", `Bad port '${text}': use a number from 1 to 65535.`);
        this.setInt("port", port);
        return;
      }
      case "rekeylimit":
        this.rekeyLimit();
        return;
      case "proxyjump":
        this.proxyJump();
        return;
      case "loglevel": {
        const text = this.arg();
        const level = text?.toUpperCase();
        if (level === undefined || !LOG_LEVELS.includes(level)) {
          this.fail(
            "JG_CONFIG_BAD_VALUE",
            `unsupported log level '${text ?? "<NONE>"}' (use one of ${LOG_LEVELS.join(", ")}).`,
          );
        }
        if (this.line.active && this.o.logLevel === null) this.o.logLevel = LOG_LEVEL_NAME[level] ?? level;
        return;
      }
      case "syslogfacility": {
        const text = this.arg();
        const facility = text?.toUpperCase();
        if (facility === undefined || !LOG_FACILITIES.includes(facility)) {
          this.fail("JG_CONFIG_BAD_VALUE", `unsupported log facility '${text ?? "<NONE>"}'.`);
        }
        // OpenSSH sets the facility even in inactive blocks; kept for fidelity.
        if (this.o.logFacility === null) this.o.logFacility = facility;
        return;
      }
      case "logverbose":
        this.pathList("logVerbose");
        return;
      case "localforward":
      case "remoteforward":
      case "dynamicforward":
        this.forward(opcode);
        return;
      case "permitremoteopen":
        this.permitRemoteOpen();
        return;
      case "escapechar":
        this.escapeChar();
        return;
      case "sendenv":
        this.sendEnv();
        return;
      case "setenv":
        this.setEnv();
        return;
      case "controlpersist":
        this.controlPersist();
        return;
      case "tunneldevice": {
        const text = this.requireArg();
        const tun = a2tun(text);
        if (tun === null) this.fail("JG_CONFIG_BAD_VALUE", "Bad tun device.");
        if (this.line.active && this.o.tunLocal === -1) {
          this.o.tunLocal = tun.local;
          this.o.tunRemote = tun.remote;
        }
        return;
      }
      case "ipqos":
        this.ipqos();
        return;
      case "canonicaldomains":
        this.canonicalDomains();
        return;
      case "canonicalizepermittedcnames":
        this.permittedCnames();
        return;
      case "streamlocalbindmask": {
        const text = this.arg();
        if (text === undefined || text === "")
          this.fail("JG_CONFIG_SYNTAX", "Missing StreamLocalBindMask argument.");
        const m = /^[ \t]*([+-]?[0-7]+)/.exec(text);
        const value = m ? Number.parseInt(m[1] as string, 8) : Number.NaN;
        if (!m || value < 0 || value > 0o777)
          this.fail("JG_CONFIG_BAD_VALUE", "Bad mask: use an octal mode such as 0177.");
        // OpenSSH stores the mask unconditionally (last value wins); kept for fidelity.
        this.o.streamlocalBindMask = value;
        return;
      }
      case "fingerprinthash": {
        const text = this.requireArg();
        const value = FP_HASH[text.toLowerCase() as keyof typeof FP_HASH];
        if (value === undefined)
          this.fail("JG_CONFIG_BAD_VALUE", `Invalid hash algorithm "${text}" (use sha256 or md5).`);
        this.setInt("fingerprintHash", value);
        return;
      }
      case "addkeystoagent":
        this.addKeysToAgent();
        return;
      case "identityagent":
        this.agentPath("identityAgent", this.requireArg());
        return;
      default:
        throw new ConfigError("JG_INTERNAL", `keyword ${this.line.keyword} has no handler.`, this.line.where);
    }
  }

  private applySimple(simple: SimpleHandler): void {
    switch (simple.kind) {
      case "flag":
        this.multistate(simple.key, FLAG);
        return;
      case "multistate":
        this.multistate(simple.key, simple.table);
        return;
      case "string":
        this.setString(simple.key, this.requireArg());
        return;
      case "time":
        this.time(simple.key);
        return;
      case "int":
        this.integer(simple.key);
        return;
      case "command":
        this.command(simple.opcode, simple.key);
        return;
      case "algorithms":
        this.algorithms(simple.key, simple.algorithm, simple.complaint);
        return;
      case "list":
        this.pathList(simple.key);
        return;
    }
  }

  private multistate(key: IntKey, table: Multistate): void {
    const text = this.arg();
    if (text === undefined || text === "")
      this.fail("JG_CONFIG_SYNTAX", `missing argument for ${this.line.keyword}.`);
    const value = table[text.toLowerCase()];
    if (value === undefined) {
      this.fail(
        "JG_CONFIG_BAD_VALUE",
        `unsupported option "${text}" for ${this.line.keyword}: use one of ${Object.keys(table).join(", ")}.`,
      );
    }
    this.setInt(key, value);
  }

  private time(key: IntKey): void {
    const text = this.arg();
    if (text === undefined || text === "") this.fail("JG_CONFIG_SYNTAX", "missing time value.");
    const value = text === "none" ? -1 : convtime(text);
    if (text !== "none" && value === -1) {
      this.fail(
        "JG_CONFIG_BAD_VALUE",
        `invalid time value '${text}' for ${this.line.keyword} (e.g. 30, 90s, 10m, 1h30m).`,
      );
    }
    this.setInt(key, value);
  }

  private integer(key: IntKey): void {
    const result = atoiErr(this.arg());
    if ("error" in result)
      this.fail("JG_CONFIG_BAD_VALUE", `integer value ${result.error} for ${this.line.keyword}.`);
    this.setInt(key, result.value);
  }

  private command(opcode: Opcode, key: StringKey): void {
    const text = this.line.rest.replace(/^[ \t\r\n=]+/, "");
    this.consumeAll();
    // A ProxyJump seen earlier has already set ProxyCommand to "none", so the first of the two wins.
    void opcode;
    this.setString(key, text);
  }

  private algorithms(key: StringKey, kind: AlgorithmKind, complaint: string): void {
    const text = this.requireArg();
    if (!algorithmListValid(kind, text)) {
      this.fail(
        "JG_CONFIG_BAD_VALUE",
        `${complaint} '${text}': for the supported names, ${kind === "gsskex" ? "see ssh_config(5)" : `run 'ssh -Q ${kind}'`}.`,
      );
    }
    this.setString(key, text);
  }

  private pathList(key: ListKey): void {
    const wasEmpty = this.o[key].length === 0;
    const args = this.line.args.slice(this.next);
    this.consumeAll();
    args.forEach((arg, i) => {
      if (arg === "") this.fail("JG_CONFIG_SYNTAX", `keyword ${this.line.keyword} empty argument.`);
      if (arg.toLowerCase() === "none" && (i > 0 || args.length > 1)) {
        this.fail("JG_CONFIG_BAD_VALUE", `keyword ${this.line.keyword} "none" argument must appear alone.`);
      }
      // Known-hosts lists are filled only if empty when the line starts; LogVerbose checks before
      // every word, so only the first word of the first line counts (as in OpenSSH).
      const empty = key === "logVerbose" ? this.o[key].length === 0 : wasEmpty;
      if (this.line.active && empty) this.o[key].push(arg);
    });
  }

  private forwardAgent(): void {
    const text = this.requireArg();
    const value = FLAG[text.toLowerCase()];
    if (value !== undefined) {
      this.setInt("forwardAgent", value);
      return;
    }
    // Not yes/no: a socket path to forward instead of $SSH_AUTH_SOCK.
    this.setInt("forwardAgent", 1);
    this.agentPath("forwardAgentSockPath", text);
  }

  private agentPath(key: "identityAgent" | "forwardAgentSockPath", text: string): void {
    const expanded = expandTokens(text, null, this.line.env.env);
    if (!expanded.ok)
      this.fail("JG_CONFIG_BAD_VALUE", `Invalid environment expansion ${text}: ${expanded.reason}.`);
    if (text.startsWith("$") && text[1] !== "{" && !validEnvName(text.slice(1))) {
      this.fail("JG_CONFIG_BAD_VALUE", `Invalid environment name ${text}.`);
    }
    this.setString(key, text);
  }

  private rekeyLimit(): void {
    const text = this.arg();
    if (text === undefined || text === "") this.fail("JG_CONFIG_SYNTAX", "Missing argument.");
    let value: bigint;
    if (text === "default") value = 0n;
    else {
      const scaled = scanScaled(text);
      if (scaled === null) this.fail("JG_CONFIG_BAD_VALUE", `Bad number '${text}' (e.g. 1G or 500M).`);
      if (scaled !== 0n && scaled < 16n) this.fail("JG_CONFIG_BAD_VALUE", "RekeyLimit too small.");
      value = scaled;
    }
    if (this.line.active && this.o.rekeyLimit === -1n) this.o.rekeyLimit = value;
    if (this.remaining() > 0) {
      if (this.line.args[this.next] === "none") {
        this.next++;
        return;
      }
      this.time("rekeyInterval");
    }
  }

  private proxyJump(): void {
    const text = this.line.rest.replace(/^[ \t\r\n=]+/, "");
    this.consumeAll();
    const parsed = parseJump(text, this.line.cmdline);
    if (!parsed.ok) {
      this.fail(
        "JG_CONFIG_BAD_VALUE",
        `Invalid ProxyJump "${text}" (${parsed.reason}): use [user@]host[:port][,...] or ssh://[user@]host[:port].`,
      );
    }
    if (!this.line.active) return;
    applyJump(this.o, parsed.jump);
    this.o.origins.jumpHost = this.line.where;
  }

  private forward(opcode: "localforward" | "remoteforward" | "dynamicforward"): void {
    const first = this.requireArg();
    const remote = opcode === "remoteforward";
    let dynamic = opcode === "dynamicforward";
    let spec = first;
    if (!dynamic) {
      const second = this.arg();
      if (second === undefined || second === "") {
        if (remote) dynamic = true;
        else
          this.fail(
            "JG_FORWARD_SPEC",
            "Missing target argument: write LocalForward [bind:]port host:hostport.",
          );
      } else {
        spec = `${first}:${second}`;
      }
    }
    // OpenSSH builds the spec in a 256-byte buffer; longer specs are silently cut.
    if (spec.length > 255) spec = spec.slice(0, 255);
    const fwd = parseForward(spec, dynamic, remote, (s) => {
      if (!s.includes("${")) return s;
      const r = expandTokens(s, null, this.line.env.env);
      return r.ok ? r.value : null;
    });
    if (fwd === null) {
      this.fail("JG_FORWARD_SPEC", `Bad forwarding specification '${spec}'. ${forwardSyntaxHint(opcode)}`);
    }
    if (!this.line.active) return;
    const list = remote ? this.o.remoteForwards : this.o.localForwards;
    if (!list.some((f) => forwardEquals(f, fwd))) list.push(fwd);
  }

  private permitRemoteOpen(): void {
    const args = this.line.args.slice(this.next);
    this.consumeAll();
    const wasEmpty = this.o.permittedRemoteOpens.length === 0;
    if (args.length === 0) this.fail("JG_CONFIG_SYNTAX", "missing PermitRemoteOpen specification.");
    args.forEach((arg, i) => {
      const lower = arg.toLowerCase();
      if (lower === "none" || lower === "any") {
        if (i > 0 || args.length > 1)
          this.fail(
            "JG_CONFIG_BAD_VALUE",
            `keyword ${this.line.keyword} "${arg}" argument must appear alone.`,
          );
      } else {
        const m = /^(\[[^\]]*\]|[^:/]*)(?::(.*))?$/.exec(arg);
        if (!m || m[1] === "") this.fail("JG_CONFIG_BAD_VALUE", `missing host in permitremoteopen.`);
        const port = m[2];
        if (port === undefined || (port !== "*" && a2port(port) <= 0)) {
          this.fail("JG_CONFIG_BAD_VALUE", "bad port number in permitremoteopen (use host:port or host:*).");
        }
      }
      if (this.line.active && wasEmpty) this.o.permittedRemoteOpens.push(arg);
    });
  }

  private escapeChar(): void {
    const text = this.requireArg();
    let value: number;
    if (text === "none") value = ESCAPECHAR_NONE;
    else if (text.length === 1) value = text.charCodeAt(0);
    else if (text.length === 2 && text[0] === "^" && text.charCodeAt(1) >= 64 && text.charCodeAt(1) < 128) {
      value = text.charCodeAt(1) & 31;
    } else this.fail("JG_CONFIG_BAD_VALUE", "Bad escape character: use one character, ^X or none.");
    this.setInt("escapeChar", value);
  }

  private sendEnv(): void {
    while (this.remaining() > 0) {
      const arg = this.arg() as string;
      if (arg === "" || arg.includes("="))
        this.fail("JG_CONFIG_BAD_VALUE", "Invalid environment name (SendEnv takes names, not NAME=value).");
      if (!this.line.active) continue;
      if (arg.startsWith("-")) {
        this.o.sendEnv = this.o.sendEnv.filter((name) => !matchPattern(name, arg.slice(1)));
        continue;
      }
      this.o.sendEnv.push(arg);
    }
  }

  private setEnv(): void {
    const startedEmpty = this.o.setEnv.length === 0;
    while (this.remaining() > 0) {
      const arg = this.arg() as string;
      if (!arg.includes("=")) this.fail("JG_CONFIG_BAD_VALUE", "Invalid SetEnv: use NAME=value.");
      if (!this.line.active || !startedEmpty) continue;
      const name = arg.slice(0, arg.indexOf("="));
      if (this.o.setEnv.some((existing) => existing.slice(0, existing.indexOf("=")) === name)) continue;
      this.o.setEnv.push(arg);
    }
  }

  private controlPersist(): void {
    const text = this.arg();
    if (text === undefined || text === "") this.fail("JG_CONFIG_SYNTAX", "Missing ControlPersist argument.");
    let value: number;
    let timeout = 0;
    if (text === "no" || text === "false") value = 0;
    else if (text === "yes" || text === "true") value = 1;
    else {
      timeout = convtime(text);
      if (timeout < 0)
        this.fail("JG_CONFIG_BAD_VALUE", "Bad ControlPersist argument: use yes, no or a time such as 10m.");
      value = 1;
    }
    if (this.line.active && this.o.controlPersist === -1) {
      this.o.controlPersist = value;
      this.o.controlPersistTimeout = timeout;
    }
  }

  private ipqos(): void {
    const first = this.arg();
    const interactive = parseIpqos(first);
    if (interactive === -1) this.fail("JG_CONFIG_BAD_VALUE", `Bad IPQoS value: ${first}.`);
    const second = this.arg();
    const bulk = second === undefined ? interactive : parseIpqos(second);
    if (bulk === -1) this.fail("JG_CONFIG_BAD_VALUE", `Bad IPQoS value: ${second}.`);
    if (this.line.active && this.o.ipQosInteractive === -1) {
      this.o.ipQosInteractive = interactive;
      this.o.ipQosBulk = bulk;
    }
  }

  private canonicalDomains(): void {
    const startedSet = this.o.canonicalDomains.length !== 0;
    const args = this.line.args.slice(this.next);
    this.consumeAll();
    args.forEach((arg, i) => {
      if (arg === "") this.fail("JG_CONFIG_SYNTAX", `keyword ${this.line.keyword} empty argument.`);
      if (arg.toLowerCase() === "none" && (i > 0 || args.length > 1)) {
        this.fail("JG_CONFIG_BAD_VALUE", `keyword ${this.line.keyword} "none" argument must appear alone.`);
      }
      const checked = validDomain(arg, true);
      if ("error" in checked) this.fail("JG_CONFIG_BAD_VALUE", checked.error);
      if (!this.line.active || startedSet) return;
      this.o.canonicalDomains.push(checked.name);
    });
  }

  private permittedCnames(): void {
    const startedSet = this.o.permittedCnames.length !== 0;
    const args = this.line.args.slice(this.next);
    this.consumeAll();
    args.forEach((arg, i) => {
      let source: string;
      let target: string;
      if (arg.toLowerCase() === "none") {
        if (i > 0 || args.length > 1)
          this.fail("JG_CONFIG_BAD_VALUE", `keyword ${this.line.keyword} "none" argument must appear alone.`);
        source = arg;
        target = "";
      } else if (arg === "*") {
        source = arg;
        target = arg;
      } else {
        const lower = arg.toLowerCase();
        const colon = lower.indexOf(":");
        if (colon < 0 || colon === lower.length - 1)
          this.fail("JG_CONFIG_BAD_VALUE", `Invalid permitted CNAME "${lower}" (use source:target).`);
        source = lower.slice(0, colon);
        target = lower.slice(colon + 1);
      }
      if (!this.line.active || startedSet) return;
      this.o.permittedCnames.push({ source, target });
    });
  }

  private addKeysToAgent(): void {
    const first = this.arg();
    const second = this.arg();
    let value = first === undefined || first === "" ? -1 : (YESNOASKCONFIRM[first.toLowerCase()] ?? -1);
    let lifespan = 0;
    if (value === 3 && second !== undefined) {
      lifespan = convtime(second);
      if (lifespan === -1) this.fail("JG_CONFIG_BAD_VALUE", "invalid time value for AddKeysToAgent.");
    } else if (value === -1 && second === undefined) {
      lifespan = first === undefined ? -1 : convtime(first);
      if (lifespan === -1)
        this.fail(
          "JG_CONFIG_BAD_VALUE",
          "unsupported option for AddKeysToAgent (use yes, no, ask, confirm or a time).",
        );
      value = 1;
    } else if (value === -1 || second !== undefined) {
      this.fail(
        "JG_CONFIG_BAD_VALUE",
        "unsupported option for AddKeysToAgent (use yes, no, ask, confirm or a time).",
      );
    }
    if (this.line.active && this.o.addKeysToAgent === -1) {
      this.o.addKeysToAgent = value;
      this.o.addKeysToAgentLifespan = lifespan;
    }
  }
}

/**
 * Stores a parsed ProxyJump if none is set yet (parse_jump() with active=1): `none` only marks the
 * jump as disabled, so a later ProxyCommand still applies; a real hop also sets ProxyCommand to
 * "none", so ProxyJump and ProxyCommand are first-match-wins between each other.
 */
export function applyJump(o: Options, jump: ParsedJump): void {
  if (jump.none) {
    if (o.jumpHost === null) {
      o.jumpHost = "none";
      o.jumpPort = 0;
    }
    return;
  }
  if (o.proxyCommand !== null || o.jumpHost !== null) return;
  const last = jump.last!;
  o.jumpUser = last.user;
  o.jumpHost = last.host;
  o.jumpPort = last.port;
  o.proxyCommand = "none";
  o.jumpExtra = jump.extra;
}

function forwardSyntaxHint(opcode: Opcode): string {
  switch (opcode) {
    case "localforward":
      return "Use [bind_address:]port host:hostport, or a Unix socket path on either side.";
    case "remoteforward":
      return "Use [bind_address:]port host:hostport, [bind_address:]port for a SOCKS forward, or Unix socket paths.";
    default:
      return "Use [bind_address:]port.";
  }
}
