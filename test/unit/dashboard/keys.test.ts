import { describe, expect, it } from "vitest";
import {
  type Effect,
  FIELD_MAX,
  type ForwardKind,
  handleKey,
  type KeyDeps,
  type KeyPress,
  validateAddForm,
} from "../../../src/dashboard/keys.js";
import { type AddForm, type DashState, initialState, reduce } from "../../../src/dashboard/model.js";
import { deepFreeze, snapshot, T0, tunnel } from "./fixtures.js";

const calls: [ForwardKind, string][] = [];
const deps: KeyDeps = {
  validateForward(kind, spec) {
    calls.push([kind, spec]);
    return spec.includes("bad") ? `Bad ${kind} forwarding specification '${spec}'.` : null;
  },
};

/** Types keys one after another; returns the final state and every effect produced. */
function press(state: DashState, ...keys: (string | KeyPress)[]): { state: DashState; effects: Effect[] } {
  const effects: Effect[] = [];
  let s = state;
  for (const k of keys) {
    const key = typeof k === "string" ? { name: k, ...(k.length === 1 ? { ch: k } : {}) } : k;
    const r = handleKey(deepFreeze(s), key, deps);
    s = r.state;
    if (r.effect) effects.push(r.effect);
  }
  return { state: s, effects };
}

/** Each character of `text` as blessed reports it (capitals as S-x). */
function typed(text: string): KeyPress[] {
  return [...text].map((ch) => {
    if (ch === " ") return { name: "space", ch };
    if (/[A-Z]/.test(ch)) return { name: `S-${ch.toLowerCase()}`, ch };
    return { name: ch, ch };
  });
}

function withTunnels(...ids: string[]): DashState {
  return reduce(initialState(T0), {
    type: "snapshot",
    snapshot: snapshot(
      T0,
      ids.map((id) => tunnel({ id })),
    ),
  });
}

const form = (s: DashState): AddForm => {
  if (s.dialog?.kind !== "add") throw new Error(`no add form open: ${JSON.stringify(s.dialog)}`);
  return s.dialog.form;
};

describe("dashboard keys: the list", () => {
  it("q and Ctrl-C quit", () => {
    for (const k of ["q", "C-c"]) {
      const r = press(withTunnels("a"), k);
      expect(r.effects).toEqual([{ kind: "quit" }]);
      expect(r.state.quitting).toBe(true);
    }
  });

  it("up/down and k/j move the selection; unknown keys change nothing", () => {
    const s = withTunnels("a", "b", "c");
    expect(press(s, "down", "j").state.selected).toBe("c");
    expect(press(s, "down", "down", "up").state.selected).toBe("b");
    expect(press(s, "k").state.selected).toBe("a");
    const r = handleKey(s, { name: "z", ch: "z" }, deps);
    expect(r.state).toBe(s);
    expect(r.effect).toBeNull();
  });

  it("? opens the help and esc closes it; q still quits from the help", () => {
    const open = press(withTunnels("a"), { name: "?", ch: "?" }).state;
    expect(open.dialog).toEqual({ kind: "help" });
    expect(press(open, "escape").state.dialog).toBeNull();
    expect(press(open, "x").state.dialog).toEqual({ kind: "help" });
    expect(press(open, "q").effects).toEqual([{ kind: "quit" }]);
  });

  it("enter shows the selected tunnel's details; enter or esc closes them", () => {
    const s = press(withTunnels("a", "b"), "down", "enter").state;
    expect(s.dialog).toEqual({ kind: "details", tunnelId: "b" });
    expect(press(s, "enter").state.dialog).toBeNull();
    expect(press(s, "escape").state.dialog).toBeNull();
  });

  it("d asks before dropping; y drops, n keeps", () => {
    const asking = press(withTunnels("a", "b"), "down", "d").state;
    expect(asking.dialog).toEqual({ kind: "confirmDrop", tunnelId: "b", spec: "-L 1111:localhost:12345" });
    const yes = press(asking, "y");
    expect(yes.effects).toEqual([{ kind: "removeTunnel", id: "b" }]);
    expect(yes.state.dialog).toBeNull();
    expect(yes.state.notice?.text).toMatch(/dropping tunnel b/);
    const no = press(asking, "n");
    expect(no.effects).toEqual([]);
    expect(no.state.dialog).toBeNull();
    expect(press(asking, "escape").effects).toEqual([]);
    // Any other key leaves the question open.
    expect(press(asking, "d").state.dialog?.kind).toBe("confirmDrop");
  });

  it("d, r and enter without a tunnel say what is missing instead of doing anything", () => {
    const empty = initialState(T0);
    for (const k of ["d", "r", "enter"]) {
      const r = press(empty, k);
      expect(r.effects).toEqual([]);
      expect(r.state.dialog).toBeNull();
      expect(r.state.notice?.level).toBe("error");
      expect(r.state.notice?.text).toMatch(/No tunnel selected/);
    }
  });

  it("r asks the gate to reconnect the selected tunnel", () => {
    const r = press(withTunnels("a"), "r");
    expect(r.effects).toEqual([{ kind: "reconnect", id: "a" }]);
    expect(r.state.notice?.text).toMatch(/reconnecting tunnel a/);
  });

  it("esc clears a notice", () => {
    const s = press(initialState(T0), "d").state;
    expect(s.notice).not.toBeNull();
    expect(press(s, "escape").state.notice).toBeNull();
  });
});

