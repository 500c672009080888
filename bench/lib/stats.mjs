// Small statistics and number formatting shared by the benchmarks' report tables.

/** The median the reports use: the upper middle value of an even-sized sample (no interpolation). */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Nearest-rank 90th percentile. */
export function p90(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(sorted.length * 0.9) - 1)];
}

/** Milliseconds as printed in every table: one decimal. */
export const ms = (v) => v.toFixed(1);
