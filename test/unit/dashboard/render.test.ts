import { describe, expect, it } from "vitest";
import { type DashState, initialState, reduce } from "../../../src/dashboard/model.js";
import {
  asciiOnly,
  type RenderOptions,
  renderDialog,
  renderMain,
  renderPlain,
  tunnelColumns,
  visibleText,
  wrap,
} from "../../../src/dashboard/render.js";
import type { DashInput } from "../../../src/dashboard/types.js";
import { connection, snapshot, T0, tunnel } from "./fixtures.js";

const plain80: RenderOptions = { width: 80, height: 24, tags: false, ascii: false };

function stateWith(...inputs: DashInput[]): DashState {
  return inputs.reduce(reduce, initialState(T0));
}

const busy = (): DashState =>
  stateWith(
    {
      type: "snapshot",
      snapshot: snapshot(
        T0,
        [
          tunnel({ id: "1", bytesIn: 1000 }),
          tunnel({
            id: "2",
            kind: "dynamic",
            spec: "1080",
            state: "reconnecting",
            lastError: "hop jaguar lost",
          }),
        ],
        {
          connections: [connection({ hops: ["jaguar"] }), connection()],
          transfers: [{ id: "t", label: "big.iso -> mcgonagall:/tmp/", bytesDone: 512, bytesTotal: 2048 }],
        },
      ),
    },
    {
      type: "snapshot",
      snapshot: snapshot(
        T0 + 1000,
        [
          tunnel({ id: "1", bytesIn: 3_000_000, bytesOut: 2000, active: 2, total: 17 }),
          tunnel({
            id: "2",
            kind: "dynamic",
            spec: "1080",
            state: "reconnecting",
            lastError: "hop jaguar lost",
          }),
        ],
        {
          connections: [connection({ hops: ["jaguar"] }), connection()],
          transfers: [{ id: "t", label: "big.iso -> mcgonagall:/tmp/", bytesDone: 512, bytesTotal: 2048 }],
        },
      ),
    },
    {
      type: "agent",
      keys: [{ fingerprint: "SHA256:abc", comment: "me@laptop", type: "ED25519", bits: 256 }],
    },
  );

