/**
 * Transfer progress: one small event model shared by cp, push and pull (and, later, the dashboard),
 * a pure reducer from events to a state, and renderers for a TTY bar and the one-line summary.
 *
 * Nothing here does I/O except `createProgressReporter`, which only writes strings to the stream it
 * is given. No ssh2: the dashboard imports this module too.
 */
import { terminalSafe } from "../util/terminal-text.js";

/** Which command produced the events. */
export type TransferOp = "cp" | "push" | "pull";

/**
 * The events. `at` is a millisecond clock (Date.now() or performance.now(); only differences are
 * used). Totals are optional because a tar stream from `pull` does not know them in advance; the
 * renderer then shows bytes and rate without a percentage or ETA.
 */
export type TransferEvent =
  | {
      kind: "start";
      op: TransferOp;
      at: number;
      /** Bytes expected in total, when known. A later "start" for the same run may refine it. */
      totalBytes?: number;
      totalFiles?: number;
      /** Free text for the bar's left edge, e.g. "mcgonagall:/srv/data". */
      label?: string;
    }
  | {
      kind: "file";
      at: number;
      /** A display path (the user's spelling or a path relative to the tree). */
      path: string;
      /** "begin" when bytes for it start flowing, "end" when it is complete under its final name. */
      state: "begin" | "end";
      size?: number;
    }
  | {
      kind: "bytes";
      at: number;
      /** Bytes moved since the previous "bytes" event (a delta, so several files in flight just add). */
      n: number;
      path?: string;
    }
  | {
      kind: "done";
      at: number;
    }
  | {
      kind: "error";
      at: number;
      /** A JumpgateError code when there is one. */
      code?: string;
      message: string;
      path?: string;
    };

export type ProgressListener = (event: TransferEvent) => void;

/** How many recent samples the rate is computed over (a sliding window, in ms). */
const RATE_WINDOW_MS = 5000;
/** Samples closer together than this are merged. */
const SAMPLE_MS = 100;

export interface ProgressState {
  op: TransferOp | undefined;
  label: string | undefined;
  startedAt: number | undefined;
  lastAt: number | undefined;
  endedAt: number | undefined;
  totalBytes: number | undefined;
  totalFiles: number | undefined;
  bytes: number;
  /** Files completed ("end" events). */
  files: number;
  /** Files begun but not yet ended. */
  active: string[];
  /** The most recently begun file, for the bar. */
  current: string | undefined;
  errors: { code?: string; message: string; path?: string }[];
  /** (time, cumulative bytes) samples inside RATE_WINDOW_MS of the last event. */
  samples: [number, number][];
  finished: boolean;
}

export function initialProgress(): ProgressState {
  return {
    op: undefined,
    label: undefined,
    startedAt: undefined,
    lastAt: undefined,
    endedAt: undefined,
    totalBytes: undefined,
    totalFiles: undefined,
    bytes: 0,
    files: 0,
    active: [],
    current: undefined,
    errors: [],
    samples: [],
    finished: false,
  };
}

/** Pure reducer: returns a new state; never mutates `s`. */
export function reduceProgress(s: ProgressState, e: TransferEvent): ProgressState {
  const startedAt = s.startedAt ?? e.at;
  const base = { ...s, startedAt, lastAt: e.at };
  switch (e.kind) {
    case "start":
      return {
        ...base,
        op: e.op,
        label: e.label ?? s.label,
        totalBytes: e.totalBytes ?? s.totalBytes,
        totalFiles: e.totalFiles ?? s.totalFiles,
        samples: s.samples.length === 0 ? [[e.at, s.bytes]] : s.samples,
      };
    case "file":
      if (e.state === "begin") {
        return { ...base, active: [...s.active, e.path], current: e.path };
      } else {
        const i = s.active.indexOf(e.path);
        const active = i < 0 ? s.active : [...s.active.slice(0, i), ...s.active.slice(i + 1)];
        return { ...base, active, files: s.files + 1 };
      }
    case "bytes": {
      const bytes = s.bytes + e.n;
      // One sample per SAMPLE_MS at most: a fast copy sends thousands of events a second, and the
      // window must stay small for the reducer to stay cheap.
      // The newest sample moves with each event; a new one starts when the one before it is
      // SAMPLE_MS old.
      const kept = s.samples.filter(([t]) => e.at - t <= RATE_WINDOW_MS);
      const previous = kept[kept.length - 2];
      const samples: [number, number][] =
        previous !== undefined && e.at - previous[0] < SAMPLE_MS
          ? [...kept.slice(0, -1), [e.at, bytes]]
          : [...kept, [e.at, bytes]];
      return { ...base, bytes, samples };
    }
    case "done":
      return { ...base, endedAt: e.at, finished: true, active: [] };
    case "error":
      return { ...base, errors: [...s.errors, { code: e.code, message: e.message, path: e.path }] };
  }
}

