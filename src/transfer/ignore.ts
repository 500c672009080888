/**
 * gitignore-style matching for `push --exclude` and `push --gitignore` (the rules of
 * gitignore(5)): blank lines and `#` comments skipped, `!` re-includes, a trailing `/` matches
 * directories only, a pattern with a `/` before its end is anchored to its file's directory,
 * otherwise it matches a name at any depth; `*`, `?`, `[...]` never match `/`; `**` matches across
 * directories in the `**\/x`, `x/**` and `a/**\/b` forms. The last matching rule wins, and rules of
 * a deeper .gitignore come after those of its parents. As in git, a file inside an excluded
 * directory cannot be re-included: the walker never enters an excluded directory.
 *
 * Paths given to the matcher are relative to the tree's root, with `/` separators, no leading `./`.
 */

export interface IgnoreRule {
  /** The pattern as written, for messages and tests. */
  source: string;
  negated: boolean;
  dirOnly: boolean;
  regex: RegExp;
}

export interface RuleSet {
  /** Directory (relative to the root, "" for the root) the rules are relative to. */
  base: string;
  rules: IgnoreRule[];
}

/** Parses the text of a .gitignore (or a list of --exclude patterns, one per line). */
export function parseIgnore(text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const rawLine of text.split(/\r?\n/)) {
    const rule = compileRule(rawLine);
    if (rule) rules.push(rule);
  }
  return rules;
}

export function compileRule(rawLine: string): IgnoreRule | undefined {
  let line = rawLine;
  if (line === "" || line.startsWith("#")) return undefined;
  // Trailing spaces are dropped unless escaped with a backslash.
  line = line.replace(/(?<!\\)\s+$/, "");
  if (line.endsWith("\\ ")) line = `${line.slice(0, -2)} `;
  if (line === "") return undefined;
  let negated = false;
  if (line.startsWith("!")) {
    negated = true;
    line = line.slice(1);
  } else if (line.startsWith("\\!") || line.startsWith("\\#")) {
    line = line.slice(1);
  }
  let dirOnly = false;
  if (line.endsWith("/")) {
    dirOnly = true;
    line = line.replace(/\/+$/, "");
  }
  if (line === "") return undefined;
  // A slash at the start or in the middle anchors the pattern to the .gitignore's directory.
  const anchored = line.includes("/");
  if (line.startsWith("/")) line = line.slice(1);
  const body = globToRegex(line);
  const prefix = anchored ? "" : "(?:.*/)?";
  return { source: rawLine, negated, dirOnly, regex: new RegExp(`^${prefix}${body}$`, "s") };
}

/** Translates one gitignore glob (without the leading `/` or trailing `/`) into a regex body. */
function globToRegex(glob: string): string {
  const segments = glob.split("/");
  const out: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i] as string;
    const first = i === 0;
    const last = i === segments.length - 1;
    if (seg === "**") {
      if (first && last) out.push(".*");
      else if (first) out.push("(?:.*/)?");
      else if (last) out.push("/.*");
      else out.push("/(?:.*/)?");
      continue;
    }
    // After a "**" segment the separator is already part of its expansion.
    const prev = segments[i - 1];
    if (!first && prev !== "**") out.push("/");
    out.push(segmentToRegex(seg));
  }
  return out.join("");
}

function segmentToRegex(seg: string): string {
  let re = "";
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i] as string;
    if (c === "\\" && i + 1 < seg.length) {
      re += escapeRegex(seg[++i] as string);
    } else if (c === "*") {
      // Consecutive stars inside a segment are one star (only a whole "**" segment crosses "/").
      while (seg[i + 1] === "*") i++;
      re += "[^/]*";
    } else if (c === "?") {
      re += "[^/]";
    } else if (c === "[") {
      const end = classEnd(seg, i);
      if (end < 0) {
        re += "\\[";
        continue;
      }
      let inner = seg.slice(i + 1, end);
      let negate = false;
      if (inner.startsWith("!") || inner.startsWith("^")) {
        negate = true;
        inner = inner.slice(1);
      }
      const body = inner.replace(/\\(.)/g, "$1").replace(/[\\\]^]/g, (m) => `\\${m}`);
      re += negate ? `(?!/)[^${body}]` : `(?!/)[${body}]`;
      i = end;
    } else {
      re += escapeRegex(c);
    }
  }
  return re;
}

/** Index of the `]` closing the class opened at `start`, or -1 (then `[` is literal). */
function classEnd(seg: string, start: number): number {
  let j = start + 1;
  if (seg[j] === "!" || seg[j] === "^") j++;
  if (seg[j] === "]") j++; // a leading "]" is part of the class
  for (; j < seg.length; j++) {
    if (seg[j] === "\\") j++;
    else if (seg[j] === "]") return j;
  }
  return -1;
}

function escapeRegex(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
}

/**
 * Decides whether `path` (relative to the root) is ignored, given the rule sets that apply, in
 * order of increasing precedence (root .gitignore, deeper ones, then --exclude patterns).
 */
export function isIgnored(sets: readonly RuleSet[], path: string, isDir: boolean): boolean {
  let ignored = false;
  for (const set of sets) {
    let rel: string;
    if (set.base === "") rel = path;
    else if (path.startsWith(`${set.base}/`)) rel = path.slice(set.base.length + 1);
    else continue;
    for (const rule of set.rules) {
      if (rule.dirOnly && !isDir) continue;
      if (rule.regex.test(rel)) ignored = !rule.negated;
    }
  }
  return ignored;
}
