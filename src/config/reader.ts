/**
 * Reading ssh_config files: one line at a time through the keyword handlers, `Host`/`Match`
 * switching the active state, `Include` recursing with OpenSSH's rules (readconf.c
 * read_config_file_depth() and process_config_line_depth()).
 */
import { ConfigError, type ConfigLocation } from "../errors.js";
import { matchPattern, matchPatternList } from "../util/patterns.js";
import type { ConfigEnvironment } from "./environment.js";
import { globPaths } from "./glob.js";
import { applyKeyword } from "./handlers.js";
import { lookupKeyword } from "./keywords.js";
import { splitArgs, splitKeyword } from "./lexer.js";
import { evaluateMatch } from "./match.js";
import type { Options } from "./options.js";
import { expandTilde } from "./tokens.js";

/** OpenSSH's READCONF_MAX_DEPTH. */
const MAX_INCLUDE_DEPTH = 16;

export interface ReadFlags {
  /** The user's file (or -F): relative Includes live in ~/.ssh and may use `~`. */
  userConfig: boolean;
  /** Refuse files writable by others or owned by someone else. */
  checkPermissions: boolean;
  /** Second pass after canonicalisation or `Match final`. */
  finalPass: boolean;
  /** Inside an inactive block's Include: parse only, never apply. */
  neverMatch: boolean;
}

export interface ReadContext {
  options: Options;
  env: ConfigEnvironment;
  /** Host used for `Host` patterns in this pass. */
  host: string;
  originalHost: string;
  /** Set when a `Match final` asks for another pass. */
  wantFinalPass: boolean;
  /** Problems OpenSSH reports without failing (e.g. an unsupported keyword). */
  warnings: string[];
}

interface LineState {
  active: boolean;
}

/** Reads one file. Returns false if it does not exist (OpenSSH then ignores it, except for -F). */
export function readConfigFile(
  path: string,
  ctx: ReadContext,
  flags: ReadFlags,
  depth = 0,
  state?: LineState,
): boolean {
  if (depth > MAX_INCLUDE_DEPTH) {
    throw new ConfigError(
      "JG_CONFIG_INCLUDE",
      `Too many recursive configuration includes (more than ${MAX_INCLUDE_DEPTH} levels) while reading ${path}. Look for an Include that includes itself.`,
    );
  }
  const file = ctx.env.readConfigFile(path);
  if (file === null) return false;
  if (flags.checkPermissions && !securePermissions(file, ctx.env)) {
    throw new ConfigError(
      "JG_CONFIG_FILE",
      `Bad owner or permissions on ${path}: it must be owned by you or root and not writable by others (chmod go-w ${path}).`,
    );
  }
  const lineState = state ?? { active: true };
  const lines = file.text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  for (let index = 0; index < lines.length; index++) {
    // OpenSSH handles lines as C strings: a NUL byte ends the line.
    const raw = lines[index] as string;
    const nul = raw.indexOf("\0");
    const text = nul < 0 ? raw : raw.slice(0, nul);
    processLine(text, { file: path, line: index + 1 }, ctx, flags, lineState, depth);
  }
  return true;
}

/** OpenSSH's check (with Debian's private-group allowance) for files it reads with CHECKPERM. */
function securePermissions(
  file: { uid: number; gid: number; mode: number },
  env: ConfigEnvironment,
): boolean {
  if (file.uid !== 0 && file.uid !== env.uid) return false;
  if ((file.mode & 0o002) !== 0) return false;
  if ((file.mode & 0o020) !== 0) return env.groupIsPrivateTo(file.gid, file.uid);
  return true;
}

