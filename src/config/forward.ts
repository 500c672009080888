/**
 * Forwarding specifications (-L, -R, -D and LocalForward/RemoteForward/DynamicForward), parsed as
 * readconf.c parse_forward() does and printed the way `ssh -G` prints them.
 */
import { a2port } from "./values.js";

/** A Unix-domain socket endpoint uses this port value, as OpenSSH's PORT_STREAMLOCAL. */
export const PORT_STREAMLOCAL = -2;

export interface Forward {
  listenHost: string | null;
  listenPort: number;
  listenPath: string | null;
  /** "socks" for dynamic forwards, as in OpenSSH. */
  connectHost: string | null;
  connectPort: number;
  connectPath: string | null;
}

export type ForwardKind = "local" | "remote" | "dynamic";

interface Field {
  arg: string;
  isPath: boolean;
}

/** parse_fwd_field(): a `[...]` field is literal; otherwise `\` escapes and `/` marks a path. */
function parseFields(spec: string): Field[] | null {
  const fields: Field[] = [];
  let cp = spec;
  for (let n = 0; n < 4; n++) {
    if (cp === "") return fields;
    if (cp.startsWith("[")) {
      const close = cp.indexOf("]");
      if (close < 0) return null;
      const after = cp[close + 1];
      if (after !== ":" && after !== undefined) return null;
      const arg = cp.slice(1, close);
      fields.push({ arg, isPath: arg.includes("/") });
      cp = cp.slice(close + 2);
      if (after === undefined) return fields;
      continue;
    }
    let arg = "";
    let isPath = false;
    let i = 0;
    let ended = false;
    for (; i < cp.length; i++) {
      const c = cp[i] as string;
      if (c === "\\") {
        i++;
        if (i >= cp.length) return null;
        // The escaped character is taken literally: an escaped ':' does not split, an escaped '/'
        // does not make the field a path.
        arg += cp[i] as string;
      } else if (c === "/") {
        isPath = true;
        arg += c;
      } else if (c === ":") {
        ended = true;
        break;
      } else {
        arg += c;
      }
    }
    fields.push({ arg, isPath });
    cp = ended ? cp.slice(i + 1) : "";
    if (!ended) return fields;
  }
  // More than four fields: trailing garbage.
  return cp === "" ? fields : null;
}

const NI_MAXHOST = 1025;
const PATH_MAX_SUN = 108;

/**
 * parse_forward(): `[listen_host:]listen_port|listen_path:connect_host:connect_port|connect_path`
 * or, for dynamic forwards, `[listen_host:]listen_port`. Returns null for a bad specification.
 * `expandEnv` performs OpenSSH's ${VAR} expansion first (null when a variable is unset or malformed).
 */
/**
 * A -L, -R or -D argument (or LocalForward/RemoteForward/DynamicForward value) as ssh reads it:
 * for -R, the forward form first and then the one-field remote dynamic form (`-R [bind:]port`).
 */
export function parseForwardOf(
  kind: "local" | "remote" | "dynamic",
  spec: string,
  expandEnv: (s: string) => string | null,
): Forward | null {
  if (kind === "local") return parseForward(spec, false, false, expandEnv);
  if (kind === "remote")
    return parseForward(spec, false, true, expandEnv) ?? parseForward(spec, true, true, expandEnv);
  return parseForward(spec, true, false, expandEnv);
}

