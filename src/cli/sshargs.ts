/**
 * A getopt(3)-style reader for ssh's short options, so that `jumpgate config` (and later
 * `jumpgate ssh`) take ssh's arguments in ssh's order: `-p22`, `-oPort=22`, clustered flags
 * like `-Aa`, options before and after the destination, and `--` to end options.
 */
import type { CliItem } from "../config/resolve.js";
import { JumpgateError } from "../errors.js";

export interface ShortOptionSpec {
  /** Letters that take a value, e.g. "FlpJoLRDi". */
  withValue: string;
  /** Letters that are plain flags, e.g. "Aa". */
  flags: string;
  /** Long options (without the leading dashes) that are plain flags, e.g. ["json", "route"]. */
  longFlags: readonly string[];
  /**
   * As ssh: options may follow the destination, but the next operand starts the remote command,
   * and everything from there on (`ls -la`) belongs to it.
   */
  commandAfterDestination?: boolean;
}

export interface ParsedArg {
  /** The option letter or long name; "" for an operand (the destination and what follows). */
  name: string;
  value: string;
}

export function parseShortOptions(argv: readonly string[], spec: ShortOptionSpec): ParsedArg[] {
  const out: ParsedArg[] = [];
  let operandsOnly = false;
  let operands = 0;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (operandsOnly || arg === "-" || !arg.startsWith("-")) {
      out.push({ name: "", value: arg });
      operands++;
      if (spec.commandAfterDestination && operands === 2) operandsOnly = true;
      continue;
    }
    if (arg === "--") {
      operandsOnly = true;
      continue;
    }
    if (arg.startsWith("--")) {
      const name = arg.slice(2);
      if (!spec.longFlags.includes(name)) throw usage(`unknown option '${arg}'`);
      out.push({ name, value: "" });
      continue;
    }
    for (let j = 1; j < arg.length; j++) {
      const letter = arg[j] as string;
      if (spec.withValue.includes(letter)) {
        let value = arg.slice(j + 1);
        if (value === "") {
          const next = argv[i + 1];
          if (next === undefined) throw usage(`option -${letter} requires an argument`);
          value = next;
          i++;
        }
        out.push({ name: letter, value });
        break;
      }
      if (spec.flags.includes(letter)) {
        out.push({ name: letter, value: "" });
        continue;
      }
      throw usage(`unknown option -- ${letter}`);
    }
  }
  return out;
}

function usage(message: string): JumpgateError {
  return new JumpgateError("JG_USAGE", `${message}. Run with --help for usage.`);
}

/**
 * ssh's options that only shape how the destination is reached (-F file, -l user, -p port,
 * -i key, -J jumps, -o option, -c ciphers, -m MACs, -C, -4/-6), turned into the resolver's
 * command-line items. Shared by ssh, `tunnels add`, cp, push and pull; false for any other name.
 */
export function applySshConnectionOption(
  name: string,
  value: string,
  out: { items: CliItem[]; configFile?: string },
): boolean {
  switch (name) {
    case "F":
      out.configFile = value;
      return true;
    case "l":
      out.items.push({ kind: "user", value });
      return true;
    case "p":
      out.items.push({ kind: "port", value });
      return true;
    case "i":
      out.items.push({ kind: "identity", value });
      return true;
    case "J":
      out.items.push({ kind: "jump", value });
      return true;
    case "o":
      out.items.push({ kind: "option", value });
      return true;
    case "c":
      out.items.push({ kind: "option", value: `Ciphers=${value}` });
      return true;
    case "m":
      out.items.push({ kind: "option", value: `MACs=${value}` });
      return true;
    case "C":
      out.items.push({ kind: "option", value: "Compression=yes" });
      return true;
    case "4":
    case "6":
      out.items.push({ kind: "option", value: `AddressFamily=${name === "4" ? "inet" : "inet6"}` });
      return true;
    default:
      return false;
  }
}

/** The subset scp shares with ssh; scp spells the port -P (its -l and -p mean other things). */
const SCP_CONNECTION_OPTIONS = new Set(["F", "i", "J", "o", "c", "C", "4", "6"]);

/**
 * scp's connection options, shared by cp, push and pull: -F file, -J jumps, -o option, -i key,
 * -P port, -c cipher, -C, -4/-6. Other names are left to the caller.
 */
export function applyScpConnectionOption(
  name: string,
  value: string,
  out: { items: CliItem[]; configFile?: string },
): void {
  if (name === "P") applySshConnectionOption("p", value, out);
  else if (SCP_CONNECTION_OPTIONS.has(name)) applySshConnectionOption(name, value, out);
}
