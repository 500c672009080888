/**
 * Quoting for a POSIX shell (sh, dash, bash, zsh in sh mode, busybox ash). An SSH "exec" request is
 * a string the remote user's shell parses, so every piece of text jumpgate puts into one goes
 * through here.
 */

/** Characters that never need quoting in any POSIX shell context jumpgate uses. */
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * One shell word that expands to exactly `text`: single quotes, with each embedded `'` written as
 * `'\''`. Single quotes disable every expansion ($, `, \, globs, ~), so nothing in `text` runs.
 * A NUL byte cannot be passed through a shell at all, so it is refused.
 */
export function shellQuote(text: string): string {
  if (text.includes("\0")) throw new RangeError("a shell word cannot contain a NUL byte");
  if (text !== "" && SAFE.test(text)) return text;
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/**
 * A remote path as a shell word, keeping the one expansion users expect: a leading `~/` (or a lone
 * `~`) means the remote home. The tilde is left unquoted and the rest quoted, so `~/a b` becomes
 * `~/'a b'`. `~user/...` is not expanded (it would need the name unquoted); it stays literal.
 */
export function shellQuotePath(path: string): string {
  if (path === "~") return "~";
  if (path.startsWith("~/")) {
    const rest = path.slice(2);
    return rest === "" ? "~/" : `~/${shellQuote(rest)}`;
  }
  // A leading "-" would be read as an option by mkdir/tar; callers also pass "--", but "./-x" is
  // unambiguous everywhere (tar -C has no "--").
  if (path.startsWith("-")) return shellQuote(`./${path}`);
  return shellQuote(path);
}
