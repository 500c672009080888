import { describe, expect, it } from "vitest";
import {
  chooseProgressMode,
  createProgressReporter,
  etaOf,
  formatBytes,
  formatDuration,
  initialProgress,
  printable,
  rateOf,
  reduceProgress,
  renderBar,
  renderSummary,
  type TransferEvent,
} from "../../../src/transfer/progress.js";

const run = (events: TransferEvent[]) => events.reduce(reduceProgress, initialProgress());

describe("progress reducer", () => {
  it("counts bytes as deltas across files in flight and files on end only", () => {
    const s = run([
      { kind: "start", op: "cp", at: 0, totalBytes: 300, totalFiles: 2 },
      { kind: "file", at: 0, path: "a", state: "begin", size: 100 },
      { kind: "file", at: 0, path: "b", state: "begin", size: 200 },
      { kind: "bytes", at: 500, n: 100, path: "a" },
      { kind: "bytes", at: 1000, n: 50, path: "b" },
      { kind: "file", at: 1000, path: "a", state: "end" },
    ]);
    expect(s.bytes).toBe(150);
    expect(s.files).toBe(1);
    expect(s.active).toEqual(["b"]);
    expect(s.current).toBe("b");
  });

  it("does not mutate the previous state", () => {
    const s0 = run([{ kind: "start", op: "push", at: 0 }]);
    const s1 = reduceProgress(s0, { kind: "bytes", at: 10, n: 5 });
    expect(s0.bytes).toBe(0);
    expect(s1.bytes).toBe(5);
  });

  it("rate uses the recent window and ETA the remaining bytes", () => {
    const s = run([
      { kind: "start", op: "cp", at: 0, totalBytes: 10_000 },
      { kind: "bytes", at: 1000, n: 1000 },
      { kind: "bytes", at: 2000, n: 1000 },
    ]);
    expect(rateOf(s, 2000)).toBe(1000);
    expect(etaOf(s, 2000)).toBe(8);
  });

  it("old samples leave the window", () => {
    const s = run([
      { kind: "start", op: "cp", at: 0 },
      { kind: "bytes", at: 1000, n: 100_000 },
      { kind: "bytes", at: 9000, n: 100 },
      { kind: "bytes", at: 10_000, n: 100 },
    ]);
    expect(rateOf(s, 10_000)).toBe(100);
  });

  it("no ETA without a total (pull's tar stream)", () => {
    const s = run([
      { kind: "start", op: "pull", at: 0 },
      { kind: "bytes", at: 1000, n: 10 },
    ]);
    expect(etaOf(s, 1000)).toBeUndefined();
    expect(renderBar(s, 1000, 80)).not.toContain("ETA");
    expect(renderBar(s, 1000, 80)).not.toContain("%");
  });

  it("records errors", () => {
    const s = run([
      { kind: "start", op: "cp", at: 0 },
      { kind: "error", at: 1, code: "JG_X", message: "boom", path: "p" },
    ]);
    expect(s.errors).toEqual([{ code: "JG_X", message: "boom", path: "p" }]);
    expect(renderSummary(s)).toContain("1 error");
  });
});

describe("formatting", () => {
  it("bytes in binary units", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1536)).toBe("1.50 KiB");
    expect(formatBytes(100 * 1024 * 1024)).toBe("100 MiB");
    expect(formatBytes(1024 ** 3)).toBe("1.00 GiB");
  });
  it("durations", () => {
    expect(formatDuration(75)).toBe("01:15");
    expect(formatDuration(3725)).toBe("1:02:05");
    expect(formatDuration(-3)).toBe("00:00");
  });
  it("control characters in names are neutralised", () => {
    expect(printable("a\x1b]0;pwned\x07b\n")).toBe("a?]0;pwned?b?");
  });
});

describe("renderBar", () => {
  const s = run([
    { kind: "start", op: "cp", at: 0, totalBytes: 2048, totalFiles: 4 },
    { kind: "file", at: 0, path: "dir/file.bin", state: "begin" },
    { kind: "bytes", at: 1000, n: 1024 },
  ]);
  it("shows name, bar, percent, bytes, files, rate and ETA", () => {
    const line = renderBar(s, 1000, 100);
    expect(line).toContain("dir/file.bin");
    expect(line).toMatch(/\[#+-+\]/);
    expect(line).toContain(" 50%");
    expect(line).toContain("1.00 KiB/2.00 KiB");
    expect(line).toContain("0/4 files");
    expect(line).toContain("1.00 KiB/s");
    expect(line).toContain("ETA 00:01");
  });
  it("never exceeds the width", () => {
    for (const w of [20, 40, 60, 79, 200]) {
      expect([...renderBar(s, 1000, w)].length).toBeLessThanOrEqual(w);
    }
  });
  it("drops the name before the numbers on narrow terminals", () => {
    const line = renderBar(s, 1000, 50);
    expect(line).not.toContain("dir/file.bin");
    expect(line).toContain("50%");
  });
});

describe("reporter", () => {
  const events: TransferEvent[] = [
    { kind: "start", op: "cp", at: 0, totalBytes: 10, totalFiles: 1 },
    { kind: "file", at: 0, path: "f", state: "begin" },
    { kind: "bytes", at: 1000, n: 10 },
    { kind: "file", at: 1000, path: "f", state: "end" },
    { kind: "done", at: 2000 },
  ];
  const feed = (mode: "tty" | "plain" | "quiet") => {
    const out: string[] = [];
    let t = 0;
    const r = createProgressReporter({
      mode,
      sink: { write: (x: string) => out.push(x), columns: 80 },
      now: () => t,
    });
    for (const e of events) {
      t = e.at;
      r.listener(e);
    }
    r.finish();
    r.finish();
    return out.join("");
  };
  it("tty: redraws in place, clears the bar, then one summary line", () => {
    const text = feed("tty");
    expect(text).toContain("\r\x1b[K");
    expect(text.endsWith("cp: 1 file, 10 B in 00:02 (5 B/s)\n")).toBe(true);
    expect(text.split("\n").length).toBe(2);
  });
  it("plain: only the summary", () => {
    expect(feed("plain")).toBe("cp: 1 file, 10 B in 00:02 (5 B/s)\n");
  });
  it("quiet: nothing", () => {
    expect(feed("quiet")).toBe("");
  });
  it("mode choice", () => {
    expect(chooseProgressMode(true, true)).toBe("quiet");
    expect(chooseProgressMode(false, true)).toBe("tty");
    expect(chooseProgressMode(false, false)).toBe("plain");
  });
});

describe("many events", () => {
  it("keeps the sample window small and the rate right", () => {
    let s = run([{ kind: "start", op: "cp", at: 0 }]);
    for (let t = 1; t <= 10_000; t++) s = reduceProgress(s, { kind: "bytes", at: t, n: 100 });
    expect(s.samples.length).toBeLessThanOrEqual(5000 / 100 + 2);
    expect(s.bytes).toBe(1_000_000);
    expect(rateOf(s, 10_000)).toBeCloseTo(100_000, -2);
  });
});

describe("terminal width", () => {
  it("a terminal reporting 0 columns gets an 80-column bar, not a clipped one", () => {
    const out: string[] = [];
    const r = createProgressReporter({
      mode: "tty",
      sink: { write: (x: string) => out.push(x), columns: 0 },
      now: () => 0,
    });
    r.listener({ kind: "start", op: "cp", at: 0, totalBytes: 100, totalFiles: 1 });
    expect(out.join("")).toContain("0/1 files");
  });
});
