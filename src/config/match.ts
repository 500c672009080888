/**
 * `Match` evaluation (readconf.c match_cfg_line()): criteria are ANDed left to right, `!` negates
 * one, `all` stands alone, `canonical`/`final` are true only in the final pass, and `exec` runs only
 * while everything before it matched.
 */
import { createHash } from "node:crypto";
import { ConfigError } from "../errors.js";
import { matchHostname, matchPatternList } from "../util/patterns.js";
import type { ConfigEnvironment } from "./environment.js";
import { strdelimAll } from "./lexer.js";
import type { Options } from "./options.js";
import { expandTokens } from "./tokens.js";

export interface MatchContext {
  options: Options;
  /** The host being resolved in this pass (HostName-substituted in the final pass). */
  host: string;
  originalHost: string;
  finalPass: boolean;
  env: ConfigEnvironment;
  file: string;
  line: number;
  /** Called when the line asks for a final pass (`Match final`). */
  requestFinalPass(): void;
}

/** ssh_connection_hash(): %C, the SHA-1 of local host, remote host, port and remote user. */
export function connectionHash(localHost: string, host: string, port: string, user: string): string {
  return createHash("sha1").update(`${localHost}${host}${port}${user}`, "latin1").digest("hex");
}

/** Evaluates the text after `Match`; true when the block applies. */
export function evaluateMatch(criteriaText: string, ctx: MatchContext): boolean {
  const { options, env } = ctx;
  const where = { file: ctx.file, line: ctx.line };
  const port = options.port <= 0 ? 22 : options.port;
  const remoteUser = options.user ?? env.userName;
  let host: string;
  if (ctx.finalPass) host = options.hostname ?? ctx.host;
  else if (options.hostname !== null) {
    const expanded = expandTokens(options.hostname, { h: ctx.host }, null);
    host = expanded.ok ? expanded.value : options.hostname;
  } else host = ctx.host;

  const tokens = strdelimAll(criteriaText);
  if (tokens === null)
    throw new ConfigError("JG_CONFIG_MATCH", "unterminated quote in Match criteria.", where);
  let result = true;
  let attributes = 0;
  for (let i = 0; i < tokens.length; i++) {
    const original = tokens[i] as string;
    if (original === "") {
      // strdelim() stops at an empty token; whatever follows is left over, which OpenSSH reports.
      if (i < tokens.length - 1) {
        throw new ConfigError("JG_CONFIG_SYNTAX", "keyword match extra arguments at end of line.", where);
      }
      break;
    }
    if (original.startsWith("#")) break;
    const negate = original.startsWith("!");
    const attribute = (negate ? original.slice(1) : original).toLowerCase();
    if (attribute === "all") {
      const next = tokens[i + 1];
      if (attributes > 1 || (next !== undefined && next !== "" && !next.startsWith("#"))) {
        throw new ConfigError(
          "JG_CONFIG_MATCH",
          `'${original}' cannot be combined with other Match attributes. Use 'Match all' alone.`,
          where,
        );
      }
      return result ? !negate : false;
    }
    attributes++;
    if (attribute === "canonical" || attribute === "final") {
      if (attribute === "final") ctx.requestFinalPass();
      if (ctx.finalPass === negate) result = false;
      continue;
    }
    const arg = tokens[i + 1];
    if (arg === undefined || arg === "" || arg.startsWith("#")) {
      throw new ConfigError(
        "JG_CONFIG_MATCH",
        `Missing Match criteria for ${attribute}. Write e.g. 'Match ${attribute} PATTERN'.`,
        where,
      );
    }
    i++;
    let matched: boolean;
    switch (attribute) {
      case "host":
        matched = matchHostname(host, arg) === 1;
        break;
      case "originalhost":
        matched = matchHostname(ctx.originalHost, arg) === 1;
        break;
      case "user":
        matched = matchPatternList(remoteUser, arg) === 1;
        break;
      case "localuser":
        matched = matchPatternList(env.userName, arg) === 1;
        break;
      case "exec": {
        const portText = String(port);
        const localHost = env.localHostname;
        const expanded = expandTokens(
          arg,
          {
            C: connectionHash(localHost, host, portText, remoteUser),
            L: localHost.split(".")[0] as string,
            d: env.ownHome,
            h: host,
            k: options.hostKeyAlias ?? host,
            l: localHost,
            n: ctx.originalHost,
            p: portText,
            r: remoteUser,
            u: env.userName,
            i: String(env.uid),
          },
          null,
        );
        if (!expanded.ok) throw new ConfigError("JG_CONFIG_TOKEN", `Match exec: ${expanded.reason}.`, where);
        // OpenSSH expands the command first (so a bad token is an error either way), then skips
        // running it once an earlier criterion has failed.
        if (!result) continue;
        const status = env.runShell(expanded.value);
        if (status === -1) {
          throw new ConfigError(
            "JG_CONFIG_MATCH",
            `match exec '${expanded.value}' error: it did not exit normally.`,
            where,
          );
        }
        matched = status === 0;
        break;
      }
      default:
        throw new ConfigError(
          "JG_CONFIG_MATCH",
          `Unsupported Match attribute ${attribute}. Supported: all, canonical, final, exec, host, originalhost, user, localuser.`,
          where,
        );
    }
    if (matched === negate) result = false;
  }
  if (attributes === 0) {
    throw new ConfigError("JG_CONFIG_MATCH", "One or more attributes required for Match.", where);
  }
  return result;
}
