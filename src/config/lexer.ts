/**
 * Splitting ssh_config lines the way OpenSSH 9.x does (readconf.c + misc.c).
 *
 * A line is: optional whitespace, a keyword, then either whitespace or one `=` (with optional
 * whitespace around it), then the arguments. The arguments are split like a tiny shell would:
 * single or double quotes group words, a backslash escapes a quote, a backslash or a space, and an
 * unquoted `#` starts a comment.
 */

const WHITESPACE = " \t\r\n";

export interface SplitLine {
  /** The keyword as written (not yet lowercased); empty for blank and comment lines. */
  keyword: string;
  /** Everything after the keyword and its separator, as OpenSSH keeps it for "rest of line" keywords. */
  rest: string;
}

/** Space, tab, CR, LF: OpenSSH's WHITESPACE. */
function isSpace(code: number): boolean {
  return code === 32 || code === 9 || code === 13 || code === 10;
}

/** Removes trailing whitespace (and form feeds) like process_config_line_depth(). */
export function trimLineEnd(line: string): string {
  let end = line.length;
  while (end > 1 && (isSpace(line.charCodeAt(end - 1)) || line.charCodeAt(end - 1) === 12)) end--;
  return end === line.length ? line : line.slice(0, end);
}

const BLANK: SplitLine = { keyword: "", rest: "" };

/**
 * Extracts the keyword with strdelim(), exactly as process_config_line_depth() does: leading
 * whitespace yields an empty first token, so a second strdelim() reads the keyword. A line whose
 * keyword has an unterminated quote is ignored by OpenSSH, so it is reported as blank here too.
 * The common shapes (`Keyword value`, `Keyword=value`) take a scanning fast path; anything with a
 * quote or a leading `=` goes through the literal strdelim() port.
 */
export function splitKeyword(rawLine: string): SplitLine {
  // Work on [0, n) of the raw line: trimming by index saves a copy per line.
  let n = rawLine.length;
  while (n > 1 && (isSpace(rawLine.charCodeAt(n - 1)) || rawLine.charCodeAt(n - 1) === 12)) n--;
  const line = rawLine;
  let i = 0;
  while (i < n && isSpace(line.charCodeAt(i))) i++;
  if (i >= n || line.charCodeAt(i) === 35 /* # */) return BLANK;
  const start = i;
  while (i < n) {
    const c = line.charCodeAt(i);
    if (isSpace(c) || c === 61 /* = */ || c === 34 /* " */) break;
    i++;
  }
  if (i === start || (i < n && line.charCodeAt(i) === 34)) return splitKeywordSlow(line.slice(0, n));
  const keyword = line.slice(start, i);
  // Separator: whitespace, at most one '=', whitespace.
  let sawEquals = false;
  while (i < n) {
    const c = line.charCodeAt(i);
    if (isSpace(c)) i++;
    else if (c === 61 && !sawEquals) {
      sawEquals = true;
      i++;
    } else break;
  }
  return { keyword, rest: line.slice(i, n) };
}

function splitKeywordSlow(line: string): SplitLine {
  let first = strdelimOnce(line);
  if (first !== null && first.token === "" && first.rest !== null) first = strdelimOnce(first.rest);
  if (first === null || first.token === "" || first.token.startsWith("#")) return BLANK;
  const rest = (first.rest ?? "").replace(/^[ \t\r\n]+/, "");
  return { keyword: first.token, rest };
}

const SPECIAL = /["'\\#]/;
const BLANKS = /[ \t]+/;

export type ArgvResult = { ok: true; args: string[] } | { ok: false };

/**
 * misc.c argv_split(..., terminate_on_comment=1): quotes group, `\'` `\"` `\\` and (outside
 * quotes) `\ ` are escapes, any other backslash is kept literally, `#` at a token start ends the line.
 */
export function splitArgs(text: string): ArgvResult {
  // Most values have no quotes, escapes or comments: split on blanks natively.
  if (!SPECIAL.test(text)) {
    const args = text.split(BLANKS);
    if (args[0] === "") args.shift();
    if (args[args.length - 1] === "") args.pop();
    return { ok: true, args };
  }
  const args: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === " " || c === "\t") {
      i++;
      continue;
    }
    if (c === "#") break;
    let quote = "";
    let arg = "";
    for (; i < text.length; i++) {
      const ch = text[i] as string;
      const next = text[i + 1];
      if (ch === "\\") {
        if (next === "'" || next === '"' || next === "\\" || (quote === "" && next === " ")) {
          i++;
          arg += next;
        } else {
          arg += ch;
        }
      } else if (quote === "" && (ch === " " || ch === "\t")) {
        break;
      } else if (quote === "" && (ch === '"' || ch === "'")) {
        quote = ch;
      } else if (quote !== "" && ch === quote) {
        quote = "";
      } else {
        arg += ch;
      }
    }
    if (quote !== "") return { ok: false };
    args.push(arg);
  }
  return { ok: true, args };
}

/**
 * strdelim() as match_cfg_line() uses it for Match criteria: splits on whitespace or one `=`,
 * and understands a double-quoted token. Returns the tokens; `null` marks an unterminated quote.
 */
export function strdelimAll(text: string): string[] | null {
  const tokens: string[] = [];
  let s: string | null = text;
  while (s !== null && s !== "") {
    const r = strdelimOnce(s);
    if (r === null) return null;
    tokens.push(r.token);
    s = r.rest;
  }
  return tokens;
}

function strdelimOnce(s: string): { token: string; rest: string | null } | null {
  const stop = s.search(/[ \t\r\n"=]/);
  if (stop < 0) return { token: s, rest: null };
  if (s[stop] === '"') {
    // The quote opens a quoted token from here: the text before it is dropped into the token too.
    const body = s.slice(0, stop) + s.slice(stop + 1);
    const close = body.indexOf('"', stop);
    if (close < 0) return null;
    const token = body.slice(0, close);
    let j = close + 1;
    while (j < body.length && WHITESPACE.includes(body[j] as string)) j++;
    return { token, rest: body.slice(j) };
  }
  const token = s.slice(0, stop);
  let j = stop;
  const sawEquals = s[j] === "=";
  j++;
  while (j < s.length && WHITESPACE.includes(s[j] as string)) j++;
  if (!sawEquals && s[j] === "=") {
    j++;
    while (j < s.length && WHITESPACE.includes(s[j] as string)) j++;
  }
  return { token, rest: j >= s.length ? "" : s.slice(j) };
}
