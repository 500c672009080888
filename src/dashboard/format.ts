/**
 * Small pure text helpers for the dashboard's panels: sizes, rates, durations, sparklines, progress
 * bars, and fitting text into a column. Everything here works on plain strings whose length is the
 * number of terminal cells (the dashboard only prints single-width characters).
 */

const UNITS = ["B", "K", "M", "G", "T", "P"] as const;

/** A byte count in at most 6 cells, like `ls -h`: 0B, 999B, 1.5K, 12K, 3.4M. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return "-";
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${Math.round(value)}B`;
  // One decimal below 10 (1.5K), none above (12K); rounding up to 1024 moves to the next unit.
  const text = value < 9.95 ? value.toFixed(1) : String(Math.round(value));
  if (text === "1024" && unit < UNITS.length - 1) return `1.0${UNITS[unit + 1]}`;
  return `${text}${UNITS[unit]}`;
}

/** Bytes per second, e.g. `1.5M/s`; `0B/s` when idle. */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** How long something has been up: 42s, 3m12s, 2h05m, 4d03h. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "-";
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, "0")}m`;
  const d = Math.floor(h / 24);
  return `${d}d${String(h % 24).padStart(2, "0")}h`;
}

export function formatRtt(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return "-";
  if (ms < 10) return `${ms.toFixed(1)}ms`;
  if (ms < 10_000) return `${Math.round(ms)}ms`;
  return `${(ms / 1000).toFixed(0)}s`;
}

const SPARK_BLOCKS = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"] as const;
const SPARK_ASCII = ["_", ".", "-", "~", "=", "+", "*", "#"] as const;

/**
 * The last `width` values as a sparkline scaled to their own maximum; zeros are blank so that an
 * idle tunnel reads as empty. `ascii` is for dumb terminals.
 */
export function sparkline(values: readonly number[], width: number, ascii = false): string {
  const glyphs = ascii ? SPARK_ASCII : SPARK_BLOCKS;
  const tail = values.slice(Math.max(0, values.length - width));
  const max = Math.max(0, ...tail);
  let out = "";
  for (const v of tail) {
    if (!(v > 0) || max === 0) {
      out += " ";
      continue;
    }
    const level = Math.min(glyphs.length - 1, Math.floor((v / max) * (glyphs.length - 1) + 0.5));
    out += glyphs[Math.max(0, level)];
  }
  return out.padStart(width, " ");
}

/** `[#####.....]  50%`, or a bar with `?` when the total is not known. */
export function progressBar(done: number, total: number | null, width: number): string {
  const inner = Math.max(1, width - 7);
  if (total === null || total <= 0) return `[${"?".repeat(inner)}]    ?`;
  const fraction = Math.min(1, Math.max(0, done / total));
  const filled = Math.floor(fraction * inner);
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4, " ");
  return `[${"#".repeat(filled)}${".".repeat(inner - filled)}] ${percent}`;
}

/** Cuts `text` to `width` cells, marking the cut with `…`; never returns more than `width`. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return "";
  if (text.length <= width) return text;
  if (width === 1) return "…";
  return `${text.slice(0, width - 1)}…`;
}

/** Left-aligned in exactly `width` cells. */
export function padRight(text: string, width: number): string {
  return truncate(text, width).padEnd(width, " ");
}

/** Right-aligned in exactly `width` cells. */
export function padLeft(text: string, width: number): string {
  return truncate(text, width).padStart(width, " ");
}

/** The hops of a route as the user thinks of them: `you -> jaguar -> mcgonagall`. */
export function formatRoute(hops: readonly string[]): string {
  return ["you", ...hops].join(" -> ");
}

/** Makes text safe inside blessed's `{tag}` markup (a literal `{` would start a tag). */
export function escapeTags(text: string): string {
  return text.replace(/[{}]/g, (c) => (c === "{" ? "{open}" : "{close}"));
}

/** Control characters from the wire (a remote error message) must not reach the terminal. */
export function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, " ");
}
