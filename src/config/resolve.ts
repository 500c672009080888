/**
 * resolve(): what `ssh` computes before it connects (ssh.c main()): command-line options first,
 * then the user's config, then the system config; HostName substitution; the optional final pass;
 * defaults; and token expansion in the keywords that take tokens. The result prints as `ssh -G`
 * does (dump.ts) and carries the route: every hop, each resolved as its own destination.
 */
import { isIP } from "node:net";
import { ConfigError, JumpgateError } from "../errors.js";
import { parseJump, parseSshUri, validHostname, validRemoteUser } from "./destination.js";
import { type ConfigEnvironment, nodeEnvironment } from "./environment.js";
import { type Forward, PORT_STREAMLOCAL, parseForwardOf } from "./forward.js";
import { applyJump } from "./handlers.js";
import { connectionHash } from "./match.js";
import {
  ADDRESS_FAMILY,
  addIdentityFile,
  fillCanonicalizationDefaults,
  fillDefaults,
  initialOptions,
  type Options,
} from "./options.js";
import { processLine, type ReadContext, type ReadFlags, readConfigFile } from "./reader.js";
import { expandTilde, expandTokens, type TokenMap } from "./tokens.js";
import { a2port } from "./values.js";

/** One command-line argument that shapes the config, in the order it was given (order matters, as with ssh). */
export type CliItem =
  | { kind: "option"; value: string } // -o Keyword=value
  | { kind: "user"; value: string } // -l
  | { kind: "port"; value: string } // -p
  | { kind: "jump"; value: string } // -J
  | { kind: "local"; value: string } // -L
  | { kind: "remote"; value: string } // -R
  | { kind: "dynamic"; value: string } // -D
  | { kind: "identity"; value: string } // -i
  | { kind: "forwardAgent"; value: boolean } // -A / -a
  | { kind: "destination"; value: string };

export interface ResolveRequest {
  /** Items in command-line order; exactly one destination. */
  items: CliItem[];
  /** -F: replaces both the user and the system file; "none" reads no file. */
  configFile?: string;
  /** Override the system config path (tests). */
  systemConfigFile?: string;
  env?: ConfigEnvironment;
}

export type HopTransport = "tcp" | "proxycommand" | "jump";

export interface RouteHop {
  /** The name the hop was asked for (Host pattern matching uses it). */
  name: string;
  user: string;
  hostname: string;
  port: number;
  transport: HopTransport;
  proxyCommand?: string;
}

export interface ResolvedHost {
  /** The destination as given (host part). */
  hostArg: string;
  /** Final host name after HostName and canonicalisation (what `ssh -G` prints as hostname). */
  hostname: string;
  options: Options;
  /** Problems ssh reports on stderr without failing (e.g. a missing ForwardAgent socket). */
  warnings: string[];
}

interface ParsedCli {
  options: Options;
  host: string;
}

const SYSTEM_CONFIG = "/etc/ssh/ssh_config";

