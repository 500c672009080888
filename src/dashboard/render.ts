/**
 * View state -> text, pure: the screen as lines of exactly `width` cells (with blessed `{tags}` for
 * colour when `tags` is set), and the dialog boxes' contents. The blessed view (view.ts) only places
 * these strings; the plain-text mode prints them. Laid out to stay readable in 80x24: columns shrink
 * or drop before anything wraps, and the selected tunnel stays in view.
 */
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
} from "./format.js";
import {
  type DashState,
  type Dialog,
  NOTICE_MS,
  selectedTunnel,
  type TunnelView,
  tunnelSpec,
} from "./model.js";

export interface RenderOptions {
  width: number;
  /** Rows available; Infinity lists everything (the plain-text mode). */
  height: number;
  /** Emit blessed tags for colour and the selection. */
  tags: boolean;
  /** ASCII only (dumb terminals): no block characters in sparklines. */
  ascii: boolean;
  /** Key hints (false for the plain-text mode, where there are no keys). */
  interactive?: boolean;
}

const ASCII_FOR: Record<string, string> = { "…": "~", "·": "|", "─": "-", "▁": "_" };

/** Dumb or non-UTF-8 terminals get ASCII only: the few non-ASCII characters used here, replaced. */
export function asciiOnly(text: string): string {
  return text.replace(/[\u0080-\uffff]/g, (c) => ASCII_FOR[c] ?? "?");
}

/** A piece of a line: text and an optional style applied only when tags are on. */
type Style = "bold" | "error" | "warn" | "ok" | "dim" | "selected" | "title";

const STYLE_TAGS: Record<Style, [string, string]> = {
  bold: ["{bold}", "{/bold}"],
  error: ["{red-fg}", "{/red-fg}"],
  warn: ["{yellow-fg}", "{/yellow-fg}"],
  ok: ["{green-fg}", "{/green-fg}"],
  dim: ["{gray-fg}", "{/gray-fg}"],
  selected: ["{inverse}", "{/inverse}"],
  title: ["{cyan-fg}{bold}", "{/bold}{/cyan-fg}"],
};

function styled(text: string, style: Style | null, opts: RenderOptions): string {
  const safe = opts.tags ? escapeTags(text) : text;
  if (!opts.tags || style === null) return safe;
  const [open, close] = STYLE_TAGS[style];
  return `${open}${safe}${close}`;
}

function stateStyle(state: string): Style | null {
  if (state === "listening" || state === "ready") return "ok";
  if (state === "reconnecting" || state === "connecting") return "warn";
  if (state === "failed" || state === "closed" || state === "lost") return "error";
  return null;
}

/** A section header: `── Tunnels (2) ─────────`. */
function sectionTitle(title: string, opts: RenderOptions): string {
  const head = `── ${title} `;
  const rule = (opts.ascii ? "-" : "─").repeat(Math.max(0, opts.width - head.length));
  const text = opts.ascii ? head.replace(/─/g, "-") : head;
  return styled(padRight(text + rule, opts.width), "title", opts);
}

// ---------------------------------------------------------------------------------------------
// Tunnels

interface Columns {
  id: number;
  spec: number;
  dest: number;
  state: number;
  conns: number;
  bytes: number;
  rate: number;
  spark: number;
}

/** Column widths for the tunnels table at this width; DEST and the sparkline go first when narrow. */
export function tunnelColumns(width: number, tunnels: readonly TunnelView[]): Columns {
  const id = Math.min(6, Math.max(2, ...tunnels.map((t) => t.id.length)));
  const fixed = { state: 12, conns: 6, bytes: 6, rate: 7 };
  // marker(2) + id + spec + state + conns + in + out + rate + spark, single spaces between.
  const base =
    2 + id + 1 + fixed.state + 1 + fixed.conns + 1 + fixed.bytes + 1 + fixed.bytes + 1 + fixed.rate;
  let spark = width >= 70 ? (width >= 110 ? 20 : 8) : 0;
  const rest = width - base - (spark > 0 ? spark + 1 : 0) - 1;
  let spec = Math.max(8, rest);
  let dest = 0;
  if (rest >= 44) {
    dest = Math.min(24, rest - 28);
    spec = rest - dest - 1;
  }
  if (base + spec + 1 > width) spark = 0;
  return { id, spec, dest, ...fixed, spark };
}

