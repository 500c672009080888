/**
 * Keys -> (new state, effect): pure, like the model. An effect is what the controller must do
 * outside (send a request to the gate, quit); the state change happens here, so the tests can
 * drive the whole dialog flow without a terminal.
 *
 *   q / Ctrl-C  quit (q is text inside the add form; Ctrl-C always quits)
 *   up/down, k/j  select a tunnel          a  add a tunnel (form)
 *   d  drop the selected tunnel (y/n)      r  reconnect the selected tunnel
 *   enter  details of the selected tunnel  ?  help            esc  close a dialog
 */
import { type AddForm, type DashState, moveSelection, selectedTunnel, tunnelSpec } from "./model.js";

/** A key as blessed reports it: `name` is its `full` name (`a`, `S-a`, `enter`, `C-c`, `up`). */
export interface KeyPress {
  name: string;
  /** The character typed, for printable keys. */
  ch?: string;
}

export type ForwardKind = "local" | "remote" | "dynamic";

export type Effect =
  | { kind: "quit" }
  | { kind: "addTunnel"; destination: string; forwardKind: ForwardKind; spec: string }
  | { kind: "removeTunnel"; id: string }
  | { kind: "reconnect"; id: string };

export interface KeyDeps {
  /**
   * Checks a forward specification as `ssh -L/-R/-D` would parse it; returns why it is wrong, or
   * null when it is fine. Injected: the parser lives in config/, which the dashboard does not import.
   */
  validateForward(kind: ForwardKind, spec: string): string | null;
}

export interface KeyResult {
  state: DashState;
  effect: Effect | null;
}

/** Longest text a form field accepts (a spec with two Unix socket paths fits). */
export const FIELD_MAX = 240;

const FLAG_KIND: Record<string, ForwardKind> = { L: "local", R: "remote", D: "dynamic" };

const unchanged = (state: DashState): KeyResult => ({ state, effect: null });

function notice(state: DashState, level: "info" | "error", text: string): KeyResult {
  return { state: { ...state, notice: { level, text, at: state.now } }, effect: null };
}

/** Checks the form; returns the request to send, or the form with its error. */
export function validateAddForm(
  form: AddForm,
  deps: KeyDeps,
): { ok: true; destination: string; forwardKind: ForwardKind; spec: string } | { ok: false; error: string } {
  const destination = form.destination.trim();
  if (destination === "") {
    return { ok: false, error: "Enter a destination: a Host from your ssh config or [user@]host[:port]." };
  }
  if (/\s/.test(destination) || destination.startsWith("-")) {
    return {
      ok: false,
      error: `"${destination}" is not a destination: one word, a Host from your ssh config or [user@]host[:port].`,
    };
  }
  const match = /^\s*-([LRD])\s*(.*?)\s*$/.exec(form.forward);
  if (match === null) {
    return { ok: false, error: "Start the forward with -L, -R or -D, e.g. -L 8080:localhost:80." };
  }
  const forwardKind = FLAG_KIND[match[1]!]!;
  const spec = match[2]!;
  if (spec === "") {
    return { ok: false, error: `-${match[1]} needs a specification, e.g. ${example(forwardKind)}.` };
  }
  const problem = deps.validateForward(forwardKind, spec);
  if (problem !== null) return { ok: false, error: problem };
  return { ok: true, destination, forwardKind, spec };
}

export function example(kind: ForwardKind): string {
  if (kind === "local") return "-L 8080:localhost:80";
  if (kind === "remote") return "-R 9090:localhost:3000";
  return "-D 1080";
}

function isPrintable(ch: string | undefined): ch is string {
  if (ch === undefined || ch.length !== 1) return false;
  const code = ch.charCodeAt(0);
  return code >= 0x20 && code !== 0x7f && !(code >= 0x80 && code < 0xa0);
}

