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
      out += String.fromCharCode(Number.parseInt(hex, 16));
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
  const host = cleanHostname(hp.field);
  if ("error" in validDomain(host, false)) return null;
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

/**
 * parse_jump(): the comma list is checked right to left; only the last hop is parsed into parts,
 * the rest is kept as text. Null when any hop is malformed.
 */
export function parseJump(spec: string): ParsedJump | null {
  if (spec.toLowerCase() === "none") return { none: true, last: null, extra: null };
  let text = spec;
  const hash = text.indexOf("#");
  if (hash >= 0) text = text.slice(0, hash);
  text = text.replace(/[ \t\r\n]+$/, "");
  const hops = text.split(",");
  let last: JumpHop | null = null;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string;
    const uri = parseSshUri(hop);
    let parsed: UserHostPort | null;
    if (uri === null) return null;
    if (uri === "not-uri") parsed = parseUserHostPort(hop);
    else parsed = uri;
    if (parsed === null) return null;
    if (i === hops.length - 1) last = parsed;
  }
  // OpenSSH keeps everything before the last comma of the *original* string (comment included).
  const lastComma = spec.lastIndexOf(",");
  const extra = lastComma > 0 ? spec.slice(0, lastComma) : null;
  return { none: false, last, extra };
}
