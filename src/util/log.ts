/**
 * Diagnostics on stderr, by OpenSSH's LogLevel names: `-v` is DEBUG1, `-q` QUIET. Messages are
 * plain text built by the caller; never pass keys, passphrases or passwords here.
 */

export const LOG_LEVELS = [
  "QUIET",
  "FATAL",
  "ERROR",
  "INFO",
  "VERBOSE",
  "DEBUG1",
  "DEBUG2",
  "DEBUG3",
] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Logger {
  readonly level: LogLevel;
  enabled(level: LogLevel): boolean;
  error(message: string): void;
  info(message: string): void;
  verbose(message: string): void;
  debug(message: string, level?: "DEBUG1" | "DEBUG2" | "DEBUG3"): void;
}

/** Maps ssh_config's LogLevel spellings (SILENT, DEBUG, ...) onto the levels above. */
export function parseLogLevel(name: string): LogLevel {
  const upper = name.toUpperCase();
  if (upper === "SILENT") return "QUIET";
  if (upper === "DEBUG") return "DEBUG1";
  return (LOG_LEVELS as readonly string[]).includes(upper) ? (upper as LogLevel) : "INFO";
}

export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (l) => process.stderr.write(l),
): Logger {
  const rank = (l: LogLevel) => LOG_LEVELS.indexOf(l);
  const enabled = (l: LogLevel) => rank(l) <= rank(level) && level !== "QUIET";
  const emit = (l: LogLevel, prefix: string, message: string) => {
    if (enabled(l)) write(`${prefix}${message}\n`);
  };
  return {
    level,
    enabled,
    error: (m) => emit("ERROR", "", m),
    info: (m) => emit("INFO", "", m),
    verbose: (m) => emit("VERBOSE", "", m),
    debug: (m, l = "DEBUG1") => emit(l, `debug${l.slice(5)}: `, m),
  };
}

/** A logger that drops everything (library use, tests). */
export const silentLogger: Logger = createLogger("QUIET", () => {});