function tunnelHeader(c: Columns, opts: RenderOptions): string {
  const cells = [
    "  ",
    padRight("ID", c.id),
    " ",
    padRight("FORWARD", c.spec),
    c.dest > 0 ? ` ${padRight("DESTINATION", c.dest)}` : "",
    " ",
    padRight("STATE", c.state),
    " ",
    padLeft("CONNS", c.conns),
    " ",
    padLeft("IN", c.bytes),
    " ",
    padLeft("OUT", c.bytes),
    " ",
    padLeft("RATE", c.rate),
    c.spark > 0 ? ` ${padRight("", c.spark)}` : "",
  ].join("");
  return styled(padRight(cells, opts.width), "dim", opts);
}

function tunnelRow(t: TunnelView, c: Columns, selected: boolean, opts: RenderOptions): string {
  const marker = selected ? "> " : "  ";
  const pieces: [string, Style | null][] = [
    [marker + padRight(t.id, c.id), null],
    [` ${padRight(tunnelSpec(t), c.spec)}`, null],
  ];
  if (c.dest > 0) pieces.push([` ${padRight(t.destination ?? "-", c.dest)}`, null]);
  pieces.push([" ", null], [padRight(t.state, c.state), selected ? null : stateStyle(t.state)]);
  pieces.push([` ${padLeft(`${t.active}/${t.total}`, c.conns)}`, null]);
  pieces.push([
    ` ${padLeft(formatBytes(t.bytesIn), c.bytes)} ${padLeft(formatBytes(t.bytesOut), c.bytes)}`,
    null,
  ]);
  pieces.push([` ${padLeft(formatRate(t.rate), c.rate)}`, null]);
  if (c.spark > 0) pieces.push([` ${sparkline(t.history, c.spark, opts.ascii)}`, selected ? null : "ok"]);
  const plain = pieces.map(([text]) => text).join("");
  const pad = " ".repeat(Math.max(0, opts.width - plain.length));
  if (selected) return styled(truncate(plain + pad, opts.width), "selected", opts);
  // Each piece is already cut to its column, so the styled line is as wide as the plain one.
  return pieces.map(([text, style]) => styled(text, style, opts)).join("") + pad;
}

interface Row {
  text: string;
  /** The tunnel this row belongs to (for keeping the selection in view). */
  tunnelId?: string;
}

