/**
 * Asking the user for passphrases, passwords and keyboard-interactive answers, the way OpenSSH's
 * read_passphrase() (readpass.c, 9.2p1) does:
 *
 * - On the controlling terminal, opened as /dev/tty for reading and writing, so a prompt works while
 *   stdin and stdout carry data (`tar c dir | jumpgate ...`). Echo is off for secrets.
 * - Through $SSH_ASKPASS (default /usr/bin/ssh-askpass, Debian's path) when there is no terminal and
 *   $DISPLAY is set, or when SSH_ASKPASS_REQUIRE says so ("force" even without $DISPLAY; "prefer"
 *   only with $DISPLAY; "never" not at all), exactly as read_passphrase() decides.
 * - Never under BatchMode: createPrompter({ batchMode: true }) refuses every question.
 *
 * Answers are secrets: nothing here logs them or puts them in error messages.
 */
import { spawn } from "node:child_process";
import { closeSync, openSync, writeSync } from "node:fs";
import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import tty from "node:tty";
import { JumpgateError } from "../errors.js";

export interface PromptOptions {
  /** Show what is typed (keyboard-interactive prompts may ask for it); secrets use false. */
  echo: boolean;
}

export interface Prompter {
  /** Resolves with the answer; rejects with a PromptError when it cannot or must not ask. */
  ask(question: string, opts: PromptOptions): Promise<string>;
  /** Whether ask() has a way to reach the user right now (terminal or askpass). */
  available(): boolean;
}

/**
 * Why a question got no answer. Callers treat "batch", "unavailable" and "cancelled" like OpenSSH
 * treats an empty answer (skip the key, stop the method); "interrupted" (Ctrl-C) aborts the whole
 * authentication, as ssh does when readpassphrase() re-raises SIGINT.
 */
export type PromptFailure = "batch" | "unavailable" | "cancelled" | "interrupted";

export class PromptError extends JumpgateError {
  readonly reason: PromptFailure;

  constructor(reason: PromptFailure, message: string, options: { cause?: unknown } = {}) {
    // 130 = 128 + SIGINT: what a shell reports for ssh killed by Ctrl-C at a prompt.
    super("JG_PROMPT_UNAVAILABLE", message, {
      ...options,
      ...(reason === "interrupted" ? { exitCode: 130 } : {}),
    });
    this.name = "PromptError";
    this.reason = reason;
  }
}

export function isPromptError(value: unknown): value is PromptError {
  return value instanceof PromptError;
}

/** readpassphrase() reads into a 1024-byte buffer; longer input is cut there. */
const MAX_ANSWER = 1023;

// ---------------------------------------------------------------------------------------------
// Terminal

const CTRL_C = "\x03";
const CTRL_D = "\x04";
const CTRL_U = "\x15";
const BACKSPACE = "\b";
const DEL = "\x7f";

/**
 * The line editing readpassphrase() gets from the terminal's canonical mode, done by hand because
 * the terminal is in raw mode (raw mode is how Node turns echo off, and it also delivers Ctrl-C as a
 * byte instead of a signal, so the terminal is restored before the error propagates).
 * Exported for tests; feed it any byte stream.
 */
export function readLineFrom(input: Readable, write: (text: string) => void, echo: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const decoder = new StringDecoder("utf8");
    let line = "";
    let done = false;
    const settle = (fn: () => void): void => {
      if (done) return;
      done = true;
      input.off("data", onData);
      input.off("end", onEnd);
      input.off("error", onError);
      input.pause();
      fn();
    };
    const erase = (count: number): void => {
      if (echo && count > 0) write("\b \b".repeat(count));
    };
    function onData(chunk: Buffer | string): void {
      const text = typeof chunk === "string" ? chunk : decoder.write(chunk);
      for (const ch of text) {
        if (done) return;
        if (ch === "\r" || ch === "\n") {
          settle(() => resolve(line));
          return;
        }
        if (ch === CTRL_C) {
          settle(() => reject(new PromptError("interrupted", "Interrupted at a prompt (Ctrl-C).")));
          return;
        }
        if (ch === CTRL_D) {
          // Canonical mode: ^D on an empty line is end of file, which readpassphrase() returns as "".
          if (line === "") {
            settle(() => resolve(""));
            return;
          }
          continue;
        }
        if (ch === BACKSPACE || ch === DEL) {
          const chars = [...line];
          if (chars.pop() !== undefined) erase(1);
          line = chars.join("");
          continue;
        }
        if (ch === CTRL_U) {
          erase([...line].length);
          line = "";
          continue;
        }
        // Other control characters (Ctrl-Z, Ctrl-backslash, escape sequences' ESC) are not part of an answer.
        if (ch < " " && ch !== "\t") continue;
        if (Buffer.byteLength(line + ch) > MAX_ANSWER) continue;
        line += ch;
        if (echo) write(ch);
      }
    }
    function onEnd(): void {
      settle(() => resolve(line));
    }
    function onError(err: Error): void {
      settle(() => reject(new PromptError("unavailable", `Cannot read the terminal: ${err.message}`)));
    }
    input.on("data", onData);
    input.once("end", onEnd);
    input.once("error", onError);
    input.resume();
  });
}

