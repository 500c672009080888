/**
 * Plain-text layout for `jumpgate demo`: everything it prints fits in 80 columns, and colour is
 * used only on a terminal (never in a pipe or a file, and never with NO_COLOR set).
 */

/** The width every line of the demo fits in. */
export const WIDTH = 80;

/**
 * Word-wraps `text` to `width` columns: the first line starts with `first`, the others with
 * `rest`. A single word longer than the line (a path, a command) is kept whole rather than cut.
 */
export function wrap(text: string, first = "", rest = first, width = WIDTH): string[] {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = rest + word;
    } else line += empty ? word : ` ${word}`;
    empty = false;
  }
  lines.push(line);
  return lines;
}

/**
 * Wraps a route (`you -> jaguar (...) -> mcgonagall (...)`) between hops, each continuation line
 * starting with `->` under the first, so a long route still reads as a route.
 */
export function wrapRoute(route: string, indent = "  ", width = WIDTH): string[] {
  const [head = "", ...hops] = route.split(" -> ");
  const lines: string[] = [];
  let line = indent + head;
  for (const hop of hops) {
    const piece = ` -> ${hop}`;
    if (line.length + piece.length <= width) line += piece;
    else if (indent.length + 2 + piece.length <= width) {
      lines.push(line);
      line = `${indent}  ${piece.trimStart()}`;
    } else {
      // A hop too long for a line of its own (a long ProxyCommand) is word-wrapped in place.
      const wrapped = wrap(`${line.trimStart()}${piece}`, indent, `${indent}     `, width);
      line = wrapped.pop() ?? "";
      lines.push(...wrapped);
    }
  }
  lines.push(line);
  return lines;
}

export interface Style {
  bold(text: string): string;
  ok(text: string): string;
  fail(text: string): string;
  dim(text: string): string;
}

const plain = (text: string): string => text;

/** ANSI styles when `stream` is a terminal and NO_COLOR is unset; identity functions otherwise. */
export function styleFor(stream: NodeJS.WriteStream): Style {
  const color = stream.isTTY === true && (process.env.NO_COLOR ?? "") === "";
  if (!color) return { bold: plain, ok: plain, fail: plain, dim: plain };
  const sgr = (on: number, off: number) => (text: string) => `\u001b[${on}m${text}\u001b[${off}m`;
  return { bold: sgr(1, 22), ok: sgr(32, 39), fail: sgr(31, 39), dim: sgr(2, 22) };
}
