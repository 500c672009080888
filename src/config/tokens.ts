/**
 * `%` tokens, `${ENV}` variables and `~` in config values, as misc.c percent_expand(),
 * dollar_expand() and tilde_expand() do them. Which keywords accept which tokens is decided by
 * the caller (resolve.ts), mirroring ssh.c.
 */

export type TokenMap = Readonly<Record<string, string>>;

export type ExpandResult = { ok: true; value: string } | { ok: false; reason: string };

/**
 * vdollar_percent_expand(): `%%` is a literal percent, `%x` must be in `tokens`, and (when `env`
 * is given) `${NAME}` is replaced from it. An unknown token, a dangling `%` or an unset variable is
 * an error, as in OpenSSH.
 */
export function expandTokens(
  text: string,
  tokens: TokenMap | null,
  env: Readonly<Record<string, string | undefined>> | null,
): ExpandResult {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (env !== null && c === "$" && text[i + 1] === "{") {
      const close = text.indexOf("}", i + 2);
      if (close < 0)
        return { ok: false, reason: `environment variable '${text.slice(i + 2)}' missing closing '}'` };
      const name = text.slice(i + 2, close);
      if (name === "") return { ok: false, reason: "zero-length environment variable" };
      const value = env[name];
      if (value === undefined) return { ok: false, reason: `env var \${${name}} has no value` };
      out += value;
      i = close;
      continue;
    }
    if (c !== "%" || tokens === null) {
      out += c;
      continue;
    }
    const key = text[i + 1];
    i++;
    if (key === "%") {
      out += "%";
      continue;
    }
    if (key === undefined) return { ok: false, reason: "invalid format: a '%' ends the string" };
    const replacement = tokens[key];
    if (replacement === undefined) return { ok: false, reason: `unknown key %${key}` };
    out += replacement;
  }
  return { ok: true, value: out };
}

/** Home directory lookups for `~` and `~user`, injectable so tests never depend on /etc/passwd. */
export interface HomeLookup {
  /** The current user's home from the password database (OpenSSH ignores $HOME). */
  ownHome: string;
  /** Another user's home, or null if there is no such user. */
  homeOf(user: string): string | null;
}

/** tilde_expand(): `~`, `~/x`, `~user`, `~user/x`; null when the user is unknown. */
export function expandTilde(filename: string, homes: HomeLookup): string | null {
  if (!filename.startsWith("~")) return filename;
  const rest = filename.slice(1);
  let user: string | null = null;
  let path: string | null;
  if (rest === "") path = null;
  else if (rest.startsWith("/")) {
    const trimmed = rest.replace(/^\/+/, "");
    path = trimmed === "" ? null : trimmed;
  } else {
    const slash = rest.indexOf("/");
    if (slash < 0) {
      user = rest;
      path = null;
    } else {
      user = rest.slice(0, slash);
      const trimmed = rest.slice(slash + 1).replace(/^\/+/, "");
      path = trimmed === "" ? null : trimmed;
    }
  }
  const home = user === null ? homes.ownHome : homes.homeOf(user);
  if (home === null) return null;
  const sep = home === "" || !home.endsWith("/") ? "/" : "";
  return `${home}${sep}${path ?? ""}`;
}
