/**
 * OpenSSH's escape sequences on the local keyboard: the escape character (default `~`) is special
 * only at the start of a line. `~.` disconnects, `~?` lists the escapes, `~#` lists forwarded
 * connections, `~C` opens a command line, `~~` sends one `~`. Anything else after `~` is sent as is.
 * This is a pure byte filter: the caller acts on the actions it returns.
 */

export type EscapeAction =
  | { kind: "send"; data: Buffer }
  | { kind: "disconnect" }
  | { kind: "help" }
  | { kind: "list-connections" }
  | { kind: "command-line" }
  | { kind: "suspend" };

export class EscapeFilter {
  private atLineStart = true;
  private sawEscape = false;

  /** `escapeChar` is a byte value, or null when escapes are disabled (EscapeChar none, no pty). */
  constructor(private readonly escapeChar: number | null) {}

  /**
   * After a local command line (`~C`, ended by Enter) or a listing that ends with a newline, the
   * next `~` starts an escape again without another Enter to the server.
   */
  resetLineStart(): void {
    this.atLineStart = true;
    this.sawEscape = false;
  }

  push(chunk: Buffer): EscapeAction[] {
    if (this.escapeChar === null) return chunk.length > 0 ? [{ kind: "send", data: chunk }] : [];
    const actions: EscapeAction[] = [];
    let pending: number[] = [];
    const flush = () => {
      if (pending.length > 0) actions.push({ kind: "send", data: Buffer.from(pending) });
      pending = [];
    };
    for (const byte of chunk) {
      if (this.sawEscape) {
        this.sawEscape = false;
        const action = this.command(byte);
        if (action === null) {
          // Not an escape after all: both characters go to the server.
          pending.push(this.escapeChar, byte);
        } else if (action === "literal") {
          pending.push(this.escapeChar);
        } else {
          flush();
          actions.push(action);
          if (action.kind === "disconnect") return actions;
        }
        this.atLineStart = byte === 0x0d || byte === 0x0a;
        continue;
      }
      if (this.atLineStart && byte === this.escapeChar) {
        this.sawEscape = true;
        continue;
      }
      pending.push(byte);
      this.atLineStart = byte === 0x0d || byte === 0x0a;
    }
    flush();
    return actions;
  }

  private command(byte: number): EscapeAction | "literal" | null {
    if (byte === this.escapeChar) return "literal";
    switch (String.fromCharCode(byte)) {
      case ".":
        return { kind: "disconnect" };
      case "?":
        return { kind: "help" };
      case "#":
        return { kind: "list-connections" };
      case "C":
        return { kind: "command-line" };
      case "\x1a": // Ctrl-Z
        return { kind: "suspend" };
      default:
        return null;
    }
  }
}

/** The text `~?` prints, in OpenSSH's words, for the escape character in use. */
export function escapeHelp(escapeChar: string, commandLineEnabled: boolean): string {
  const e = escapeChar;
  const lines = [
    "Supported escape sequences:",
    ` ${e}.   - terminate connection (and any multiplexed sessions)`,
    commandLineEnabled ? ` ${e}C   - open a command line` : null,
    ` ${e}#   - list forwarded connections`,
    ` ${e}?   - this message`,
    ` ${e}${e}   - send the escape character by typing it twice`,
    "(Note that escapes are only recognized immediately after newline.)",
  ];
  return `${lines.filter((l) => l !== null).join("\r\n")}\r\n`;
}
