/**
 * The dashboard without a terminal to draw on (TERM=dumb, or stdout is not a TTY): plain-text
 * tables, ASCII only, no escape sequences. With `once` it prints one picture as soon as the gate
 * sent its first snapshot and stops; otherwise it prints a new picture every `intervalMs` when the
 * text changed, until stopped (Ctrl-C). Scripts that want data should use `jumpgate status --json`.
 */
import type { InputSource } from "./app.js";
import type { DashFeed } from "./feed.js";
import { type DashState, initialState, reduce } from "./model.js";
import { renderPlain } from "./render.js";
import type { DashInput } from "./types.js";

export interface PlainOptions {
  feed: DashFeed;
  sources?: InputSource[];
  write(text: string): void;
  once: boolean;
  /** Between two pictures (default 2000 ms). */
  intervalMs?: number;
  width?: number;
  now?: () => number;
}

export interface RunningPlain {
  /** Resolves when stopped, or after the one picture with `once`; rejects if the gate is lost first. */
  done: Promise<void>;
  stop(): void;
}

export function startPlain(opts: PlainOptions): RunningPlain {
  const now = opts.now ?? Date.now;
  let state: DashState = initialState(now());
  let last = "";
  let snapshots = 0;
  let finished = false;
  let timer: NodeJS.Timeout | null = null;
  let stops: (() => void)[] = [];
  let settle: { resolve(): void; reject(e: Error): void } = { resolve() {}, reject() {} };
  const done = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });

  const print = (): void => {
    const text = renderPlain(state, opts.width ?? 80);
    if (text === last) return;
    last = text;
    // A blank line and a timestamp separate the pictures in a log.
    opts.write(`${new Date(state.now).toISOString()}\n${text}\n`);
  };

  const finish = (error?: Error): void => {
    if (finished) return;
    finished = true;
    if (timer !== null) clearInterval(timer);
    for (const stop of stops) stop();
    opts.feed.stop();
    if (error) settle.reject(error);
    else settle.resolve();
  };

  const dispatch = (input: DashInput): void => {
    if (finished) return;
    state = reduce(state, input);
    if (input.type === "snapshot") {
      snapshots++;
      if (opts.once) {
        print();
        finish();
      } else if (snapshots === 1) print();
    } else if (input.type === "feed" && input.state === "lost" && opts.once) {
      finish(new Error(input.error ?? "the gate closed the connection"));
    }
  };

  opts.feed.start(dispatch);
  stops = (opts.sources ?? []).map((source) => source(dispatch));
  if (!opts.once) {
    timer = setInterval(() => {
      state = reduce(state, { type: "tick", at: now() });
      if (snapshots > 0 || state.feed.state === "lost") print();
    }, opts.intervalMs ?? 2000);
  }
  return { done, stop: () => finish() };
}
