import { describe, expect, it } from "vitest";
import {
  escapeTags,
  formatBytes,
  formatDuration,
  formatRate,
  formatRoute,
  formatRtt,
  padLeft,
  padRight,
  printable,
  progressBar,
  sparkline,
  truncate,
} from "../../../src/dashboard/format.js";

describe("dashboard format", () => {
  it("formatBytes: ls -h style, at most 5 cells", () => {
    expect(formatBytes(0)).toBe("0B");
    expect(formatBytes(1023)).toBe("1023B");
    expect(formatBytes(1024)).toBe("1.0K");
    expect(formatBytes(1536)).toBe("1.5K");
    expect(formatBytes(12 * 1024)).toBe("12K");
    expect(formatBytes(1023.9 * 1024)).toBe("1.0M");
    expect(formatBytes(3 * 1024 ** 3)).toBe("3.0G");
    expect(formatBytes(-1)).toBe("-");
    expect(formatBytes(Number.NaN)).toBe("-");
    for (let n = 1; n < 2 ** 50; n *= 3) expect(formatBytes(n).length).toBeLessThanOrEqual(5);
    expect(formatRate(2048)).toBe("2.0K/s");
  });

  it("formatDuration and formatRtt", () => {
    expect(formatDuration(999)).toBe("0s");
    expect(formatDuration(59_000)).toBe("59s");
    expect(formatDuration(192_000)).toBe("3m12s");
    expect(formatDuration(2 * 3600_000 + 5 * 60_000)).toBe("2h05m");
    expect(formatDuration(4 * 86400_000 + 3 * 3600_000)).toBe("4d03h");
    expect(formatDuration(-5)).toBe("-");
    expect(formatRtt(null)).toBe("-");
    expect(formatRtt(undefined)).toBe("-");
    expect(formatRtt(0.42)).toBe("0.4ms");
    expect(formatRtt(123.4)).toBe("123ms");
    expect(formatRtt(12_345)).toBe("12s");
  });

  it("sparkline scales to its maximum, leaves idle seconds blank, pads to the width", () => {
    expect(sparkline([0, 1, 2, 4, 8], 5)).toBe(" ▂▃▅█");
    expect(sparkline([8, 8], 4)).toBe("  ██");
    expect(sparkline([0, 0, 0], 3)).toBe("   ");
    expect(sparkline([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 3)).toBe("▇▇█");
    expect(sparkline([1, 8], 2, true)).toBe(".#");
    expect(sparkline([], 2)).toBe("  ");
  });

  it("progressBar", () => {
    expect(progressBar(50, 100, 17)).toBe("[#####.....]  50%");
    expect(progressBar(200, 100, 17)).toBe("[##########] 100%");
    expect(progressBar(0, 100, 17)).toBe("[..........]   0%");
    expect(progressBar(5, null, 17)).toBe("[??????????]    ?");
  });

  it("truncate and pad never exceed the width", () => {
    expect(truncate("abcdef", 4)).toBe("abc…");
    expect(truncate("abc", 4)).toBe("abc");
    expect(truncate("abc", 1)).toBe("…");
    expect(truncate("abc", 0)).toBe("");
    expect(padRight("ab", 4)).toBe("ab  ");
    expect(padLeft("ab", 4)).toBe("  ab");
    expect(padRight("abcdef", 3)).toBe("ab…");
  });

  it("formatRoute, escapeTags, printable", () => {
    expect(formatRoute(["jaguar", "mcgonagall"])).toBe("you -> jaguar -> mcgonagall");
    expect(formatRoute([])).toBe("you");
    expect(escapeTags("{bold}x{/bold}")).toBe("{open}bold{close}x{open}/bold{close}");
    expect(printable("a\u001b[31mb\u0000\u009bc")).toBe("a [31mb  c");
  });
});