/** Resolves the options of one destination (what `ssh -G` prints). */
export function resolve(request: ResolveRequest): ResolvedHost {
  const env = request.env ?? nodeEnvironment();
  const warnings: string[] = [];
  const { options, host: hostArg } = applyCommandLine(request.items, env, warnings);
  options.hostArg = hostArg;
  let host = hostArg;

  const ctx: ReadContext = { options, env, host, originalHost: hostArg, wantFinalPass: false, warnings };
  readAllConfigs(request, ctx, false);
  let wantFinalPass = ctx.wantFinalPass;
  fillCanonicalizationDefaults(options);

  if (options.hostname !== null) {
    const expanded = expandTokens(options.hostname, { h: host }, null);
    if (!expanded.ok) {
      throw new ConfigError(
        "JG_CONFIG_TOKEN",
        `HostName: ${expanded.reason} (HostName accepts %h and %%).`,
        options.origins.hostname,
      );
    }
    host = expanded.value;
    options.hostname = host;
  }
  host = normaliseHost(host, options.addressFamily);
  // jumpgate never performs DNS canonicalisation (see docs/differences.md); CanonicalizeHostname
  // still triggers the final pass exactly as in OpenSSH.
  if (options.canonicalizeHostname !== 0 && !wantFinalPass) wantFinalPass = true;
  if (wantFinalPass) {
    options.hostname = host;
    const finalCtx: ReadContext = {
      options,
      env,
      host,
      originalHost: hostArg,
      wantFinalPass: false,
      warnings,
    };
    readAllConfigs(request, finalCtx, true);
  }

  const failedList = fillDefaults(options);
  if (failedList !== null) {
    throw new ConfigError(
      "JG_CONFIG_BAD_VALUE",
      `${failedList}: the algorithm list matches no supported algorithm.`,
    );
  }
  options.user ??= env.userName;

  if (options.jumpHost !== null) {
    const port = options.port <= 0 ? 22 : options.port;
    const jumpPort = options.jumpPort <= 0 ? 22 : options.jumpPort;
    const jumpUser = options.jumpUser ?? options.user;
    if (options.jumpHost === host && port === jumpPort && options.user === jumpUser) {
      throw new JumpgateError(
        "JG_JUMP_LOOP",
        `jumphost loop via ${options.jumpHost}: a host cannot be its own jump host.`,
      );
    }
  }
  // ssh never passes a file descriptor back from a ProxyJump hop.
  if (options.jumpHost !== null) options.proxyUseFdpass = 0;
  if (options.port === 0) options.port = 22;
  if (options.hostKeyAlias !== null) options.hostKeyAlias = options.hostKeyAlias.toLowerCase();
  checkConsistency(options);
  expandConnectionTokens(options, host, env, warnings);

  return { hostArg, hostname: host, options, warnings };
}

function readAllConfigs(request: ResolveRequest, ctx: ReadContext, finalPass: boolean): void {
  const base: ReadFlags = { userConfig: true, checkPermissions: false, finalPass, neverMatch: false };
  if (request.configFile !== undefined) {
    if (request.configFile.toLowerCase() === "none") return;
    if (!readConfigFile(request.configFile, ctx, base)) {
      throw new ConfigError(
        "JG_CONFIG_FILE",
        `Can't open user config file ${request.configFile}: No such file or directory. Check the -F path.`,
      );
    }
    return;
  }
  readConfigFile(`${ctx.env.ownHome.replace(/\/$/, "")}/.ssh/config`, ctx, {
    ...base,
    checkPermissions: true,
  });
  readConfigFile(request.systemConfigFile ?? SYSTEM_CONFIG, ctx, { ...base, userConfig: false });
}

function applyCommandLine(items: CliItem[], env: ConfigEnvironment, warnings: string[]): ParsedCli {
  const options = initialOptions();
  let host: string | null = null;
  const expandEnv = (s: string) => {
    const r = expandTokens(s, null, env.env);
    return r.ok ? r.value : null;
  };
  const bad = (message: string): never => {
    throw new JumpgateError("JG_USAGE", message, { exitCode: 255 });
  };
  for (const item of items) {
    switch (item.kind) {
      case "option": {
        const ctx: ReadContext = {
          options,
          env,
          host: host ?? "",
          originalHost: host ?? "",
          wantFinalPass: false,
          warnings,
        };
        const flags: ReadFlags = {
          userConfig: true,
          checkPermissions: false,
          finalPass: false,
          neverMatch: false,
        };
        processLine(item.value, { file: "command-line", line: 0 }, ctx, flags, null, 0);
        break;
      }
      case "user":
        options.user ??= item.value;
        break;
      case "port":
        if (options.port === -1) {
          const port = a2port(item.value);
          if (port <= 0) bad(`Bad port '${item.value}': use a number from 1 to 65535.`);
          options.port = port;
        }
        break;
      case "jump": {
        if (options.jumpHost !== null)
          bad("Only a single -J option is permitted (use commas to separate multiple jump hops).");
        if (options.proxyCommand !== null) bad("Cannot specify -J with ProxyCommand.");
        const parsed = parseJump(item.value, true);
        if (!parsed.ok)
          bad(`Invalid -J argument '${item.value}': ${parsed.reason}. Use [user@]host[:port][,...].`);
        else applyJump(options, parsed.jump);
        break;
      }
      case "local":
      case "remote":
      case "dynamic":
        addCliForward(options, item.kind, item.value, expandEnv);
        break;
      case "identity": {
        const path = expandTilde(item.value, env) ?? item.value;
        // ssh stat()s -i files: a missing one is reported and left out.
        if (env.pathExists(path)) addIdentityFile(options, path, true);
        else warnings.push(`Identity file ${path} not accessible: No such file or directory.`);
        break;
      }
      case "forwardAgent":
        options.forwardAgent = item.value ? 1 : 0;
        break;
      case "destination": {
        if (host !== null) bad(`Only one destination is allowed; got '${host}' and '${item.value}'.`);
        host = parseDestination(item.value, options);
        break;
      }
    }
  }
  if (host === null) bad("No destination given: name a host, user@host or ssh://user@host:port.");
  // Names from the command line may end up in a shell (ProxyCommand, Match exec tokens), so
  // OpenSSH refuses shell metacharacters in them; names from config files are trusted.
  if (!validHostname(host!)) {
    throw new JumpgateError(
      "JG_DESTINATION",
      `hostname contains invalid characters: '${host}'. Host names may not start with '-' or contain spaces, commas or shell characters.`,
      { exitCode: 255 },
    );
  }
  if (options.user !== null && !validRemoteUser(options.user)) {
    throw new JumpgateError(
      "JG_DESTINATION",
      `remote username contains invalid characters: '${options.user}'. User names may not start with '-' or contain shell characters.`,
      { exitCode: 255 },
    );
  }
  return { options, host: host! };
}