describe("dashboard render: the main screen", () => {
  it("fills 80x24 exactly, every line 80 cells, with every panel readable", () => {
    const lines = renderMain(busy(), plain80);
    expect(lines).toHaveLength(24);
    for (const line of lines) expect(line).toHaveLength(80);
    // The coloured screen shows exactly the same text.
    const tagged = renderMain(busy(), { ...plain80, tags: true });
    expect(tagged.map((l) => visibleText(l, true))).toEqual(lines);
    const screen = lines.join("\n");
    expect(screen).toContain("you -> jaguar -> mcgonagall");
    expect(screen).toMatch(/you -> jaguar\s+ready\s+1m06s\s+1\.5ms\s+2/);
    // The whole spec fits at 80 columns, with its state, connections, bytes and rate.
    expect(screen).toMatch(/> 1\s+-L 1111:localhost:12345\s+listening\s+2\/17\s+2\.9M\s+2\.0K\s+2\.9M\/s/);
    expect(screen).toMatch(/2\s+-D 1080\s+reconnecting/);
    expect(screen).toContain("! hop jaguar lost");
    expect(screen).toMatch(/big\.iso -> mcgonagall:\/tmp\/\s+\[#+\.+\]\s+25%\s+512B\/2\.0K/);
    expect(screen).toContain("ED25519 256  SHA256:abc me@laptop");
    expect(screen).toContain("── Agent keys (1) ─");
    const named = reduce(busy(), { type: "agent", keys: [], name: "jumpgate agent" });
    expect(renderMain(named, plain80).join("\n")).toMatch(
      /── Agent keys \(0, jumpgate agent\) ─[\s\S]*the agent holds no keys/,
    );
    expect(lines[0]).toMatch(/gate live · 2 connections · 2 tunnels\s+\? help {2}q quit/);
  });

  it("draws the sparkline from the history", () => {
    const lines = renderMain(busy(), plain80);
    const row = lines.find((l) => l.startsWith("> 1"))!;
    expect(row.trimEnd()).toMatch(/█$/);
  });

  it("keeps the selected tunnel in view when there are more tunnels than rows", () => {
    const tunnels = Array.from({ length: 40 }, (_, i) =>
      tunnel({ id: String(i + 1), spec: `${2000 + i}:localhost:80` }),
    );
    let s = stateWith({ type: "snapshot", snapshot: snapshot(T0, tunnels) });
    s = { ...s, selected: "37" };
    const lines = renderMain(s, plain80);
    expect(lines).toHaveLength(24);
    expect(lines.some((l) => l.startsWith("> 37 ") && l.includes("2036:localhost:80"))).toBe(true);
    expect(lines.some((l) => /… \d+ more lines \(up\/down to scroll\)/.test(l))).toBe(true);
    // The table header stays.
    expect(lines.some((l) => /ID\s+FORWARD\s+STATE/.test(l))).toBe(true);
  });

  it("stays within the terminal when it is tiny", () => {
    const lines = renderMain(busy(), { width: 40, height: 8, tags: false, ascii: false });
    expect(lines).toHaveLength(8);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(40);
  });

  it("never throws or overflows, however small the terminal", () => {
    const s = busy();
    for (const [width, height] of [
      [1, 1],
      [10, 3],
      [20, 5],
      [79, 2],
      [30, 24],
      [50, 24],
    ] as const) {
      const lines = renderMain(s, { width, height, tags: false, ascii: false });
      expect(lines.length).toBeLessThanOrEqual(height);
      for (const line of lines) expect(line.length).toBeLessThanOrEqual(width);
      // With tags, what blessed will show fits too.
      for (const line of renderMain(s, { width, height, tags: true, ascii: false })) {
        expect(visibleText(line, true).length).toBeLessThanOrEqual(width);
      }
      for (const dialog of [{ kind: "help" as const }, { kind: "details" as const, tunnelId: "1" }]) {
        expect(() => renderDialog(dialog, s, { width, height, tags: true, ascii: false })).not.toThrow();
      }
    }
  });

  it("adds the destination and auth columns on a wide terminal", () => {
    expect(tunnelColumns(80, []).dest).toBe(0);
    expect(tunnelColumns(120, []).dest).toBeGreaterThan(0);
    const screen = renderMain(busy(), { width: 120, height: 30, tags: false, ascii: false }).join("\n");
    expect(screen).toMatch(/-L 1111:localhost:12345\s+mcgonagall\s+listening/);
    expect(screen).toMatch(/AUTH/);
    expect(screen).toMatch(/publickey/);
  });

  it("says when there is nothing yet, and when the gate is lost", () => {
    const empty = renderMain(initialState(T0), plain80).join("\n");
    expect(empty).toContain("connecting to the gate…");
    expect(empty).toContain("no tunnels - press a to add one");
    const lost = stateWith({ type: "feed", state: "lost", at: T0, error: "JG_GATE_LOST: gone" });
    const lines = renderMain(lost, plain80);
    expect(lines[0]).toContain("gate LOST");
    expect(lines[23]).toMatch(
      /^gate lost, retrying \('jumpgate gate start' starts one\): JG_GATE_LOST: gone +$/,
    );
  });

  it("shows the newest notice, else the last event, in the footer", () => {
    const s = stateWith({
      type: "event",
      at: T0,
      event: { kind: "ready", route: "r", hop: "jaguar", reused: false },
    });
    expect(renderMain(s, plain80)[23]).toMatch(/^jaguar: ready/);
    const n = reduce(s, { type: "result", at: T0, ok: false, message: "JG_X: nope", action: "drop" });
    expect(renderMain(n, plain80)[23]).toMatch(/^JG_X: nope/);
  });

  it("escapes blessed tags and strips control characters in text from the wire", () => {
    const s = stateWith({
      type: "snapshot",
      snapshot: snapshot(T0, [tunnel({ lastError: "{red-fg}boom{/red-fg}\u001b[2J\u0007" })]),
    });
    const tagged = renderMain(s, { ...plain80, tags: true }).join("\n");
    expect(tagged).toContain("{open}red-fg{close}boom{open}/red-fg{close}");
    expect(tagged).not.toContain("\u001b");
    expect(tagged).not.toContain("\u0007");
    // Styles appear only with tags on.
    expect(tagged).toContain("{inverse}");
    const untagged = renderMain(s, plain80).join("");
    expect(untagged).not.toMatch(/\{(inverse|bold|green-fg)\}/);
    expect(untagged).toContain("! {red-fg}boom{/red-fg} [2J");
  });

  it("visibleText reads blessed tags and escaped braces", () => {
    expect(visibleText("{red-fg}a{open}b{close}{/red-fg}", true)).toBe("a{b}");
    expect(visibleText("{red-fg}", false)).toBe("{red-fg}");
  });

  it("uses only ASCII in ascii mode", () => {
    const lines = renderMain(busy(), { ...plain80, ascii: true });
    for (const line of lines) expect(line).toMatch(/^[\x20-\x7e]*$/);
    expect(asciiOnly("a…b·c─d▁é")).toBe("a~b|c-d_?");
  });
});

describe("dashboard render: plain text and dialogs", () => {
  it("renderPlain lists every tunnel, without colour or trailing blanks", () => {
    const tunnels = Array.from({ length: 40 }, (_, i) => tunnel({ id: String(i + 1) }));
    const text = renderPlain(stateWith({ type: "snapshot", snapshot: snapshot(T0, tunnels) }));
    for (let i = 1; i <= 40; i++) expect(text).toMatch(new RegExp(`^(> | {2})${i} +-L`, "m"));
    expect(text).not.toMatch(/ $/m);
    expect(text).toMatch(/^[\x20-\x7e\n]*$/);
  });

  it("the add form shows both fields, the cursor, the flags and a wrapped error", () => {
    const error =
      "JG_FORWARD_SPEC: Bad local forwarding specification '99999:localhost:80': the port must be 1-65535.";
    const s: DashState = {
      ...initialState(T0),
      dialog: {
        kind: "add",
        form: { destination: "mcgonagall", forward: "-L 99999:localhost:80", field: 1, error },
      },
    };
    const view = renderDialog(s.dialog!, s, plain80);
    expect(view.title).toBe(" Add a tunnel ");
    expect(view.error).toBe(true);
    expect(view.width).toBeLessThanOrEqual(76);
    const text = view.lines.join("\n");
    expect(text).toMatch(/Destination \[mcgonagall\s+\]/);
    expect(text).toMatch(/Forward {5}\[-L 99999:localhost:80_\s+\]/);
    expect(text).toContain("-D [bind:]port");
    expect(text.replace(/\n/g, " ")).toContain(error.split(" ").slice(0, 6).join(" "));
    for (const line of view.lines) expect(line.length).toBeLessThanOrEqual(view.width - 4);
    expect(view.height).toBe(view.lines.length + 2);
  });

  it("the confirmation names the tunnel; details show everything about it", () => {
    const s = busy();
    const confirm = renderDialog({ kind: "confirmDrop", tunnelId: "2", spec: "-D 1080" }, s, plain80);
    expect(confirm.lines[0]).toBe("Drop tunnel 2 (-D 1080)?");
    const details = renderDialog({ kind: "details", tunnelId: "1" }, s, plain80).lines.join("\n");
    expect(details).toMatch(/route +you -> jaguar -> mcgonagall/);
    expect(details).toMatch(/connections +2 open, 17 since it started/);
    expect(details).toMatch(/bytes +2\.9M in, 2\.0K out \(3000000 \/ 2000\)/);
    const gone = renderDialog({ kind: "details", tunnelId: "nope" }, initialState(T0), plain80);
    expect(gone.lines).toEqual(["This tunnel is gone."]);
  });

  it("help lists every key", () => {
    const text = renderDialog({ kind: "help" }, initialState(T0), plain80).lines.join("\n");
    for (const key of ["a ", "d ", "r ", "enter", "?", "q, Ctrl-C", "up/down"]) expect(text).toContain(key);
  });

  it("wrap keeps words whole and cuts only words longer than the line", () => {
    expect(wrap("one two three", 7)).toEqual(["one two", "three"]);
    expect(wrap("abcdefghij x", 4)).toEqual(["abcd", "efgh", "ij x"]);
  });
});
