/**
 * Remote glob expansion done by jumpgate over SFTP readdir, never by a remote shell: scp in SFTP
 * mode does the same (remote_glob()). Patterns are glob(3)'s: `*`, `?`, `[abc]`, `[a-z]`, `[!x]`,
 * and `\` to quote; a leading '.' in a name must be matched explicitly. Pure apart from the
 * `list` callback it is given.
 */
import { JumpgateError } from "../errors.js";

/** Whether a path component has unquoted glob syntax. */
export function hasGlob(component: string): boolean {
  for (let i = 0; i < component.length; i++) {
    const c = component[i];
    if (c === "\\") i++;
    else if (c === "*" || c === "?" || c === "[") return true;
  }
  return false;
}

/** Removes glob quoting from a component without glob syntax (`a\*b` names the file `a*b`). */
export function unquote(component: string): string {
  return component.replace(/\\(.)/g, "$1");
}

const REGEX_SPECIAL = /[\\^$.*+?()[\]{}|/-]/g;

/** Compiles one component pattern; an unclosed '[' matches itself, as in glob(3). */
export function compileComponent(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === "\\" && i + 1 < pattern.length) {
      re += (pattern[++i] as string).replace(REGEX_SPECIAL, "\\$&");
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      let j = i + 1;
      let negate = false;
      if (pattern[j] === "!" || pattern[j] === "^") {
        negate = true;
        j++;
      }
      let body = "";
      let first = true;
      let closed = false;
      for (; j < pattern.length; j++) {
        const d = pattern[j] as string;
        if (d === "]" && !first) {
          closed = true;
          break;
        }
        first = false;
        if (d === "\\" && j + 1 < pattern.length) body += `\\${pattern[++j]}`;
        else if (d === "-" && body !== "" && pattern[j + 1] !== "]") body += "-";
        else body += d.replace(REGEX_SPECIAL, "\\$&");
      }
      if (!closed) re += "\\[";
      else {
        // A negated class never matches '/': a component cannot hold one (glob(3)).
        re += negate ? `[^/${body}]` : `[${body}]`;
        i = j;
      }
    } else re += c.replace(REGEX_SPECIAL, "\\$&");
  }
  return new RegExp(`^${re}$`, "u");
}

/** glob(3): a name starting with '.' matches only a pattern that starts with a literal '.'. */
export function matchComponent(pattern: string, name: string): boolean {
  if (name.startsWith(".") && !pattern.startsWith(".")) return false;
  return compileComponent(pattern).test(name);
}

/** A name a directory listing may hold: one component, not "." or "..", no NUL. */
export function isComponent(name: string): boolean {
  return name !== "" && name !== "." && name !== ".." && !name.includes("/") && !name.includes("\0");
}

export interface GlobEntry {
  name: string;
}

export interface GlobOptions {
  /** Lists a directory (names only, "." and ".." excluded); rejects when it cannot be read. */
  list(dir: string): Promise<GlobEntry[]>;
  /** Whether a path exists (lstat); literal components after a glob are checked with it. */
  exists?(path: string): Promise<boolean>;
  /** Stops runaway patterns (scp's GLOB_LIMIT idea). */
  maxMatches?: number;
}

export interface GlobMatch {
  path: string;
}

/**
 * Expands `pattern` (a remote path, relative to the home or absolute). Returns the matches sorted,
 * or [] when nothing matched (the caller then reports the pattern as missing, as scp does).
 * A pattern without glob syntax is returned unquoted without any listing.
 */
export async function expandGlob(pattern: string, opts: GlobOptions): Promise<GlobMatch[]> {
  const max = opts.maxMatches ?? 100_000;
  const absolute = pattern.startsWith("/");
  const parts = pattern.split("/").filter((p, i) => p !== "" || i === 0);
  if (absolute) parts.shift();
  if (!parts.some(hasGlob)) return [{ path: unquote(pattern) }];
  const join = (base: string, name: string) =>
    base === "" ? (absolute ? `/${name}` : name) : base === "/" ? `/${name}` : `${base}/${name}`;
  let current: GlobMatch[] = [{ path: absolute ? "/" : "" }];
  let globbed = false;
  for (const part of parts) {
    const next: GlobMatch[] = [];
    for (const base of current) {
      if (!hasGlob(part)) {
        const path = join(base.path, unquote(part));
        // After a glob, a literal name must exist under each match (glob(3) checks it too).
        if (!globbed || !opts.exists || (await opts.exists(path))) next.push({ path });
        continue;
      }
      let entries: GlobEntry[];
      try {
        entries = await opts.list(base.path === "" ? "." : base.path);
      } catch {
        // An unreadable or missing directory simply matches nothing, as glob(3) without GLOB_ERR.
        continue;
      }
      const re = compileComponent(part);
      const names = entries
        // Only plain components: a listed "..", "." or name with '/' (a lying server) is never a
        // match, whatever the pattern (the caller reports such names).
        .filter((e) => isComponent(e.name))
        .filter((e) => !(e.name.startsWith(".") && !part.startsWith(".")) && re.test(e.name))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const e of names) {
        // Before the last component a non-directory fails to list and drops out; symlinks to
        // directories are followed that way. The caller stats every final match.
        next.push({ path: join(base.path, e.name) });
        if (next.length > max) {
          throw new JumpgateError(
            "JG_CP_GLOB",
            `"${pattern}" matches more than ${max} names; narrow the pattern.`,
          );
        }
      }
    }
    current = next;
    globbed ||= hasGlob(part);
  }
  return current;
}