/** Bytes per second over the recent window; falls back to the whole run; undefined before data. */
export function rateOf(s: ProgressState, now: number = s.lastAt ?? 0): number | undefined {
  if (s.finished && s.startedAt !== undefined && s.endedAt !== undefined) {
    const secs = (s.endedAt - s.startedAt) / 1000;
    return secs > 0 ? s.bytes / secs : undefined;
  }
  const window = s.samples.filter(([t]) => now - t <= RATE_WINDOW_MS);
  if (window.length >= 2) {
    const [t0, b0] = window[0]!;
    const [t1, b1] = window[window.length - 1]!;
    if (t1 > t0) return (b1 - b0) / ((t1 - t0) / 1000);
  }
  if (s.startedAt !== undefined && now > s.startedAt && s.bytes > 0) {
    return s.bytes / ((now - s.startedAt) / 1000);
  }
  return undefined;
}

/** Seconds left, when a total is known and a rate exists. */
export function etaOf(s: ProgressState, now?: number): number | undefined {
  if (s.totalBytes === undefined) return undefined;
  const rate = rateOf(s, now);
  if (rate === undefined || rate <= 0) return undefined;
  return Math.max(0, (s.totalBytes - s.bytes) / rate);
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"] as const;

/** 1536 -> "1.5 KiB"; binary units as OpenSSH's scp uses. */
export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return `${Math.round(v)} B`;
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${UNITS[u]}`;
}

/** 75 -> "01:15", 3725 -> "1:02:05". */
export function formatDuration(seconds: number): string {
  const t = Math.max(0, Math.round(seconds));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  const two = (x: number) => String(x).padStart(2, "0");
  return h > 0 ? `${h}:${two(m)}:${two(sec)}` : `${two(m)}:${two(sec)}`;
}

/** Display width is approximated by code points (names are shortened from the left with "…"). */
function clip(text: string, width: number): string {
  const cps = [...text];
  if (cps.length <= width) return text;
  if (width <= 1) return "…".slice(0, width);
  return `…${cps.slice(cps.length - width + 1).join("")}`;
}

/**
 * One line of a hostile file name, safe to print: control characters (newline and tab too) become
 * '?', so it cannot move the cursor, retitle the terminal or forge another line.
 */
export function printable(text: string): string {
  return terminalSafe(text).replace(/[\n\t]/g, "?");
}

/**
 * One line for a TTY, exactly `width` columns or fewer:
 * `name  [#####-----]  45%  12.0 MiB/26.7 MiB  3/10 files  8.1 MiB/s  ETA 00:02`
 * On a narrow terminal the name goes first, then the bar, then file count, sizes and rate.
 */
export function renderBar(s: ProgressState, now: number, width: number): string {
  const rate = rateOf(s, now);
  const eta = etaOf(s, now);
  const pct =
    s.totalBytes !== undefined && s.totalBytes > 0
      ? Math.min(100, Math.floor((s.bytes / s.totalBytes) * 100))
      : s.totalBytes === 0 && s.finished
        ? 100
        : undefined;
  const sizes =
    s.totalBytes !== undefined
      ? `${formatBytes(s.bytes)}/${formatBytes(s.totalBytes)}`
      : formatBytes(s.bytes);
  const files = s.totalFiles !== undefined ? `${s.files}/${s.totalFiles} files` : `${s.files} files`;
  // Dropped in this order when the line does not fit: file count, sizes, rate.
  const parts: (string | undefined)[] = [
    pct !== undefined ? `${String(pct).padStart(3)}%` : undefined,
    sizes,
    files,
    rate !== undefined ? `${formatBytes(rate)}/s` : "--/s",
    eta !== undefined ? `ETA ${formatDuration(eta)}` : undefined,
  ];
  const join = () => parts.filter((x) => x !== undefined).join("  ");
  for (const drop of [2, 1, 3]) {
    if (join().length < width) break;
    parts[drop] = undefined;
  }
  const tail = join();
  if (tail.length >= width) return [...tail].slice(0, width).join("");
  let room = width - tail.length;
  let bar = "";
  if (pct !== undefined && room >= 14) {
    const inner = Math.min(30, Math.max(10, Math.floor(room / 3)));
    const filled = Math.round((pct / 100) * inner);
    bar = `[${"#".repeat(filled)}${"-".repeat(inner - filled)}]  `;
    room -= bar.length;
  }
  const name = printable(s.current ?? s.label ?? "");
  const head = room >= 8 && name ? `${clip(name, room - 2).padEnd(room - 2)}  ` : "";
  return `${head}${bar}${tail}`;
}

/**
 * The one-line summary printed at the end (also when not on a TTY, unless quiet):
 * `cp: 3 files, 26.7 MiB in 00:04 (6.6 MiB/s)` or `cp: 2 files, 1.0 MiB in 00:01 (...), 1 error`.
 */
export function renderSummary(s: ProgressState, now: number = s.endedAt ?? s.lastAt ?? 0): string {
  const secs = s.startedAt !== undefined ? (now - s.startedAt) / 1000 : 0;
  const rate = secs > 0 ? s.bytes / secs : undefined;
  const files = `${s.files} file${s.files === 1 ? "" : "s"}`;
  const errs = s.errors.length > 0 ? `, ${s.errors.length} error${s.errors.length === 1 ? "" : "s"}` : "";
  const rateText = rate !== undefined ? ` (${formatBytes(rate)}/s)` : "";
  return `${s.op ?? "transfer"}: ${files}, ${formatBytes(s.bytes)} in ${formatDuration(secs)}${rateText}${errs}`;
}

/** tty: redraw a bar in place and print the summary; plain: only the summary; quiet: nothing. */
export type ProgressMode = "tty" | "plain" | "quiet";

/** A minimal writable: process.stderr fits, and so does a test's array of strings. */
export interface ProgressSink {
  write(text: string): unknown;
  columns?: number;
}

export interface ProgressReporterOptions {
  mode: ProgressMode;
  sink: ProgressSink;
  /** Redraws at most this often (ms). */
  intervalMs?: number;
  now?: () => number;
}

export interface ProgressReporter {
  /** Feed it events (pass it as a transfer's onProgress). */
  readonly listener: ProgressListener;
  /** Current state, for callers that want to report what was written after a failure. */
  state(): ProgressState;
  /** Clears the bar and prints the summary line (tty and plain modes). Idempotent. */
  finish(): void;
}

/** Chooses the mode the way scp does: -q silences, a non-TTY stderr gets no bar. */
export function chooseProgressMode(quiet: boolean, isTTY: boolean | undefined): ProgressMode {
  if (quiet) return "quiet";
  return isTTY ? "tty" : "plain";
}

export function createProgressReporter(opts: ProgressReporterOptions): ProgressReporter {
  const now = opts.now ?? (() => Date.now());
  const interval = opts.intervalMs ?? 200;
  let state = initialProgress();
  let lastDraw = Number.NEGATIVE_INFINITY;
  let drawn = false;
  let finished = false;

  // A terminal that reports no size (columns 0, e.g. a fresh pty under script(1)) gets 80.
  const width = () => Math.max(20, (opts.sink.columns || 80) - 1);
  const draw = (force: boolean) => {
    if (opts.mode !== "tty" || finished) return;
    const t = now();
    if (!force && t - lastDraw < interval) return;
    lastDraw = t;
    // \r + erase-line keeps it on one line; no cursor movement beyond that.
    opts.sink.write(`\r\x1b[K${renderBar(state, t, width())}`);
    drawn = true;
  };

  return {
    listener: (e) => {
      state = reduceProgress(state, e);
      draw(e.kind === "start" || e.kind === "done");
    },
    state: () => state,
    finish: () => {
      if (finished) return;
      if (opts.mode === "tty" && drawn) opts.sink.write("\r\x1b[K");
      finished = true;
      if (opts.mode !== "quiet") opts.sink.write(`${renderSummary(state, state.endedAt ?? now())}\n`);
    },
  };
}
