/**
 * OpenSSH's wildcard patterns (match.c): `*` and `?` only, no character classes, and
 * comma-separated pattern lists where a `!` prefix negates a sub-pattern.
 */

/** True if `subject` matches `pattern` in full; `*` matches any run, `?` any one character. */
export function matchPattern(subject: string, pattern: string): boolean {
  // Iterative glob match with single-star backtracking: linear in practice, no recursion depth issues.
  let s = 0;
  let p = 0;
  let starP = -1;
  let starS = 0;
  while (s < subject.length) {
    const pc = pattern[p];
    if (pc === "*") {
      starP = p++;
      starS = s;
    } else if (pc !== undefined && (pc === "?" || pc === subject[s])) {
      s++;
      p++;
    } else if (starP >= 0) {
      p = starP + 1;
      s = ++starS;
    } else {
      return false;
    }
  }
  while (pattern[p] === "*") p++;
  return p === pattern.length;
}

/** Result of matching a pattern list: a negated sub-pattern matched, nothing matched, or a positive match. */
export type ListMatch = -1 | 0 | 1;

/**
 * Matches `subject` against a comma-separated pattern list. A matching negated sub-pattern wins
 * outright (-1), as in OpenSSH's match_pattern_list(). With `lowercasePatterns`, the patterns are
 * lowercased first (hostnames are compared case-insensitively that way).
 */
export function matchPatternList(subject: string, patternList: string, lowercasePatterns = false): ListMatch {
  if (patternList === "") return 0;
  let positive = false;
  const subs = patternList.split(",");
  // "a,b," has two sub-patterns in OpenSSH: a trailing comma ends the list, it adds no empty one.
  if (patternList.endsWith(",")) subs.pop();
  for (const raw of subs) {
    const negated = raw.startsWith("!");
    let sub = negated ? raw.slice(1) : raw;
    // OpenSSH copies sub-patterns into a 1024-byte buffer; a longer one never matches.
    if (sub.length >= 1023) return 0;
    if (lowercasePatterns) sub = sub.toLowerCase();
    if (matchPattern(subject, sub)) {
      if (negated) return -1;
      positive = true;
    }
  }
  return positive ? 1 : 0;
}

/** Hostname matching: the host is lowercased and so are the patterns. */
export function matchHostname(host: string, patternList: string): ListMatch {
  return matchPatternList(host.toLowerCase(), patternList, true);
}

/**
 * Keeps the entries of a comma-separated `proposal` that match (allow) or do not match (deny)
 * the pattern list `filter`, in the proposal's order.
 */
export function filterList(proposal: string, filter: string, mode: "allow" | "deny"): string {
  const kept = proposal.split(",").filter((name) => {
    const matched = matchPatternList(name, filter) === 1;
    return mode === "allow" ? matched : !matched;
  });
  return kept.join(",");
}