function addCliForward(
  options: Options,
  kind: "local" | "remote" | "dynamic",
  spec: string,
  expandEnv: (s: string) => string | null,
): void {
  const fwd: Forward | null = parseForwardOf(kind, spec, expandEnv);
  if (fwd === null) {
    const name = kind === "local" ? "local" : kind === "remote" ? "remote" : "dynamic";
    throw new JumpgateError(
      "JG_FORWARD_SPEC",
      `Bad ${name} forwarding specification '${spec}'. Use ${kind === "dynamic" ? "[bind_address:]port" : "[bind_address:]port:host:hostport"}.`,
      { exitCode: 255 },
    );
  }
  const list = kind === "remote" ? options.remoteForwards : options.localForwards;
  if (!list.some((f) => JSON.stringify(f) === JSON.stringify(fwd))) list.push(fwd);
}

/** ssh's destination forms: ssh://[user@]host[:port], [user@]host. */
function parseDestination(text: string, options: Options): string {
  const uri = parseSshUri(text);
  if (uri === null) {
    throw new JumpgateError(
      "JG_DESTINATION",
      `Invalid destination '${text}': use ssh://[user@]host[:port] without a path.`,
      {
        exitCode: 255,
      },
    );
  }
  if (uri !== "not-uri") {
    if (uri.user !== null) options.user ??= uri.user;
    if (options.port === -1 && uri.port !== -1) options.port = uri.port;
    return uri.host;
  }
  const at = text.lastIndexOf("@");
  if (at === 0)
    throw new JumpgateError(
      "JG_DESTINATION",
      `Invalid destination '${text}': the user before '@' is empty.`,
      { exitCode: 255 },
    );
  if (at > 0) {
    options.user ??= text.slice(0, at);
    return text.slice(at + 1);
  }
  if (text === "") throw new JumpgateError("JG_DESTINATION", "The destination is empty.", { exitCode: 255 });
  return text;
}

/** is_addr_fast(): only an address can contain ':' or '%' or consist of digits and dots. */
function isAddressFast(host: string): boolean {
  return host.includes("%") || host.includes(":") || /^[0-9.]*$/.test(host);
}

/**
 * getaddrinfo(AI_NUMERICHOST) then getnameinfo(NI_NUMERICHOST): the canonical text of a numeric
 * address in the allowed family (inet_aton forms such as 127.1 or 0x7f.1 included), or null.
 */
function numericAddress(host: string, family: number): string | null {
  if (host.includes("%")) return null;
  try {
    if (host.includes(":")) {
      if (isIP(host) !== 6 || family === ADDRESS_FAMILY.inet) return null;
      return new URL(`http://[${host}]/`).hostname.slice(1, -1);
    }
    if (family === ADDRESS_FAMILY.inet6 || host === "" || !/^[0-9a-fA-FxX.]+$/.test(host)) return null;
    // The WHATWG URL parser reads IPv4 numbers as inet_aton() does (decimal, octal, hex, short forms).
    const normal = new URL(`http://${host}/`).hostname;
    return isIP(normal) === 4 ? normal : null;
  } catch {
    return null;
  }
}