export function parseForward(
  spec: string,
  dynamic: boolean,
  remote: boolean,
  expandEnv: (s: string) => string | null,
): Forward | null {
  const expanded = expandEnv(spec);
  if (expanded === null) return null;
  const fields = parseFields(expanded.replace(/^[ \t\n\v\f\r]+/, ""));
  if (fields === null) return null;
  const [f0, f1, f2, f3] = fields;
  const fwd: Forward = {
    listenHost: null,
    listenPort: 0,
    listenPath: null,
    connectHost: null,
    connectPort: 0,
    connectPath: null,
  };
  switch (fields.length) {
    case 1:
      if (f0!.isPath) {
        fwd.listenPath = f0!.arg;
        fwd.listenPort = PORT_STREAMLOCAL;
      } else fwd.listenPort = a2port(f0!.arg);
      fwd.connectHost = "socks";
      break;
    case 2:
      if (f0!.isPath && f1!.isPath) {
        fwd.listenPath = f0!.arg;
        fwd.listenPort = PORT_STREAMLOCAL;
        fwd.connectPath = f1!.arg;
        fwd.connectPort = PORT_STREAMLOCAL;
      } else if (f1!.isPath) {
        fwd.listenPort = a2port(f0!.arg);
        fwd.connectPath = f1!.arg;
        fwd.connectPort = PORT_STREAMLOCAL;
      } else {
        fwd.listenHost = f0!.arg;
        fwd.listenPort = a2port(f1!.arg);
        fwd.connectHost = "socks";
      }
      break;
    case 3:
      if (f0!.isPath) {
        fwd.listenPath = f0!.arg;
        fwd.listenPort = PORT_STREAMLOCAL;
        fwd.connectHost = f1!.arg;
        fwd.connectPort = a2port(f2!.arg);
      } else if (f2!.isPath) {
        fwd.listenHost = f0!.arg;
        fwd.listenPort = a2port(f1!.arg);
        fwd.connectPath = f2!.arg;
        fwd.connectPort = PORT_STREAMLOCAL;
      } else {
        fwd.listenPort = a2port(f0!.arg);
        fwd.connectHost = f1!.arg;
        fwd.connectPort = a2port(f2!.arg);
      }
      break;
    case 4:
      fwd.listenHost = f0!.arg;
      fwd.listenPort = a2port(f1!.arg);
      fwd.connectHost = f2!.arg;
      fwd.connectPort = a2port(f3!.arg);
      break;
    default:
      return null;
  }
  const n = fields.length;
  if (dynamic) {
    if (n !== 1 && n !== 2) return null;
  } else {
    if (n !== 3 && n !== 4 && fwd.connectPath === null && fwd.listenPath === null) return null;
    if (fwd.connectPort <= 0 && fwd.connectPath === null) return null;
  }
  if ((fwd.listenPort < 0 && fwd.listenPath === null) || (!remote && fwd.listenPort === 0)) return null;
  if (fwd.connectHost !== null && fwd.connectHost.length >= NI_MAXHOST) return null;
  if (fwd.connectPath !== null && fwd.connectPath.length >= PATH_MAX_SUN) return null;
  if (fwd.listenHost !== null && fwd.listenHost.length >= NI_MAXHOST) return null;
  if (fwd.listenPath !== null && fwd.listenPath.length >= PATH_MAX_SUN) return null;
  return fwd;
}

/** forward_equals(): duplicates are not added twice. */
export function forwardEquals(a: Forward, b: Forward): boolean {
  return (
    a.listenHost === b.listenHost &&
    a.listenPort === b.listenPort &&
    a.listenPath === b.listenPath &&
    a.connectHost === b.connectHost &&
    a.connectPort === b.connectPort &&
    a.connectPath === b.connectPath
  );
}

export function isDynamic(fwd: Forward): boolean {
  return fwd.connectHost === "socks";
}

function formatEndpoint(host: string | null, port: number, path: string | null): string {
  if (port === PORT_STREAMLOCAL) return path ?? "";
  if (host === null) return String(port);
  return `[${host}]:${port}`;
}

/** The text `ssh -G` prints after the keyword, e.g. `[127.0.0.1]:1111 [localhost]:12345`. */
export function formatForward(fwd: Forward, kind: ForwardKind): string {
  const listen = formatEndpoint(fwd.listenHost, fwd.listenPort, fwd.listenPath);
  if (kind === "dynamic") return listen;
  return `${listen} ${formatEndpoint(fwd.connectHost, fwd.connectPort, fwd.connectPath)}`;
}
