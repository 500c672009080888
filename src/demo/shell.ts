/**
 * The interactive side of a demo host: what `ssh -F <lab>/ssh_config jaguar` (no command) talks to.
 *
 * It is a line editor around runBuiltin(), not a shell: it prints a prompt, collects one line, runs
 * the line as a built-in command and prints the result. Pure state machine with injected output so
 * the unit tests can drive it without SSH.
 *
 * With a pty (the normal interactive case) the client's terminal is in raw mode, so this side does
 * what the kernel's tty layer does for a real sshd: echo typed characters, turn Enter (CR) into a
 * line, handle Backspace / Ctrl-C / Ctrl-D, and write "\r\n" for every newline. Without a pty
 * (`ssh -T host < script`) it behaves like `sh` reading a script: no prompt, no echo, stdout and
 * stderr kept apart.
 */
import { type CommandContext, runBuiltin } from "./commands.js";

export interface ShellIo {
  /** Text for the client's stdout (with a pty, also everything a command writes to stderr). */
  stdout(text: string): void;
  /** Text for the client's stderr; only used without a pty, where the two streams are separate. */
  stderr(text: string): void;
  /** The shell is done: send this exit status and close the channel. Called at most once. */
  exit(code: number): void;
}

/** A tty's output processing (ONLCR): the terminal is raw, so "\n" alone would not return the cursor. */
export function ttyText(text: string): string {
  return text.replace(/\r?\n/g, "\r\n");
}

const CTRL_C = "\x03";
const CTRL_D = "\x04";
const BACKSPACE = "\x08";
const DELETE = "\x7f";
const ESC = "\x1b";

export class FakeShell {
  private line = "";
  private lastStatus = 0;
  private done = false;
  /** Swallow the "\n" of a "\r\n" pair, so one Enter is one line whatever the client sends. */
  private afterCr = false;
  /** Inside an escape sequence (arrow keys and the like), which the demo ignores. */
  private escape: "start" | "csi" | undefined;

  constructor(
    private readonly ctx: CommandContext,
    private readonly io: ShellIo,
    private readonly tty: boolean,
  ) {}

  /** Greets and shows the first prompt (pty only: a script reader prints neither). */
  start(): void {
    if (!this.tty) return;
    this.io.stdout(
      ttyText(
        `jumpgate demo host ${this.ctx.hostname}: a pretend shell, no real commands run here.\n` +
          "It knows: hostname, whoami, echo, true, exit [N].\n",
      ),
    );
    this.prompt();
  }

  /** Bytes typed by the client (or piped in). */
  feed(data: string): void {
    for (const c of data) {
      if (this.done) return;
      if (this.tty) this.key(c);
      else this.scriptChar(c);
    }
  }

  /** The client sent EOF: run a last unterminated line (script mode), then exit like `sh` does. */
  end(): void {
    if (this.done) return;
    if (!this.tty && this.line !== "") this.run();
    this.finish(this.lastStatus);
  }

  private scriptChar(c: string): void {
    if (c === "\n") this.run();
    else if (c !== "\r") this.line += c;
  }

  private key(c: string): void {
    const wasAfterCr = this.afterCr;
    this.afterCr = false;
    if (this.escape !== undefined) {
      this.skipEscape(c);
      return;
    }
    switch (c) {
      case "\r":
        this.afterCr = true;
        this.io.stdout("\r\n");
        this.run();
        return;
      case "\n":
        if (wasAfterCr) return;
        this.io.stdout("\r\n");
        this.run();
        return;
      case DELETE:
      case BACKSPACE:
        if (this.line === "") return;
        // Strip by code point, so a multi-byte character disappears in one keypress.
        this.line = [...this.line].slice(0, -1).join("");
        this.io.stdout("\b \b");
        return;
      case CTRL_C:
        // Like an interactive shell: abandon the line, status 130 (128 + SIGINT), new prompt.
        this.line = "";
        this.lastStatus = 130;
        this.io.stdout("^C\r\n");
        this.prompt();
        return;
      case CTRL_D:
        // EOF at an empty prompt ends the session, as in bash; mid-line it is ignored.
        if (this.line !== "") return;
        this.io.stdout("logout\r\n");
        this.finish(this.lastStatus);
        return;
      case ESC:
        this.escape = "start";
        return;
      default:
        // Other control characters are not echoed (a real tty would echo ^X forms; not needed here).
        if (c < " ") return;
        this.line += c;
        this.io.stdout(c);
    }
  }

  /** ESC [ params final, or ESC O x (application keypad): swallow it whole. */
  private skipEscape(c: string): void {
    if (this.escape === "start") {
      this.escape = c === "[" || c === "O" ? "csi" : undefined;
      return;
    }
    // A CSI sequence ends with a byte in 0x40..0x7e; everything before is parameters.
    if (c >= "@" && c <= "~") this.escape = undefined;
  }

  private run(): void {
    const result = runBuiltin(this.line, this.ctx);
    this.line = "";
    this.lastStatus = result.exitCode;
    if (this.tty) {
      // One terminal: stderr shows up in the same stream, as with a real pty.
      this.io.stdout(ttyText(result.stdout + result.stderr));
    } else {
      if (result.stdout !== "") this.io.stdout(result.stdout);
      if (result.stderr !== "") this.io.stderr(result.stderr);
    }
    if (result.exits) {
      if (this.tty) this.io.stdout("logout\r\n");
      this.finish(result.exitCode);
      return;
    }
    this.prompt();
  }

  private prompt(): void {
    if (this.tty) this.io.stdout(`${this.ctx.user}@${this.ctx.hostname}:~$ `);
  }

  private finish(code: number): void {
    if (this.done) return;
    this.done = true;
    this.io.exit(code);
  }
}