/**
 * ssh.c: a numeric address keeps its case and is rewritten only when its canonical form differs
 * other than by case; a name is lowercased. AddressFamily (as read so far) limits what counts.
 */
function normaliseHost(host: string, addressFamily: number): string {
  const family = addressFamily === -1 ? ADDRESS_FAMILY.any : addressFamily;
  const numeric = numericAddress(host, family);
  if (numeric !== null) return numeric.toLowerCase() === host.toLowerCase() ? host : numeric;
  return isAddressFast(host) ? host : host.toLowerCase();
}

const LOG_ORDER = ["SILENT", "FATAL", "ERROR", "INFO", "VERBOSE", "DEBUG", "DEBUG2", "DEBUG3"];

/** The checks ssh.c makes after defaults, before it would connect. */
function checkConsistency(o: Options): void {
  if (o.proxyCommand === "-" && o.proxyUseFdpass) {
    throw new ConfigError("JG_CONFIG_BAD_VALUE", "ProxyCommand=- and ProxyUseFDPass are incompatible.");
  }
  if (o.updateHostkeys === 2) {
    // UpdateHostKeys=ask needs an interactive session; ssh quietly turns it off otherwise.
    if (o.controlPersist && o.controlPath !== null) o.updateHostkeys = 0;
    else if (o.remoteCommand !== null || o.requestTty === 0) o.updateHostkeys = 0;
    else if (LOG_ORDER.indexOf(o.logLevel ?? "INFO") < LOG_ORDER.indexOf("INFO")) o.updateHostkeys = 0;
  }
  if (o.connectionAttempts <= 0) {
    throw new ConfigError("JG_CONFIG_BAD_VALUE", "Invalid number of ConnectionAttempts: use 1 or more.");
  }
  if (o.forkAfterAuthentication && o.remoteCommand === null && o.sessionType !== 0) {
    throw new ConfigError(
      "JG_CONFIG_BAD_VALUE",
      "Cannot fork into background without a command to execute (ForkAfterAuthentication needs RemoteCommand or SessionType none).",
    );
  }
}

/** The tokens most keywords accept (DEFAULT_CLIENT_PERCENT_EXPAND_ARGS). */
export function connectionTokens(o: Options, host: string, env: ConfigEnvironment): TokenMap {
  const port = String(o.port);
  const user = o.user ?? env.userName;
  return {
    C: connectionHash(env.localHostname, host, port, user),
    L: env.localHostname.split(".")[0] as string,
    i: String(env.uid),
    k: o.hostKeyAlias ?? o.hostArg ?? host,
    l: env.localHostname,
    n: o.hostArg ?? host,
    p: port,
    d: env.ownHome,
    h: host,
    r: user,
    u: env.userName,
  };
}

