/**
 * The blessed view: one full-screen box for the panels and one centred box for a dialog, both
 * filled with the text render.ts makes. blessed's smartCSR screen only rewrites the cells that
 * changed, and this view only calls render() when the text itself changed, so a steady screen
 * costs nothing and a busy one does not flicker.
 *
 * Keys are passed on as {name, ch}; Enter arrives from blessed twice ("return" then "enter"),
 * and only "enter" is passed on.
 */
import blessed from "blessed";
import type { KeyPress } from "./keys.js";
import type { DashState } from "./model.js";
import { type DialogView, renderDialog, renderMain } from "./render.js";

export interface ViewOptions {
  /** ASCII only (a terminal without UTF-8): no block characters, no line-drawing borders. */
  ascii?: boolean;
  /** Called with every key the user presses. */
  onKey(key: KeyPress): void;
  /** Called after the terminal was resized (the view has already redrawn). */
  onResize?(): void;
}

/** Whether the terminal takes UTF-8, judged as blessed and ncurses do: from the locale. */
export function utf8Locale(env: Readonly<Record<string, string | undefined>>): boolean {
  return /utf-?8/i.test([env.LC_ALL, env.LC_CTYPE, env.LANG, env.LANGUAGE].join(":"));
}

export interface DashView {
  /** Shows `state`; redraws only what changed, and nothing when the text is the same. */
  update(state: DashState): void;
  /** How many times the screen was actually redrawn (for tests and the benchmark). */
  renders(): number;
  /** Leaves the alternate screen and gives the terminal back as it was. */
  destroy(): void;
}

function createScreen(opts: ViewOptions): blessed.Widgets.Screen {
  return blessed.screen({
    smartCSR: true,
    title: "jumpgate dash",
    fullUnicode: false,
    // Our own choice (UTF-8 locale or not) decides, so blessed does not map lines to ACS.
    forceUnicode: !(opts.ascii ?? false),
    autoPadding: false,
    warnings: false,
  });
}

export function createView(opts: ViewOptions): DashView {
  // blessed compiles the terminfo entry here and prints its own parse failures of capabilities it
  // never uses (e.g. screen-256color's plab_norm) with console.error, onto the user's terminal.
  const consoleError = console.error;
  console.error = () => {};
  let screen: blessed.Widgets.Screen;
  try {
    screen = createScreen(opts);
  } finally {
    console.error = consoleError;
  }
  // In a UTF-8 terminal draw the line characters as they are: blessed would otherwise switch to
  // the DEC alternate charset (ACS), which terminals running tmux or screen often show as 'q'.
  if (!(opts.ascii ?? false))
    (screen.program as unknown as { tput: { brokenACS: boolean } }).tput.brokenACS = true;
  screen.program.hideCursor();
  const main = blessed.box({
    parent: screen,
    top: 0,
    left: 0,
    width: "100%",
    height: "100%",
    tags: true,
    wrap: false,
  });
  const dialog = blessed.box({
    parent: screen,
    top: "center",
    left: "center",
    width: 40,
    height: 5,
    tags: true,
    wrap: false,
    hidden: true,
    border: opts.ascii ? { type: "bg", ch: "#" } : { type: "line" },
    padding: { left: 1, right: 1 },
    style: { border: { fg: "cyan" } },
  });

  let state: DashState | null = null;
  let mainText = "";
  let dialogKey = "";
  let count = 0;
  let destroyed = false;

  const draw = (force: boolean): void => {
    if (state === null || destroyed) return;
    const width = screen.width as number;
    const height = screen.height as number;
    const ascii = opts.ascii ?? false;
    let changed = force;
    const text = renderMain(state, { width, height, tags: true, ascii }).join("\n");
    if (text !== mainText) {
      mainText = text;
      main.setContent(text);
      changed = true;
    }
    const view: DialogView | null = state.dialog
      ? renderDialog(state.dialog, state, { width, height, tags: true, ascii })
      : null;
    const key = view === null ? "" : JSON.stringify(view);
    if (key !== dialogKey) {
      dialogKey = key;
      changed = true;
      if (view === null) dialog.hide();
      else {
        dialog.width = Math.min(view.width, width);
        dialog.height = Math.min(view.height, height);
        dialog.setLabel(view.title);
        dialog.style.border.fg = view.error ? "red" : "cyan";
        dialog.setContent(view.lines.join("\n"));
        dialog.show();
      }
    }
    if (changed) {
      count++;
      screen.render();
    }
  };

  screen.on("keypress", (ch: string | undefined, key: { full?: string; name?: string } | undefined) => {
    const name = key?.full ?? key?.name ?? ch;
    if (name === undefined || name === "return") return;
    opts.onKey({ name: name === "linefeed" ? "enter" : name, ...(ch === undefined ? {} : { ch }) });
  });
  screen.on("resize", () => {
    // Sizes changed: recompute the text for the new width and height, and draw it all.
    mainText = "";
    dialogKey = "";
    draw(true);
    opts.onResize?.();
  });

  return {
    update(next) {
      state = next;
      draw(false);
    },
    renders: () => count,
    destroy() {
      if (destroyed) return;
      destroyed = true;
      screen.program.showCursor();
      screen.destroy();
    },
  };
}