/**
 * The fd libuv really reads from. On Linux libuv reopens a terminal by name (so that it can make it
 * non-blocking without affecting other processes) and dup2()s the new one over ours: then our fd is
 * still ours to close. If it did not reopen, the stream owns our fd and closes it itself. Node has
 * no public way to tell, so this peeks at the handle (typed here, not `any`).
 */
function streamFd(stream: tty.ReadStream): number | undefined {
  const handle = (stream as unknown as { _handle?: { fd?: unknown } })._handle;
  return typeof handle?.fd === "number" ? handle.fd : undefined;
}

function writeTty(fd: number, text: string): void {
  try {
    writeSync(fd, text);
  } catch {
    // A prompt that cannot be drawn must not hide the real outcome (answer or error).
  }
}

async function askOnTerminal(ttyPath: string, question: string, echo: boolean): Promise<string> {
  let fd: number;
  try {
    fd = openSync(ttyPath, "r+");
  } catch (err) {
    throw new PromptError("unavailable", `can't open ${ttyPath}: ${(err as Error).message}`, { cause: err });
  }
  let input: tty.ReadStream | undefined;
  // Until the stream exists (and unless libuv gave it its own fd) closing `fd` is our job.
  let weOwnFd = true;
  try {
    if (!tty.isatty(fd)) throw new PromptError("unavailable", `${ttyPath} is not a terminal`);
    input = new tty.ReadStream(fd);
    const used = streamFd(input);
    // Unknown means the stream may own it: leaking one fd is better than closing someone else's.
    weOwnFd = used !== undefined && used !== fd;
    // Echo goes off before the prompt appears (as in readpassphrase()), so nothing typed after it
    // shows; the CR first (read_passphrase()) starts the prompt's line over anything typed early.
    input.setRawMode(true);
    try {
      writeTty(fd, `\r${question}`);
      return await readLineFrom(input, (text) => writeTty(fd, text), echo);
    } finally {
      input.setRawMode(false);
      // The Enter key was not echoed (raw mode), so end the prompt's line ourselves.
      writeTty(fd, "\n");
    }
  } finally {
    input?.destroy();
    if (weOwnFd) closeSync(fd);
  }
}