function expandConnectionTokens(o: Options, host: string, env: ConfigEnvironment, warnings: string[]): void {
  const tokens = connectionTokens(o, host, env);
  const expand = (
    value: string,
    keyword: string,
    key: string,
    withEnv: boolean,
    withTilde: boolean,
  ): string => {
    const tilded = withTilde ? expandTilde(value, env) : value;
    if (tilded === null)
      throw new ConfigError("JG_CONFIG_TOKEN", `${keyword}: unknown user in '${value}'.`, o.origins[key]);
    const r = expandTokens(tilded, tokens, withEnv ? env.env : null);
    if (!r.ok)
      throw new ConfigError("JG_CONFIG_TOKEN", `${keyword}: ${r.reason} in '${value}'.`, o.origins[key]);
    return r.value;
  };
  if (o.remoteCommand !== null)
    o.remoteCommand = expand(o.remoteCommand, "RemoteCommand", "remoteCommand", false, false);
  if (o.controlPath !== null) o.controlPath = expand(o.controlPath, "ControlPath", "controlPath", true, true);
  if (o.identityAgent !== null)
    o.identityAgent = expand(o.identityAgent, "IdentityAgent", "identityAgent", true, true);
  if (o.forwardAgentSockPath !== null) {
    o.forwardAgentSockPath = expand(
      o.forwardAgentSockPath,
      "ForwardAgent",
      "forwardAgentSockPath",
      true,
      true,
    );
    if (!env.pathExists(o.forwardAgentSockPath)) {
      const message = `Cannot forward agent socket path "${o.forwardAgentSockPath}": No such file or directory`;
      if (o.exitOnForwardFailure) {
        throw new ConfigError(
          "JG_CONFIG_BAD_VALUE",
          `${message} (and ExitOnForwardFailure is set).`,
          o.origins.forwardAgentSockPath,
        );
      }
      warnings.push(message);
    }
  }
  for (const [key, name] of [
    ["systemHostfiles", "GlobalKnownHostsFile"],
    ["userHostfiles", "UserKnownHostsFile"],
  ] as const) {
    const list = o[key];
    if (list.length > 0 && list[0]?.toLowerCase() === "none") {
      if (list.length > 1)
        throw new ConfigError("JG_CONFIG_BAD_VALUE", `Invalid ${name}: "none" appears with other entries.`);
      o[key] = [];
    }
  }
  o.userHostfiles = o.userHostfiles.map((f) => expand(f, "UserKnownHostsFile", "userHostfiles", true, true));
  for (const fwd of [...o.localForwards, ...o.remoteForwards]) {
    if (fwd.listenPath !== null)
      fwd.listenPath = expand(fwd.listenPath, "forward path", "forward", false, false);
    if (fwd.connectPath !== null)
      fwd.connectPath = expand(fwd.connectPath, "forward path", "forward", false, false);
  }
  void PORT_STREAMLOCAL;
}

/**
 * The route: each jump hop is resolved through the config as its own destination, as OpenSSH's
 * ProxyJump does by running `ssh [-l user] [-p port] [-J earlier-hops] [-F file] hop -W host:port`.
 * Computed only on demand: `ssh -G` never follows the hops, so a loop must not break plain output.
 */
export function resolveRoute(request: ResolveRequest, resolved: ResolvedHost = resolve(request)): RouteHop[] {
  return resolveHops(request, resolved).map((h) => h.hop);
}

/** A hop of the route with everything resolved for it (its own user, keys, host key policy...). */
export interface ResolvedHop {
  hop: RouteHop;
  resolved: ResolvedHost;
}

/** The route with each hop's resolved options, first hop first; what the connection manager dials. */
export function resolveHops(
  request: ResolveRequest,
  resolved: ResolvedHost = resolve(request),
): ResolvedHop[] {
  return buildRoute(request, resolved, new Set());
}

function buildRoute(request: ResolveRequest, resolved: ResolvedHost, visited: Set<string>): ResolvedHop[] {
  const env = request.env ?? nodeEnvironment();
  const { options: o, hostname: host } = resolved;
  const self: RouteHop = {
    name: o.hostArg ?? host,
    user: o.user ?? env.userName,
    hostname: host,
    port: o.port,
    transport: "tcp",
  };
  const key = `${self.user}@${self.hostname}:${self.port}`;
  if (visited.has(key)) {
    throw new JumpgateError(
      "JG_JUMP_LOOP",
      `jump loop: ${key} is reached through itself. Check the ProxyJump lines for ${o.hostArg}.`,
    );
  }
  if (o.jumpHost !== null) {
    const items: CliItem[] = [];
    if (o.jumpUser !== null) items.push({ kind: "user", value: o.jumpUser });
    if (o.jumpPort > 0) items.push({ kind: "port", value: String(o.jumpPort) });
    if (o.jumpExtra !== null) items.push({ kind: "jump", value: o.jumpExtra });
    items.push({ kind: "destination", value: o.jumpHost });
    const nextVisited = new Set(visited).add(key);
    const hopRequest = { ...request, items, env };
    return [
      ...buildRoute(hopRequest, resolve(hopRequest), nextVisited),
      { hop: { ...self, transport: "jump" }, resolved },
    ];
  }
  if (o.proxyCommand !== null) {
    return [{ hop: { ...self, transport: "proxycommand", proxyCommand: o.proxyCommand }, resolved }];
  }
  return [{ hop: self, resolved }];
}
