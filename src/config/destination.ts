/**
 * Destinations and jump specifications: `host`, `user@host`, `user@host:port`, `[v6]:port` and
 * `ssh://user@host:port`, parsed as misc.c parse_user_host_port() / parse_uri() do.
 */
import { a2port, validDomain } from "./values.js";

export interface UserHostPort {
  user: string | null;
  host: string;
  /** -1 when absent. */
  port: number;
}

/** hpdelim2(): splits host from the rest at ':' or '/', honouring `[...]`. */
function hpdelim(s: string): { field: string; rest: string | null; delim: string } | null {
  let end: number;
  if (s.startsWith("[")) {
    const close = s.indexOf("]");
    if (close < 0) return null;
    end = close + 1;
  } else {
    const m = s.search(/[:/]/);
    end = m < 0 ? s.length : m;
  }
  const c = s[end];
  if (c === undefined) return { field: s, rest: null, delim: "" };
  if (c === ":" || c === "/") return { field: s.slice(0, end), rest: s.slice(end + 1), delim: c };
  return null;
}

/** cleanhostname(): strips one pair of surrounding brackets. */
export function cleanHostname(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/** parse_user_host_port(): `[user@]host[:port]`; null when malformed. */
export function parseUserHostPort(s: string): UserHostPort | null {
  let rest = s;
  let user: string | null = null;
  const at = rest.lastIndexOf("@");
  if (at >= 0) {
    if (at === 0) return null;
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
  }
  const hp = hpdelim(rest);
  if (hp === null || hp.delim === "/" || hp.field === "") return null;
  const host = cleanHostname(hp.field);
  let port = -1;
  if (hp.rest !== null && hp.rest !== "") {
    port = a2port(hp.rest);
    if (port <= 0) return null;
  }
  return { user, host, port };
}

function urlDecode(s: string): string | null {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === "+") out += " ";
    else if (c === "%") {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return null;
      const code = Number.parseInt(hex, 16);
      // An encoded NUL would cut the name short in C; OpenSSH refuses it (CVE-2025-61985).
      if (code === 0) return null;
      out += String.fromCharCode(code);
      i += 2;
    } else out += c;
  }
  return out;
}

/**
 * parse_uri("ssh", ...): "not-uri" when the scheme is absent, null when it is a malformed URI
 * (a path is not allowed in an ssh:// destination), else the parts.
 */
export function parseSshUri(uri: string): UserHostPort | "not-uri" | null {
  if (!uri.startsWith("ssh://")) return "not-uri";
  let rest = uri.slice(6);
  let user: string | null = null;
  const at = rest.indexOf("@");
  if (at >= 0) {
    let info = rest.slice(0, at);
    const semi = info.indexOf(";");
    if (semi >= 0) info = info.slice(0, semi);
    if (info === "") return null;
    user = urlDecode(info);
    if (user === null) return null;
    rest = rest.slice(at + 1);
  }
  const hp = hpdelim(rest);
  if (hp === null || hp.field === "") return null;
  const checked = validDomain(cleanHostname(hp.field), false);
  if ("error" in checked) return null;
  // valid_domain() strips a trailing dot in place, so the host is used without it.
  const host = checked.name;
  let port = -1;
  let tail = hp.rest;
  if (tail !== null && tail !== "") {
    if (hp.delim === ":") {
      const slash = tail.indexOf("/");
      const portText = slash >= 0 ? tail.slice(0, slash) : tail;
      port = a2port(portText);
      if (port <= 0) return null;
      tail = slash >= 0 ? tail.slice(slash + 1) : null;
    }
    // A path after the authority is not allowed for ssh:// destinations.
    if (tail !== null && tail !== "") return null;
  }
  return { user, host, port };
}

/**
 * ssh_valid_hostname(): no leading '-', no shell metacharacters, whitespace, control characters
 * or commas. OpenSSH applies it to the destination and to hops given on the command line, so that
 * hostile input cannot reach a shell through ProxyCommand or `Match exec` tokens.
 */
export function validHostname(s: string): boolean {
  if (s.startsWith("-")) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ("'`\"$\\;&<>|(){},".includes(s[i] as string) || isSpaceOrControl(c)) return false;
  }
  return true;
}

/** ssh_valid_ruser(): like hostnames, but spaces are allowed unless a '-' follows one. */
export function validRemoteUser(s: string): boolean {
  if (s.startsWith("-")) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 32 || c === 127) return false;
    if ("'`\";&<>|(){}".includes(s[i] as string)) return false;
    if (isSpace(c) && s[i + 1] === "-") return false;
    if (s[i] === "\\" && i === s.length - 1) return false;
  }
  return true;
}

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

function isSpaceOrControl(c: number): boolean {
  return isSpace(c) || c < 32 || c === 127;
}

/** One hop of a ProxyJump list, as written. */
export type JumpHop = UserHostPort;

export interface ParsedJump {
  /** "none" disables jumping. */
  none: boolean;
  /** The hop directly before the destination (the last in the list). */
  last: JumpHop | null;
  /** The hops before `last`, still as text (OpenSSH passes them on as `-J extra`). */
  extra: string | null;
}

export type JumpResult = { ok: true; jump: ParsedJump } | { ok: false; reason: string };

/**
 * parse_jump() as in OpenSSH 10.3 (backported to Debian's 9.2p1-2+deb12u10): the comma list is
 * read right to left and every hop is parsed; only the last is kept in parts, the rest stays text.
 * `strict` (command-line -J and -o ProxyJump) also refuses hop names and users with shell
 * metacharacters; config files are trusted.
 */
export function parseJump(spec: string, strict: boolean): JumpResult {
  if (spec.toLowerCase() === "none") return { ok: true, jump: { none: true, last: null, extra: null } };
  let text = spec;
  const hash = text.indexOf("#");
  if (hash >= 0) text = text.slice(0, hash);
  // OpenSSH's rtrim() clears every blank after the first character, so the value ends at the
  // first blank: "ProxyJump a b" means "a".
  const blank = text.slice(1).search(/[ \t\r\n\v\f]/);
  if (blank >= 0) text = text.slice(0, blank + 1);
  const hops = text.split(",");
  let last: JumpHop | null = null;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string;
    const uri = parseSshUri(hop);
    const parsed = uri === "not-uri" ? parseUserHostPort(hop) : uri;
    if (parsed === null) return { ok: false, reason: `cannot parse hop "${hop}"` };
    if (strict) {
      if (!validHostname(parsed.host)) return { ok: false, reason: `invalid hostname "${parsed.host}"` };
      if (parsed.user !== null && !validRemoteUser(parsed.user)) {
        return { ok: false, reason: `invalid username "${parsed.user}"` };
      }
    }
    if (i === hops.length - 1) last = parsed;
  }
  const lastComma = text.lastIndexOf(",");
  const extra = lastComma >= 0 ? text.slice(0, lastComma) : null;
  return { ok: true, jump: { none: false, last, extra } };
}