function canOpenTerminal(ttyPath: string): boolean {
  try {
    const fd = openSync(ttyPath, "r+");
    try {
      return tty.isatty(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

export interface TtyPrompterOptions {
  /** Default /dev/tty, the controlling terminal whatever stdin and stdout are. */
  ttyPath?: string;
}

/** Prompts on the controlling terminal; echo is off unless the question asks for it. */
export function createTtyPrompter(opts: TtyPrompterOptions = {}): Prompter {
  const ttyPath = opts.ttyPath ?? "/dev/tty";
  return {
    ask: (question, { echo }) => askOnTerminal(ttyPath, question, echo),
    available: () => canOpenTerminal(ttyPath),
  };
}

// ---------------------------------------------------------------------------------------------
// SSH_ASKPASS

/** Debian builds OpenSSH with this askpass path (upstream's default is under /usr/X11R6). */
export const DEFAULT_ASKPASS = "/usr/bin/ssh-askpass";

export interface AskpassPrompterOptions {
  /** The askpass program, run with the prompt as its only argument. */
  program: string;
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * ssh_askpass(): the program's stdout up to the first CR or LF is the answer; a non-zero exit (or
 * death by a signal) means the user cancelled. Its stdin is /dev/null, so it cannot eat data that
 * jumpgate is forwarding; its stderr is ours, so its complaints reach the user.
 */
export function createAskpassPrompter(opts: AskpassPrompterOptions): Prompter {
  const env = opts.env ?? process.env;
  return {
    available: () => true,
    ask: (question) =>
      new Promise((resolve, reject) => {
        const child = spawn(opts.program, [question], {
          stdio: ["ignore", "pipe", "inherit"],
          env: { ...env },
        });
        const chunks: Buffer[] = [];
        let size = 0;
        let settled = false;
        const wipe = (): void => {
          for (const c of chunks) c.fill(0);
        };
        child.stdout.on("data", (chunk: Buffer) => {
          // Like ssh's 1024-byte buffer: keep what fits, drain the rest so the child never blocks.
          if (size < MAX_ANSWER) {
            chunks.push(chunk);
            size += chunk.length;
          } else {
            chunk.fill(0);
          }
        });
        child.once("error", (err) => {
          if (settled) return;
          settled = true;
          wipe();
          reject(
            new PromptError("unavailable", `ssh_askpass: exec(${opts.program}): ${err.message}`, {
              cause: err,
            }),
          );
        });
        child.once("close", (code, signal) => {
          if (settled) return;
          settled = true;
          if (code !== 0) {
            wipe();
            const how = signal === null ? `exit status ${code}` : `signal ${signal}`;
            reject(new PromptError("cancelled", `${opts.program} gave no answer (${how}).`));
            return;
          }
          const bytes = Buffer.concat(chunks).subarray(0, MAX_ANSWER);
          const text = bytes.toString("utf8");
          bytes.fill(0);
          wipe();
          const end = text.search(/[\r\n]/);
          resolve(end < 0 ? text : text.slice(0, end));
        });
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// The prompter ssh would use

/** Refuses everything: BatchMode promises that nothing ever waits for a human. */
export function createBatchModePrompter(): Prompter {
  return {
    available: () => false,
    ask: (question) =>
      Promise.reject(
        new PromptError(
          "batch",
          `BatchMode is on, so jumpgate does not ask: ${question.trim()} (use keys without a passphrase, or an agent).`,
        ),
      ),
  };
}

export interface PrompterOptions {
  batchMode: boolean;
  /** Environment for DISPLAY, SSH_ASKPASS and SSH_ASKPASS_REQUIRE (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  ttyPath?: string;
  /** The askpass used when $SSH_ASKPASS is unset (default DEFAULT_ASKPASS). */
  defaultAskpass?: string;
}

type Route = { kind: "tty" } | { kind: "askpass"; program: string } | { kind: "none"; why: string };

/** read_passphrase()'s choice between the terminal and askpass, made again for every question. */
function chooseRoute(opts: PrompterOptions, env: Readonly<Record<string, string | undefined>>): Route {
  const ttyPath = opts.ttyPath ?? "/dev/tty";
  let allowAskpass = (env.DISPLAY ?? "") !== "";
  let useAskpass = false;
  const require = env.SSH_ASKPASS_REQUIRE?.toLowerCase();
  if (require === "force") {
    useAskpass = true;
    allowAskpass = true;
  } else if (require === "prefer") {
    useAskpass = allowAskpass;
  } else if (require === "never") {
    allowAskpass = false;
  }
  if (!useAskpass && !canOpenTerminal(ttyPath)) useAskpass = true;
  if (useAskpass && allowAskpass) {
    const program = env.SSH_ASKPASS || opts.defaultAskpass || DEFAULT_ASKPASS;
    return { kind: "askpass", program };
  }
  if (canOpenTerminal(ttyPath)) return { kind: "tty" };
  return {
    kind: "none",
    why: `can't open ${ttyPath} and SSH_ASKPASS is not usable (it needs DISPLAY or SSH_ASKPASS_REQUIRE=force)`,
  };
}

/**
 * The prompter for a connection: refuses under BatchMode, otherwise asks on the terminal or through
 * askpass as OpenSSH would.
 */
export function createPrompter(opts: PrompterOptions): Prompter {
  if (opts.batchMode) return createBatchModePrompter();
  const env = opts.env ?? process.env;
  const terminal = createTtyPrompter({ ttyPath: opts.ttyPath ?? "/dev/tty" });
  return {
    available: () => chooseRoute(opts, env).kind !== "none",
    ask: (question, promptOpts) => {
      const route = chooseRoute(opts, env);
      if (route.kind === "tty") return terminal.ask(question, promptOpts);
      if (route.kind === "askpass") {
        return createAskpassPrompter({ program: route.program, env }).ask(question, promptOpts);
      }
      return Promise.reject(new PromptError("unavailable", `Cannot ask "${question.trim()}": ${route.why}.`));
    },
  };
}
