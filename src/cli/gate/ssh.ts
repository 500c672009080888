/**
 * `jumpgate ssh` through a running gate: the gate resolves the config and owns the connection;
 * this process keeps what belongs to the user's terminal — raw mode, escapes, window size, stdin
 * and stdout — and answers the gate's questions (host keys, passphrases) on the terminal.
 * Light on purpose: no ssh2, no config, no commander (bench/gate.mjs measures this path).
 */
import type { GateClient } from "../../gate/client.js";
import {
  encodeClose,
  encodeData,
  encodeEof,
  encodeWindow,
  type Frame,
  MAX_DATA,
} from "../../gate/protocol.js";
import type { SessionArgs, SessionResult } from "../../gate/session.js";
import { terminalSafe } from "../../util/terminal-text.js";
import type { ParsedSshArgs } from "../commands/ssh.js";
import { EscapeFilter, escapeHelp } from "../ssh/escape.js";
import { enterRawMode, type TerminalGuard, windowSize } from "../ssh/terminal.js";
import { answerPrompt, clientEnvironment } from "./relay.js";

const EXIT_SSH = 255;

/** `-e` values: one character, `^X` for a control character, or `none` (as ../ssh/run.ts). */
function escapeByte(spec: string | null): number | null {
  if (spec === null || spec === "none") return null;
  if (spec.length === 1) return spec.charCodeAt(0);
  if (spec.length === 2 && spec[0] === "^") return spec.charCodeAt(1) & 31;
  return null;
}

/**
 * Resolves with the exit status, or null when the gate asks this CLI to connect directly
 * (JG_GATE_DIRECT: forwards from the config, which live and die with this ssh).
 */
export async function runSshThroughGate(client: GateClient, parsed: ParsedSshArgs): Promise<number | null> {
  const size = windowSize();
  const args: SessionArgs = {
    items: parsed.items,
    ...(parsed.configFile === undefined ? {} : { configFile: parsed.configFile }),
    cwd: process.cwd(),
    env: clientEnvironment(),
    command: parsed.command,
    tty: parsed.tty,
    noCommand: parsed.noCommand,
    escapeChar: parsed.escapeChar,
    stdinIsTTY: Boolean(process.stdin.isTTY),
    term: process.env.TERM ?? "vt100",
    rows: size.rows,
    cols: size.cols,
  };
  let guard: TerminalGuard = { restore: () => {} };
  let stream = -1;
  let finish: (code: number) => void = () => {};
  const outcome = new Promise<number>((resolve) => {
    finish = resolve;
  });
  let raw = false;
  client.onControl = (m) => {
    if (m.t === "prompt") void answerPrompt(client, m);
    else if (m.t === "message") process.stderr.write(`${m.text}${raw ? "\r\n" : "\n"}`);
  };
  client.onStreamFrame = (frame: Exclude<Frame, { type: "control" }>) => {
    if (frame.stream !== stream) return;
    switch (frame.type) {
      case "data": {
        const out = frame.fd === 2 ? process.stderr : process.stdout;
        if (!out.write(frame.data)) {
          // Our terminal or pipe is slow: stop reading the gate until it catches up.
          client.socket.pause();
          out.once("drain", () => client.socket.resume());
        }
        return;
      }
      case "exit":
        if (frame.signal !== null) {
          guard.restore();
          process.stderr.write(`jumpgate: remote command killed by signal ${frame.signal}\n`);
          finish(EXIT_SSH);
        } else finish(frame.code ?? EXIT_SSH);
        return;
      default:
        return;
    }
  };
  let done = false;
  client.onClose = (error) => {
    if (done) return;
    guard.restore();
    process.stderr.write(`jumpgate: ${error.code}: ${terminalSafe(error.message)}\n`);
    finish(EXIT_SSH);
  };

  let result: SessionResult;
  try {
    result = await client.request<SessionResult>("session", args);
  } catch (error) {
    client.onClose = () => {};
    client.close();
    if ((error as { code?: string }).code === "JG_GATE_DIRECT") return null;
    throw error;
  }
  stream = result.stream;
  const cleanups: Array<() => void> = [];
  if (result.pty) {
    guard = enterRawMode();
    raw = true;
    const onResize = () => {
      const s = windowSize();
      client.send(encodeWindow(stream, s.rows, s.cols));
    };
    process.stdout.on("resize", onResize);
    cleanups.push(() => process.stdout.off("resize", onResize));
  }
  // Escapes work only with a pty, as in OpenSSH (a pipe may carry a literal "~.").
  const filter = new EscapeFilter(result.pty ? escapeByte(result.escapeChar) : null);
  const escapeText = result.escapeChar ?? "~";
  const send = (data: Buffer) => {
    for (let at = 0; at < data.length; at += MAX_DATA) {
      if (!client.send(encodeData(stream, 0, data.subarray(at, at + MAX_DATA)))) {
        process.stdin.pause();
        client.socket.once("drain", () => process.stdin.resume());
      }
    }
  };
  const onData = (chunk: Buffer) => {
    for (const action of filter.push(chunk)) {
      switch (action.kind) {
        case "send":
          send(action.data);
          break;
        case "disconnect":
          // Through the gate `~.` ends this session only; the shared connection stays up.
          process.stderr.write(`\r\nConnection to ${result.host} closed.\r\n`);
          client.send(encodeClose(stream));
          finish(EXIT_SSH);
          return;
        case "help":
          process.stderr.write(`${escapeText}?\r\n${escapeHelp(escapeText, result.escapeCommandLine)}`);
          break;
        case "list-connections":
          void listConnections(client, escapeText);
          break;
        case "command-line":
          process.stderr.write(
            result.escapeCommandLine
              ? "\r\njumpgate: the ~C command line has no commands yet (use 'jumpgate tunnels add').\r\n"
              : "\r\ncommandline disabled\r\n",
          );
          break;
        case "suspend":
          break;
      }
    }
  };
  const onEnd = () => client.send(encodeEof(stream, 0));
  process.stdin.on("data", onData);
  process.stdin.on("end", onEnd);
  process.stdin.resume();
  try {
    return await outcome;
  } finally {
    done = true;
    process.stdin.off("data", onData);
    process.stdin.off("end", onEnd);
    process.stdin.pause();
    for (const cleanup of cleanups) cleanup();
    guard.restore();
    client.close();
  }
}

async function listConnections(client: GateClient, escapeText: string): Promise<void> {
  try {
    const status = await client.request<{
      connections: Array<{ hops: string[]; state: string; channels: number; authMethod: string | null }>;
    }>("status");
    const lines = [`${escapeText}#`, "The following connections are open (held by the gate):"];
    for (const c of status.connections) {
      lines.push(
        `  ${c.hops.join(" -> ")}: ${c.state}, ${c.channels} channel(s), auth ${c.authMethod ?? "?"}`,
      );
    }
    process.stderr.write(`${lines.join("\r\n")}\r\n`);
  } catch {
    // The session's own end reports a lost gate.
  }
}
