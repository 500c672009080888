/**
 * The dashboard's loop: feed inputs and keys go through the pure reducers (model.ts, keys.ts); the
 * effects they return go to the feed (the gate); the view gets the new state. Feed inputs are
 * coalesced (a burst of events is drawn once), keys are drawn at once, and a clock tick every
 * half second advances uptimes and lets idle rates fall to zero. That tick is local: nothing polls
 * the gate.
 */
import type { DashFeed } from "./feed.js";
import { type Effect, handleKey, type KeyDeps, type KeyPress } from "./keys.js";
import { type DashState, initialState, reduce } from "./model.js";
import type { DashAction, DashInput } from "./types.js";
import type { DashView } from "./view.js";

/** A source of inputs besides the feed (e.g. the agent's keys); returns its stop function. */
export type InputSource = (dispatch: (input: DashInput) => void) => () => void;

export interface AppOptions {
  feed: DashFeed;
  deps: KeyDeps;
  /** Makes the view; the app passes it the key and resize handlers. */
  createView(handlers: { onKey(key: KeyPress): void }): DashView;
  sources?: InputSource[];
  now?: () => number;
  /** Clock tick (default 500 ms: the screen moves at least twice a second). */
  tickMs?: number;
  /** How long feed inputs are gathered before one redraw (default 40 ms). */
  coalesceMs?: number;
}

export interface RunningApp {
  /** Resolves when the user quits (q, Ctrl-C) or quit() is called. */
  done: Promise<void>;
  quit(): void;
  state(): DashState;
  /** Feeds a key as if typed (tests). */
  key(key: KeyPress): void;
}

function messageOf(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" && code.startsWith("JG_") ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

export function startApp(opts: AppOptions): RunningApp {
  const now = opts.now ?? Date.now;
  let state = initialState(now());
  let pending: NodeJS.Timeout | null = null;
  let finished = false;
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });

  const flush = (): void => {
    pending = null;
    if (!finished) view.update(state);
  };

  const dispatch = (input: DashInput): void => {
    if (finished) return;
    state = reduce(state, input);
    pending ??= setTimeout(flush, opts.coalesceMs ?? 40);
  };

  const settle = (action: DashAction, promise: Promise<string>): void => {
    promise.then(
      (message) => dispatch({ type: "result", at: now(), ok: true, message, action }),
      (error: unknown) =>
        dispatch({ type: "result", at: now(), ok: false, message: messageOf(error), action }),
    );
  };

  const run = (effect: Effect): void => {
    switch (effect.kind) {
      case "quit":
        quit();
        return;
      case "addTunnel":
        settle(
          "add",
          opts.feed.addTunnel({
            destination: effect.destination,
            kind: effect.forwardKind,
            spec: effect.spec,
          }),
        );
        return;
      case "removeTunnel":
        settle("drop", opts.feed.removeTunnel(effect.id));
        return;
      case "reconnect":
        settle("reconnect", opts.feed.reconnect(effect.id));
        return;
    }
  };

  const onKey = (key: KeyPress): void => {
    if (finished) return;
    const result = handleKey({ ...state, now: Math.max(state.now, now()) }, key, opts.deps);
    state = result.state;
    view.update(state);
    if (result.effect !== null) run(result.effect);
  };

  const view = opts.createView({ onKey });
  view.update(state);
  opts.feed.start(dispatch);
  const stops = (opts.sources ?? []).map((source) => source(dispatch));
  const ticker = setInterval(() => dispatch({ type: "tick", at: now() }), opts.tickMs ?? 500);

  function quit(): void {
    if (finished) return;
    finished = true;
    clearInterval(ticker);
    if (pending !== null) clearTimeout(pending);
    for (const stop of stops) stop();
    opts.feed.stop();
    view.destroy();
    resolveDone();
  }

  return { done, quit, state: () => state, key: onKey };
}
