/**
 * glob(3) as `Include` uses it: `*`, `?` and `[...]` in any path component, no match for a
 * leading dot unless the pattern has one, results sorted in byte order.
 */
import type { ConfigEnvironment } from "./environment.js";

const MAGIC = /[*?[]/;

function componentToRegExp(component: string): RegExp {
  let re = "";
  for (let i = 0; i < component.length; i++) {
    const c = component[i] as string;
    if (c === "\\" && i + 1 < component.length) {
      re += escapeRegExp(component[++i] as string);
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const close = component.indexOf("]", i + 2);
      if (close < 0) {
        re += "\\[";
        continue;
      }
      let body = component.slice(i + 1, close);
      const negate = body.startsWith("!");
      if (negate) body = body.slice(1);
      re += `[${negate ? "^" : ""}${body.replace(/\\/g, "\\\\").replace(/\^/g, "\\^")}]`;
      i = close;
    } else re += escapeRegExp(c);
  }
  return new RegExp(`^${re}$`, "s");
}

function escapeRegExp(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

function unescapeLiteral(component: string): string {
  return component.replace(/\\(.)/g, "$1");
}

/** Expands an absolute pattern; returns [] when nothing matches (GLOB_NOMATCH). */
export function globPaths(pattern: string, env: ConfigEnvironment): string[] {
  if (!MAGIC.test(pattern)) {
    const literal = unescapeLiteral(pattern);
    return env.readConfigFile(literal) !== null || env.isDirectory(literal) ? [literal] : [];
  }
  const absolute = pattern.startsWith("/");
  const parts = pattern.split("/").filter((p, i) => !(i === 0 && p === ""));
  let current: string[] = [absolute ? "/" : ""];
  for (let index = 0; index < parts.length; index++) {
    const part = parts[index] as string;
    const last = index === parts.length - 1;
    const next: string[] = [];
    for (const base of current) {
      const join = (name: string) =>
        base === "" ? name : base.endsWith("/") ? `${base}${name}` : `${base}/${name}`;
      if (!MAGIC.test(part)) {
        const candidate = join(unescapeLiteral(part));
        if (
          last
            ? env.readConfigFile(candidate) !== null || env.isDirectory(candidate)
            : env.isDirectory(candidate)
        ) {
          next.push(candidate);
        }
        continue;
      }
      const re = componentToRegExp(part);
      const names = env
        .listDirectory(base === "" ? "." : base)
        .filter((name) => (name.startsWith(".") ? part.startsWith(".") : true) && re.test(name));
      for (const name of names) {
        const candidate = join(name);
        if (last || env.isDirectory(candidate)) next.push(candidate);
      }
    }
    current = next;
    if (current.length === 0) return [];
  }
  // glob(3) sorts the whole result (strcmp order: ssh runs with LC_COLLATE=C).
  return current.sort(byteOrder);
}

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