describe("dashboard keys: the add form", () => {
  it("opens with the selected tunnel's destination and the cursor on the forward", () => {
    expect(form(press(withTunnels("a"), "a").state)).toEqual({
      destination: "mcgonagall",
      forward: "",
      field: 1,
      error: null,
    });
    expect(form(press(initialState(T0), "a").state)).toEqual({
      destination: "",
      forward: "",
      field: 0,
      error: null,
    });
  });

  it("types into the current field (q included), edits with backspace and ctrl-u, switches with tab", () => {
    let s = press(initialState(T0), "a", ...typed("jaguaqr"), "backspace", "backspace", "r").state;
    expect(form(s).destination).toBe("jaguar");
    expect(s.quitting).toBe(false);
    s = press(s, "tab", ...typed("-D 1080")).state;
    expect(form(s)).toMatchObject({ destination: "jaguar", forward: "-D 1080", field: 1 });
    s = press(s, "C-u").state;
    expect(form(s).forward).toBe("");
    s = press(s, "up").state;
    expect(form(s).field).toBe(0);
    // Keys that type nothing (function keys, control characters) are ignored.
    expect(press(s, { name: "f1" }).state).toBe(s);
    expect(press(s, { name: "C-a", ch: "\u0001" }).state).toBe(s);
  });

  it("enter on the destination moves to the forward; enter there submits a valid form", () => {
    calls.length = 0;
    const s = press(
      initialState(T0),
      "a",
      ...typed("mcgonagall"),
      "enter",
      ...typed("-L 1111:localhost:12345"),
    );
    expect(s.effects).toEqual([]);
    const r = press(s.state, "enter");
    expect(r.effects).toEqual([
      { kind: "addTunnel", destination: "mcgonagall", forwardKind: "local", spec: "1111:localhost:12345" },
    ]);
    expect(calls).toEqual([["local", "1111:localhost:12345"]]);
    expect(r.state.dialog).toBeNull();
    expect(r.state.pendingAdd).toMatchObject({
      destination: "mcgonagall",
      forward: "-L 1111:localhost:12345",
    });
    expect(r.state.notice?.text).toBe("adding -L 1111:localhost:12345 to mcgonagall…");
  });

  it("refuses a bad form with a reason and keeps what was typed", () => {
    const submit = (destination: string, forward: string) => {
      const s: DashState = {
        ...initialState(T0),
        dialog: { kind: "add", form: { destination, forward, field: 1, error: null } },
      };
      const r = press(s, "enter");
      expect(r.effects).toEqual([]);
      expect(form(r.state)).toMatchObject({ destination, forward });
      return form(r.state).error;
    };
    expect(submit("", "-L 1:h:2")).toMatch(/Enter a destination/);
    expect(submit("two words", "-L 1:h:2")).toMatch(/"two words" is not a destination/);
    expect(submit("-oProxyCommand=x", "-L 1:h:2")).toMatch(/is not a destination/);
    expect(submit("m", "1111:localhost:80")).toMatch(/Start the forward with -L, -R or -D/);
    expect(submit("m", "-X 1")).toMatch(/Start the forward with -L, -R or -D/);
    expect(submit("m", "-R")).toMatch(/-R needs a specification, e.g. -R 9090:localhost:3000/);
    expect(submit("m", "-L bad:spec")).toBe("Bad local forwarding specification 'bad:spec'.");
  });

  it("the error goes away when the user types again", () => {
    const s: DashState = {
      ...initialState(T0),
      dialog: { kind: "add", form: { destination: "m", forward: "-L", field: 1, error: "x" } },
    };
    expect(form(press(s, "tab").state).error).toBe("x");
    const typedSpace = form(press(s, { name: "space", ch: " " }).state);
    expect(typedSpace).toMatchObject({ forward: "-L ", error: null });
    expect(form(press(s, "1").state).error).toBeNull();
  });

  it("caps a field's length", () => {
    const s: DashState = {
      ...initialState(T0),
      dialog: {
        kind: "add",
        form: { destination: "m", forward: "x".repeat(FIELD_MAX), field: 1, error: null },
      },
    };
    const after = form(press(s, "y").state);
    expect(after.forward).toHaveLength(FIELD_MAX);
    expect(after.error).toMatch(/too long/);
  });

  it("esc cancels the form; Ctrl-C quits from it", () => {
    const s = press(initialState(T0), "a", "x").state;
    expect(press(s, "escape").state.dialog).toBeNull();
    expect(press(s, "C-c").effects).toEqual([{ kind: "quit" }]);
  });

  it("validateAddForm accepts each flag, with or without a space, and trims", () => {
    const ok = (forward: string) =>
      validateAddForm({ destination: " m ", forward, field: 1, error: null }, deps);
    expect(ok("-L8080:localhost:80")).toEqual({
      ok: true,
      destination: "m",
      forwardKind: "local",
      spec: "8080:localhost:80",
    });
    expect(ok(" -R 0:localhost:22 ")).toEqual({
      ok: true,
      destination: "m",
      forwardKind: "remote",
      spec: "0:localhost:22",
    });
    expect(ok("-D 1080")).toEqual({ ok: true, destination: "m", forwardKind: "dynamic", spec: "1080" });
  });
});