/** Processes one line; `state` is null for command-line `-o` options. */
export function processLine(
  rawLine: string,
  where: ConfigLocation,
  ctx: ReadContext,
  flags: ReadFlags,
  state: LineState | null,
  depth: number,
): void {
  const cmdline = state === null;
  const active = () => (state === null ? true : state.active);
  const { keyword: rawKeyword, rest } = splitKeyword(rawLine);
  if (rawKeyword === "") return;
  const keyword = rawKeyword.toLowerCase();
  if (rest === "") {
    throw new ConfigError("JG_CONFIG_SYNTAX", `no argument after keyword "${keyword}".`, where);
  }
  let opcode = lookupKeyword(keyword);
  if (opcode === undefined) {
    const ignored = ctx.options.ignoredUnknown;
    if (ignored !== null && matchPatternList(keyword, ignored, true) === 1) return;
    throw new ConfigError(
      "JG_CONFIG_UNKNOWN_KEYWORD",
      `Bad configuration option: ${keyword}. Check the spelling (see ssh_config(5)), or list it in IgnoreUnknown before this line.`,
      where,
    );
  }
  const split = splitArgs(rest);
  if (!split.ok) throw new ConfigError("JG_CONFIG_SYNTAX", "invalid quotes: a quote is not closed.", where);
  const args = split.args;

  switch (opcode) {
    case "host": {
      if (cmdline)
        throw new ConfigError("JG_USAGE", "Host directive not supported as a command-line option.");
      state.active = false;
      for (const arg of args) {
        if (arg === "")
          throw new ConfigError("JG_CONFIG_SYNTAX", `keyword ${keyword} empty argument.`, where);
        if (flags.neverMatch) break;
        const negated = arg.startsWith("!");
        if (matchPattern(ctx.host, negated ? arg.slice(1) : arg)) {
          if (negated) {
            state.active = false;
            break;
          }
          state.active = true;
        }
      }
      return;
    }
    case "match": {
      if (cmdline)
        throw new ConfigError("JG_USAGE", "Match directive not supported as a command-line option.");
      const matched = evaluateMatch(rest, {
        options: ctx.options,
        host: ctx.host,
        originalHost: ctx.originalHost,
        finalPass: flags.finalPass,
        env: ctx.env,
        file: where.file,
        line: where.line,
        requestFinalPass: () => {
          ctx.wantFinalPass = true;
        },
      });
      state.active = flags.neverMatch ? false : matched;
      return;
    }
    case "include": {
      if (cmdline)
        throw new ConfigError("JG_USAGE", "Include directive not supported as a command-line option.");
      includeFiles(args, where, ctx, flags, state, depth, keyword);
      return;
    }
    default:
      opcode = opcode satisfies string;
      applyKeyword(opcode, {
        keyword,
        args,
        rest,
        where,
        options: ctx.options,
        active: active(),
        flags,
        env: ctx.env,
        cmdline,
        warn: (message) => ctx.warnings.push(`${where.file} line ${where.line}: ${message}`),
      });
  }
}

function includeFiles(
  args: string[],
  where: ConfigLocation,
  ctx: ReadContext,
  flags: ReadFlags,
  state: LineState,
  depth: number,
  keyword: string,
): void {
  for (const arg of args) {
    if (arg === "") throw new ConfigError("JG_CONFIG_SYNTAX", `keyword ${keyword} empty argument.`, where);
    if (arg.startsWith("~") && !flags.userConfig) {
      throw new ConfigError(
        "JG_CONFIG_INCLUDE",
        `bad include path ${arg}: the system config may not use '~'. Use an absolute path.`,
        where,
      );
    }
    let pattern = arg;
    if (!arg.startsWith("/") && !arg.startsWith("~")) {
      pattern = flags.userConfig ? `~/.ssh/${arg}` : `/etc/ssh/${arg}`;
    }
    const expanded = expandTilde(pattern, ctx.env);
    // glob(GLOB_TILDE) matches nothing for an unknown ~user, and no match is not an error.
    if (expanded === null) continue;
    const outerActive = state.active;
    for (const path of globPaths(expanded, ctx.env)) {
      readConfigFile(
        path,
        ctx,
        { ...flags, checkPermissions: true, neverMatch: flags.neverMatch || !outerActive },
        depth + 1,
        state,
      );
      // A Match or Host inside the included file does not change the including file's state.
      state.active = outerActive;
    }
  }
}