function handleForm(state: DashState, form: AddForm, key: KeyPress, deps: KeyDeps): KeyResult {
  const withForm = (next: AddForm): KeyResult => ({
    state: { ...state, dialog: { kind: "add", form: next } },
    effect: null,
  });
  const name = form.field === 0 ? "destination" : "forward";
  switch (key.name) {
    case "escape":
      return { state: { ...state, dialog: null }, effect: null };
    case "tab":
    case "S-tab":
    case "up":
    case "down":
      return withForm({ ...form, field: form.field === 0 ? 1 : 0 });
    case "backspace":
      return withForm({ ...form, [name]: form[name].slice(0, -1) });
    case "C-u":
      return withForm({ ...form, [name]: "" });
    case "enter":
    case "return": {
      if (form.field === 0) return withForm({ ...form, field: 1 });
      const checked = validateAddForm(form, deps);
      if (!checked.ok) return withForm({ ...form, error: checked.error });
      const { destination, forwardKind, spec } = checked;
      return {
        state: {
          ...state,
          dialog: null,
          pendingAdd: { ...form, error: null },
          notice: { level: "info", text: `adding ${form.forward.trim()} to ${destination}…`, at: state.now },
        },
        effect: { kind: "addTunnel", destination, forwardKind, spec },
      };
    }
    default:
      if (!isPrintable(key.ch)) return unchanged(state);
      if (form[name].length >= FIELD_MAX)
        return withForm({ ...form, error: `That is too long (${FIELD_MAX} characters at most).` });
      return withForm({ ...form, [name]: form[name] + key.ch, error: null });
  }
}

export function handleKey(state: DashState, key: KeyPress, deps: KeyDeps): KeyResult {
  if (key.name === "C-c") return { state: { ...state, quitting: true }, effect: { kind: "quit" } };
  const dialog = state.dialog;
  if (dialog?.kind === "add") return handleForm(state, dialog.form, key, deps);
  if (key.name === "q") return { state: { ...state, quitting: true }, effect: { kind: "quit" } };

  if (dialog?.kind === "confirmDrop") {
    if (key.name === "y" || key.name === "S-y") {
      return {
        state: {
          ...state,
          dialog: null,
          notice: {
            level: "info",
            text: `dropping tunnel ${dialog.tunnelId} (${dialog.spec})…`,
            at: state.now,
          },
        },
        effect: { kind: "removeTunnel", id: dialog.tunnelId },
      };
    }
    if (key.name === "n" || key.name === "S-n" || key.name === "escape") {
      return {
        state: { ...state, dialog: null, notice: { level: "info", text: "nothing dropped", at: state.now } },
        effect: null,
      };
    }
    return unchanged(state);
  }
  if (dialog !== null) {
    // Help and details: read-only, closed by the keys that opened them or esc.
    if (["escape", "enter", "return", "?", "backspace"].includes(key.name)) {
      return { state: { ...state, dialog: null }, effect: null };
    }
    return unchanged(state);
  }

  switch (key.name) {
    case "up":
    case "k":
      return unchanged(moveSelection(state, -1));
    case "down":
    case "j":
      return unchanged(moveSelection(state, 1));
    case "pageup":
      return unchanged(moveSelection(state, -10));
    case "pagedown":
      return unchanged(moveSelection(state, 10));
    case "?":
    case "S-?":
    case "h":
      return { state: { ...state, dialog: { kind: "help" } }, effect: null };
    case "a": {
      const destination = selectedTunnel(state)?.destination ?? "";
      const form: AddForm = { destination, forward: "", field: destination === "" ? 0 : 1, error: null };
      return { state: { ...state, dialog: { kind: "add", form } }, effect: null };
    }
    case "d": {
      const t = selectedTunnel(state);
      if (t === null) return notice(state, "error", "No tunnel selected: add one with a.");
      return {
        state: { ...state, dialog: { kind: "confirmDrop", tunnelId: t.id, spec: tunnelSpec(t) } },
        effect: null,
      };
    }
    case "r": {
      const t = selectedTunnel(state);
      if (t === null) return notice(state, "error", "No tunnel selected: nothing to reconnect.");
      return {
        state: { ...state, notice: { level: "info", text: `reconnecting tunnel ${t.id}…`, at: state.now } },
        effect: { kind: "reconnect", id: t.id },
      };
    }
    case "enter":
    case "return": {
      const t = selectedTunnel(state);
      if (t === null) return notice(state, "error", "No tunnel selected.");
      return { state: { ...state, dialog: { kind: "details", tunnelId: t.id } }, effect: null };
    }
    case "escape":
      return state.notice === null ? unchanged(state) : { state: { ...state, notice: null }, effect: null };
    default:
      return unchanged(state);
  }
}