function tunnelRows(state: DashState, opts: RenderOptions): Row[] {
  if (state.tunnels.length === 0) {
    const hint = opts.interactive === false ? "  no tunnels" : "  no tunnels - press a to add one";
    return [{ text: styled(padRight(hint, opts.width), "dim", opts) }];
  }
  const c = tunnelColumns(opts.width, state.tunnels);
  const rows: Row[] = [{ text: tunnelHeader(c, opts) }];
  for (const t of state.tunnels) {
    rows.push({ text: tunnelRow(t, c, t.id === state.selected, opts), tunnelId: t.id });
    if (t.lastError !== null && t.lastError !== "") {
      const text = padRight(`     ! ${printable(t.lastError)}`, opts.width);
      rows.push({ text: styled(text, "error", opts), tunnelId: t.id });
    }
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Connections, transfers, agent

function connectionRows(state: DashState, opts: RenderOptions): Row[] {
  if (state.connections.length === 0) {
    return [{ text: styled(padRight("  no connections", opts.width), "dim", opts) }];
  }
  const wide = opts.width >= 100;
  const fixed = 2 + 1 + 10 + 1 + 7 + 1 + 7 + 1 + 5 + (wide ? 1 + 14 : 0);
  const routeWidth = Math.max(10, opts.width - fixed);
  const header =
    "  " +
    padRight("ROUTE", routeWidth) +
    ` ${padRight("STATE", 10)} ${padLeft("UPTIME", 7)} ${padLeft("RTT", 7)} ${padLeft("CHANS", 5)}` +
    (wide ? ` ${padRight("AUTH", 14)}` : "");
  const rows: Row[] = [{ text: styled(padRight(header, opts.width), "dim", opts) }];
  for (const conn of state.connections) {
    const uptime = conn.state === "ready" ? formatDuration(state.now - conn.since) : "-";
    const line = [
      styled(`  ${padRight(formatRoute(conn.hops), routeWidth)} `, null, opts),
      styled(padRight(conn.state, 10), stateStyle(conn.state), opts),
      styled(
        ` ${padLeft(uptime, 7)} ${padLeft(formatRtt(conn.rttMs), 7)} ${padLeft(String(conn.channels), 5)}` +
          (wide ? ` ${padRight(conn.authMethod ?? "-", 14)}` : ""),
        null,
        opts,
      ),
    ].join("");
    rows.push({ text: line });
  }
  return rows;
}

function transferRows(state: DashState, opts: RenderOptions): Row[] {
  const barWidth = Math.min(40, Math.max(14, Math.floor(opts.width / 3)));
  const sizeWidth = 15;
  const labelWidth = Math.max(8, opts.width - 2 - barWidth - sizeWidth - 2);
  return state.transfers.map((t) => {
    const size =
      t.bytesTotal === null
        ? formatBytes(t.bytesDone)
        : `${formatBytes(t.bytesDone)}/${formatBytes(t.bytesTotal)}`;
    const files =
      t.filesTotal !== undefined && t.filesTotal !== null && t.filesTotal > 1
        ? ` (${t.filesDone ?? 0}/${t.filesTotal} files)`
        : "";
    const text = `  ${padRight(printable(t.label) + files, labelWidth)} ${progressBar(t.bytesDone, t.bytesTotal, barWidth)} ${padLeft(size, sizeWidth)}`;
    return { text: styled(padRight(text, opts.width), null, opts) };
  });
}

function agentRows(state: DashState, opts: RenderOptions): Row[] {
  const keys = state.agent.keys ?? [];
  if (keys.length === 0)
    return [{ text: styled(padRight("  the agent holds no keys", opts.width), "dim", opts) }];
  return keys.map((k) => {
    const text = `  ${padRight(`${k.type}${k.bits ? ` ${k.bits}` : ""}`, 12)} ${k.fingerprint} ${printable(k.comment)}`;
    return { text: styled(padRight(text, opts.width), null, opts) };
  });
}

// ---------------------------------------------------------------------------------------------
// Header, footer, layout

function header(state: DashState, opts: RenderOptions): string {
  const feed =
    state.feed.state === "live"
      ? "gate live"
      : state.feed.state === "connecting"
        ? "connecting to the gate…"
        : "gate LOST";
  const n = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;
  const left = ` jumpgate dash · ${feed} · ${n(state.connections.length, "connection")} · ${n(state.tunnels.length, "tunnel")}`;
  const right = opts.interactive === false ? "" : "? help  q quit ";
  const gap = opts.width - left.length - right.length;
  const text = gap >= 1 ? left + " ".repeat(gap) + right : padRight(left, opts.width);
  return styled(text, "selected", opts);
}

function footer(state: DashState, opts: RenderOptions): string {
  if (state.feed.state === "lost") {
    // What to do first: the reason can be long and is cut at the terminal's width.
    const text = `gate lost, retrying ('jumpgate gate start' starts one): ${state.feed.error ?? "connection closed"}`;
    return styled(padRight(printable(text), opts.width), "error", opts);
  }
  const notice = state.notice !== null && state.now - state.notice.at <= NOTICE_MS ? state.notice : null;
  const line = notice ?? state.log[state.log.length - 1] ?? null;
  if (line === null) return " ".repeat(opts.width);
  return styled(padRight(printable(line.text), opts.width), line.level === "error" ? "error" : "dim", opts);
}

interface Section {
  title: string;
  rows: Row[];
  /** Rows this section keeps even when space is short (besides its title). */
  min: number;
}

/** Shows rows [start, start+count) of `rows`, choosing start so the selected tunnel is visible. */
function windowRows(rows: Row[], count: number, selected: string | null, opts: RenderOptions): string[] {
  if (rows.length <= count) return rows.map((r) => r.text);
  if (count <= 0) return [];
  // Keep the table header (first row) when it is one, scroll the rest.
  const hasHeader = rows[0]?.tunnelId === undefined && rows.length > 1 && rows[1]?.tunnelId !== undefined;
  const fixed = hasHeader ? rows.slice(0, 1) : [];
  const body = hasHeader ? rows.slice(1) : rows;
  const room = count - fixed.length - 1; // one line says how many more
  if (room <= 0) return rows.slice(0, count).map((r) => r.text);
  const sel = body.findIndex((r) => r.tunnelId === selected);
  let start = 0;
  if (sel >= 0 && sel >= room) start = Math.min(sel - room + 1, body.length - room);
  const shown = body.slice(start, start + room);
  const hidden = body.length - shown.length;
  const more = styled(
    padRight(`  … ${hidden} more line${hidden === 1 ? "" : "s"} (up/down to scroll)`, opts.width),
    "dim",
    opts,
  );
  return [...fixed.map((r) => r.text), ...shown.map((r) => r.text), more];
}

/** The whole screen but the dialogs: header, panels, footer; at most `height` lines. */
export function renderMain(state: DashState, opts: RenderOptions): string[] {
  const sections: Section[] = [
    { title: `Connections (${state.connections.length})`, rows: connectionRows(state, opts), min: 1 },
    { title: `Tunnels (${state.tunnels.length})`, rows: tunnelRows(state, opts), min: 2 },
  ];
  if (state.transfers.length > 0) {
    sections.push({
      title: `Transfers (${state.transfers.length})`,
      rows: transferRows(state, opts),
      min: 1,
    });
  }
  if (state.agent.keys !== null) {
    const name = state.agent.name === null ? "" : `, ${state.agent.name}`;
    sections.push({
      title: `Agent keys (${state.agent.keys.length}${name})`,
      rows: agentRows(state, opts),
      min: 1,
    });
  }
  const fixedLines = 2 + sections.length; // header, footer, one title per section
  let room = opts.height - fixedLines;
  // Everyone gets their minimum, then tunnels, connections, transfers, agent get the rest in order.
  const counts = sections.map((s) => Math.min(s.rows.length, s.min));
  room -= counts.reduce((a, b) => a + b, 0);
  for (const index of [1, 0, 2, 3]) {
    const s = sections[index];
    if (s === undefined || room <= 0) continue;
    const extra = Math.min(room, s.rows.length - counts[index]!);
    counts[index] = counts[index]! + extra;
    room -= extra;
  }
  const lines = [header(state, opts)];
  sections.forEach((s, i) => {
    lines.push(sectionTitle(s.title, opts));
    const selected = i === 1 ? state.selected : null;
    lines.push(...windowRows(s.rows, counts[i]!, selected, opts));
  });
  if (Number.isFinite(opts.height)) {
    while (lines.length < opts.height - 1) lines.push(" ".repeat(opts.width));
  }
  lines.push(footer(state, opts));
  const shown = (Number.isFinite(opts.height) ? lines.slice(0, Math.max(0, opts.height)) : lines).map((l) =>
    fitLine(l, opts),
  );
  return opts.ascii ? shown.map(asciiOnly) : shown;
}

/** The text a line shows once blessed has read its tags. */
export function visibleText(line: string, tags: boolean): string {
  if (!tags) return line;
  return line.replace(/\{[^{}]*\}/g, (tag) => (tag === "{open}" ? "{" : tag === "{close}" ? "}" : ""));
}

/**
 * Columns have minimum widths; on a terminal narrower than their sum a line would wrap. Such a
 * line is cut to the width instead (and loses its colours, the price of being readable).
 */
function fitLine(line: string, opts: RenderOptions): string {
  const visible = visibleText(line, opts.tags);
  if (visible.length <= opts.width) return line;
  return styled(truncate(visible, opts.width), null, opts);
}

// ---------------------------------------------------------------------------------------------
// Dialogs

export interface DialogView {
  title: string;
  lines: string[];
  /** Outer size, borders included. */
  width: number;
  height: number;
  /** The dialog shows an error line (the view colours its border). */
  error: boolean;
}

const HELP_LINES = [
  "up/down, k/j   select a tunnel",
  "a              add a tunnel held by the gate (-L, -R or -D)",
  "d              drop the selected tunnel (asks first)",
  "r              reconnect the selected tunnel's connection",
  "enter          details of the selected tunnel",
  "?              this help        esc  close a dialog",
  "q, Ctrl-C      quit (the gate and its tunnels keep running)",
  "",
  "Rates count bytes in + out over the last second or two;",
  "the sparkline shows the last seconds, one column each.",
];

function field(label: string, value: string, active: boolean, width: number, opts: RenderOptions): string {
  const inner = Math.max(4, width - label.length - 2);
  // The end of the text stays visible as it grows; the cursor is an underscore.
  const shown = active ? `${value}_` : value;
  const visible =
    shown.length > inner ? `…${shown.slice(shown.length - inner + 1)}` : shown.padEnd(inner, " ");
  if (!opts.tags) return `${label}[${visible}]`;
  return `${label}[${active ? `{underline}${escapeTags(visible)}{/underline}` : escapeTags(visible)}]`;
}

export function renderDialog(dialog: Dialog, state: DashState, opts: RenderOptions): DialogView {
  const view = dialogView(dialog, state, opts);
  return opts.ascii ? { ...view, title: asciiOnly(view.title), lines: view.lines.map(asciiOnly) } : view;
}

function dialogView(dialog: Dialog, state: DashState, opts: RenderOptions): DialogView {
  const maxWidth = Math.max(20, opts.width - 4);
  const esc = (s: string) => (opts.tags ? escapeTags(s) : s);
  switch (dialog.kind) {
    case "help": {
      const width = Math.min(maxWidth, 66);
      return {
        title: " Help ",
        lines: HELP_LINES.map((l) => esc(truncate(l, width - 4))),
        width,
        height: HELP_LINES.length + 2,
        error: false,
      };
    }
    case "details": {
      const t = state.tunnels.find((x) => x.id === dialog.tunnelId) ?? selectedTunnel(state);
      const width = Math.min(maxWidth, 76);
      const inner = width - 4;
      const raw: string[] =
        t === null
          ? ["This tunnel is gone."]
          : [
              `id           ${t.id}`,
              `forward      ${tunnelSpec(t)}`,
              `destination  ${t.destination ?? "-"}`,
              `route        ${t.hops ? formatRoute(t.hops) : "-"}`,
              `state        ${t.state}`,
              `connections  ${t.active} open, ${t.total} since it started`,
              `bytes        ${formatBytes(t.bytesIn)} in, ${formatBytes(t.bytesOut)} out (${t.bytesIn} / ${t.bytesOut})`,
              `rate         ${formatRate(t.rate)}  ${sparkline(t.history, Math.min(30, inner - 23), opts.ascii)}`,
              `last error   ${t.lastError === null || t.lastError === "" ? "-" : printable(t.lastError)}`,
              "",
              "d drop  r reconnect (from the list)   esc close",
            ];
      const lines = raw.map((l) => esc(truncate(l, inner)));
      return {
        title: ` Tunnel ${t?.id ?? dialog.tunnelId} `,
        lines,
        width,
        height: lines.length + 2,
        error: false,
      };
    }
    case "confirmDrop": {
      const text = `Drop tunnel ${dialog.tunnelId} (${dialog.spec})?`;
      const width = Math.min(maxWidth, Math.max(36, text.length + 4));
      const lines = [esc(truncate(text, width - 4)), "", esc("y  drop it      n / esc  keep it")];
      return { title: " Drop tunnel ", lines, width, height: lines.length + 2, error: false };
    }
    case "add": {
      const form = dialog.form;
      const width = Math.min(maxWidth, 72);
      const inner = width - 4;
      const lines = [
        esc("A tunnel held by the gate: it outlives this dashboard."),
        "",
        field("Destination ", form.destination, form.field === 0, inner, opts),
        field("Forward     ", form.forward, form.field === 1, inner, opts),
        "",
        esc(truncate("-L [bind:]port:host:hostport  reach host:hostport from the far side", inner)),
        esc(truncate("-R [bind:]port:host:hostport  the far side reaches host:hostport here", inner)),
        esc(truncate("-D [bind:]port                 a SOCKS proxy through the far side", inner)),
        "",
      ];
      // The error may need two lines at 80 columns; it is the thing the user must read.
      const error = form.error === null ? [] : wrap(`! ${form.error}`, inner);
      for (const l of error) lines.push(styled(l, "error", opts));
      lines.push(esc(truncate("enter next/add  tab switch field  ctrl-u clear  esc cancel", inner)));
      return { title: " Add a tunnel ", lines, width, height: lines.length + 2, error: error.length > 0 };
    }
  }
}

/** Word-wraps plain text into lines of at most `width` cells (long words are cut). */
export function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = "";
  for (const word of printable(text).split(/\s+/)) {
    let w = word;
    while (w.length > width) {
      if (line !== "") {
        out.push(line);
        line = "";
      }
      out.push(w.slice(0, width));
      w = w.slice(width);
    }
    if (line === "") line = w;
    else if (line.length + 1 + w.length <= width) line += ` ${w}`;
    else {
      out.push(line);
      line = w;
    }
  }
  if (line !== "") out.push(line);
  return out;
}

/** The plain-text picture for dumb terminals and pipes: every panel, no colour, ASCII only. */
export function renderPlain(state: DashState, width = 80): string {
  const lines = renderMain(state, {
    width,
    height: Number.POSITIVE_INFINITY,
    tags: false,
    ascii: true,
    interactive: false,
  });
  const text = lines.map((l) => l.trimEnd()).join("\n");
  // An empty footer would only add blank lines between pictures.
  return `${text.replace(/\n+$/, "")}\n`;
}
