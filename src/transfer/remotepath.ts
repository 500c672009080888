/**
 * scp's operand syntax, read as OpenSSH 9.2's scp reads it (misc.c colon(), parse_user_host_path(),
 * parse_uri("scp", ...)):
 *
 *   host:path  user@host:path  [v6addr]:path  user@[v6addr]:path  scp://[user@]host[:port][/path]
 *
 * An operand is local when it has no ':' before its first '/', or starts with ':' (so `./a:b` and
 * `:x` are local files). `host:` means the remote home. `ssh://` is accepted as a synonym of `scp://`;
 * as in scp, the path after the authority's '/' is relative to the home (`scp://h//etc` is /etc).
 * Pure: no I/O, no config (the CLI resolves the host through ssh_config).
 */
import { JumpgateError } from "../errors.js";

export interface RemoteHostSpec {
  /** null: the config's User (or the local user). */
  user: string | null;
  /** Without brackets. */
  host: string;
  /** null: the config's Port. */
  port: number | null;
}

export type Operand =
  | { kind: "local"; path: string; text: string }
  | ({ kind: "remote"; path: string; text: string } & RemoteHostSpec);

function pathError(text: string, why: string): JumpgateError {
  return new JumpgateError(
    "JG_CP_PATH",
    `"${text}": ${why}. Remote paths are host:path, user@host:path, [v6addr]:path or scp://user@host:port/path; write a local name containing ':' as ./name.`,
  );
}

/** colon(): index of the ':' that ends the host part, or -1 for a local operand. */
export function hostColon(arg: string): number {
  if (arg.startsWith(":")) return -1;
  let bracket = arg.startsWith("[");
  for (let i = 0; i < arg.length; i++) {
    const c = arg[i];
    if (c === "@" && arg[i + 1] === "[") bracket = true;
    if (c === "]" && arg[i + 1] === ":" && bracket) return i + 1;
    if (c === ":" && !bracket) return i;
    if (c === "/") return -1;
  }
  return -1;
}

function stripBrackets(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/** Control characters, which must never reach a host or user name. */
function hasControl(s: string): boolean {
  return [...s].some((c) => {
    const code = c.codePointAt(0) as number;
    return code < 32 || code === 127;
  });
}

/** Host names that could be mistaken for options or carry shell syntax are refused early. */
function checkHost(text: string, host: string): void {
  if (host === "") throw pathError(text, "the host name is empty");
  if (host.startsWith("-")) throw pathError(text, "a host name cannot start with '-'");
  if (/[\s'`"$\\;&<>|(){},[\]]/.test(host) || hasControl(host)) {
    throw pathError(text, `"${host}" is not a valid host name`);
  }
}

function urlDecode(text: string, s: string): string {
  let out = "";
  const bytes: number[] = [];
  const flush = () => {
    if (bytes.length > 0) out += Buffer.from(bytes.splice(0)).toString("utf8");
  };
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === "%") {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw pathError(text, "bad %-escape in the URI");
      const code = Number.parseInt(hex, 16);
      // OpenSSH refuses an encoded NUL (it would cut the name short).
      if (code === 0) throw pathError(text, "%00 in the URI");
      bytes.push(code);
      i += 2;
    } else {
      flush();
      out += c === "+" ? " " : c;
    }
  }
  flush();
  return out;
}

function parseUri(text: string, rest: string): Operand {
  let s = rest;
  let user: string | null = null;
  const at = s.indexOf("@");
  if (at >= 0) {
    let info = s.slice(0, at);
    const semi = info.indexOf(";");
    if (semi >= 0) info = info.slice(0, semi);
    if (info === "") throw pathError(text, "empty user name in the URI");
    user = urlDecode(text, info);
    s = s.slice(at + 1);
  }
  let hostEnd: number;
  if (s.startsWith("[")) {
    const close = s.indexOf("]");
    if (close < 0) throw pathError(text, "unclosed '[' in the URI");
    hostEnd = close + 1;
  } else {
    const m = s.search(/[:/]/);
    hostEnd = m < 0 ? s.length : m;
  }
  const host = stripBrackets(s.slice(0, hostEnd));
  checkHost(text, host);
  let tail = s.slice(hostEnd);
  let port: number | null = null;
  if (tail.startsWith(":")) {
    const slash = tail.indexOf("/");
    const portText = slash >= 0 ? tail.slice(1, slash) : tail.slice(1);
    if (portText !== "") {
      const n = /^[0-9]+$/.test(portText) ? Number(portText) : Number.NaN;
      if (!(n > 0 && n <= 65535)) throw pathError(text, `bad port "${portText}"`);
      port = n;
    }
    tail = slash >= 0 ? tail.slice(slash) : "";
  } else if (tail !== "" && !tail.startsWith("/")) {
    throw pathError(text, "unexpected text after the host");
  }
  const rawPath = tail.startsWith("/") ? tail.slice(1) : tail;
  const path = rawPath === "" ? "." : urlDecode(text, rawPath);
  return { kind: "remote", user, host, port, path, text };
}

/** Parses one cp operand. Throws JG_CP_PATH for malformed remote operands. */
export function parseOperand(text: string): Operand {
  if (text === "") throw pathError(text, "an empty operand names nothing");
  const scheme = /^(scp|ssh):\/\//.exec(text);
  if (scheme) return parseUri(text, text.slice(scheme[0].length));
  const colon = hostColon(text);
  if (colon < 0) return { kind: "local", path: text, text };
  const left = text.slice(0, colon);
  const path = text.slice(colon + 1) === "" ? "." : text.slice(colon + 1);
  const at = left.lastIndexOf("@");
  const user = at >= 0 && at > 0 ? left.slice(0, at) : null;
  const host = stripBrackets(at >= 0 ? left.slice(at + 1) : left);
  checkHost(text, host);
  if (user !== null && (/['`";&<>|(){}]/.test(user) || hasControl(user))) {
    throw pathError(text, `"${user}" is not a valid user name`);
  }
  return { kind: "remote", user, host, port: null, path, text };
}

/**
 * prepare_remote_path(): "" and "~" are the home ("."), "~/x" is "x" (relative paths are relative
 * to the home in SFTP); "~user/x" needs the server's expand-path@openssh.com (returned as
 * `expand`); anything else is used as given.
 */
export function prepareRemotePath(path: string): { path: string } | { expand: string } {
  if (path === "" || path === "~") return { path: "." };
  if (!path.startsWith("~")) return { path };
  if (path.startsWith("~/")) {
    const rest = path.slice(2).replace(/^\/+/, "");
    return { path: rest === "" ? "." : rest };
  }
  return { expand: path };
}

/** A display form for messages: host:path with brackets for v6 and the user when given. */
export function describeRemote(spec: RemoteHostSpec, path: string): string {
  const host = spec.host.includes(":") ? `[${spec.host}]` : spec.host;
  return `${spec.user !== null ? `${spec.user}@` : ""}${host}:${path}`;
}
