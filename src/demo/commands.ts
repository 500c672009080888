/**
 * The demo hosts' entire "operating system": a handful of built-in commands implemented in plain
 * JavaScript. Nothing here ever reaches a real shell or spawns a process, so a command line typed
 * into the demo (or sent by `ssh host 'rm -rf /'`) can only ever produce text and an exit code.
 *
 * Pure functions, no I/O: the SSH server (server.ts) and the fake interactive shell (shell.ts) both
 * call runBuiltin() and write its result to the channel.
 */

/** What a command line sees of the host it runs on. */
export interface CommandContext {
  /** Printed by `hostname`: "jaguar" or "mcgonagall". */
  hostname: string;
  /** The authenticated SSH user, printed by `whoami`. */
  user: string;
}

export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  /** True for `exit`: an interactive shell ends after it (a one-shot exec ends anyway). */
  exits: boolean;
}

/** The commands runBuiltin() knows; shown by the fake shell when someone asks for `help`. */
export const BUILTIN_COMMANDS = ["hostname", "whoami", "echo [-n] WORDS...", "true", "exit [N]"] as const;

const ok = (stdout = ""): CommandResult => ({ stdout, stderr: "", exitCode: 0, exits: false });
const fail = (stderr: string, exitCode: number): CommandResult => ({
  stdout: "",
  stderr,
  exitCode,
  exits: false,
});

/**
 * Splits a command line into words the way a POSIX shell does for the simple cases people type:
 * blanks separate words, '...' and "..." group (so `echo "a  b"` keeps both spaces), and a
 * backslash escapes the next character outside single quotes. No expansion of any kind ($VAR, *,
 * `...`): those would suggest a real shell is behind the prompt. Returns null for an unterminated
 * quote, which a shell also refuses to run.
 */
export function splitWords(line: string): string[] | null {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === "\\" && (line[i + 1] === '"' || line[i + 1] === "\\")) word += line[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote !== undefined) return null;
  if (inWord) words.push(word);
  return words;
}

/** Runs one command line; never throws for anything a user can type. */
export function runBuiltin(line: string, ctx: CommandContext): CommandResult {
  const words = splitWords(line);
  if (words === null) return fail("demo: unexpected end of line while looking for a matching quote\n", 2);
  const [name, ...args] = words;
  switch (name) {
    case undefined:
      // An empty line is a successful no-op, as in any shell.
      return ok();
    case "hostname":
      // The real hostname(1) would try to *set* the name when given an argument; refuse like it does.
      return args.length === 0
        ? ok(`${ctx.hostname}\n`)
        : fail("hostname: you must be root to change the host name\n", 1);
    case "whoami":
      return ok(`${ctx.user}\n`);
    case "echo":
      if (args[0] === "-n") return ok(args.slice(1).join(" "));
      return ok(`${args.join(" ")}\n`);
    case "true":
      return ok();
    case "exit":
      return exitCommand(args);
    default:
      // 127 is what shells return for an unknown command; scripts and tests can rely on it.
      return fail(
        `demo: ${name}: command not found (this demo host knows: ${BUILTIN_COMMANDS.join(", ")})\n`,
        127,
      );
  }
}

/** `exit [N]`: like sh, N is taken modulo 256 and a non-number is a usage error with status 2. */
function exitCommand(args: readonly string[]): CommandResult {
  if (args.length > 1) return fail("demo: exit: too many arguments\n", 1);
  const arg = args[0];
  if (arg === undefined) return { ...ok(), exits: true };
  if (!/^-?\d+$/.test(arg)) {
    return { ...fail(`demo: exit: ${arg}: numeric argument required\n`, 2), exits: true };
  }
  // BigInt keeps huge arguments exact; ((n % 256) + 256) % 256 maps negatives the way sh does.
  const code = Number(((BigInt(arg) % 256n) + 256n) % 256n);
  return { ...ok(), exitCode: code, exits: true };
}
