/**
 * Command lines of `jumpgate push` and `jumpgate pull`: ssh-style short options (as `jumpgate cp`
 * takes them: -F -J -o -i -P -c -q -v -4 -6 -C) plus the long options of the tar commands, which
 * take values (`--exclude PATTERN` or `--exclude=PATTERN`).
 */
import type { CliItem } from "../../config/resolve.js";
import { JumpgateError } from "../../errors.js";
import { applyScpConnectionOption, parseShortOptions } from "../sshargs.js";

export type TarCommand = "push" | "pull";

export interface ParsedTarArgs {
  command: TarCommand;
  items: CliItem[];
  configFile?: string;
  /** push: [localdir, host:remotedir]; pull: [host:remotedir, localdir] (localdir optional with --to-file). */
  operands: string[];
  quiet: boolean;
  verbosity: number;
  exclude: string[];
  gitignore: boolean;
  compress: "none" | "gzip" | "zstd";
  remoteTar?: string;
  toFile?: string;
  maxFiles?: number;
  maxSize?: number;
}

const LONG_WITH_VALUE: Record<TarCommand, readonly string[]> = {
  push: ["exclude", "compress", "remote-tar"],
  pull: ["compress", "remote-tar", "to-file", "max-files", "max-size"],
};
const LONG_FLAGS: Record<TarCommand, readonly string[]> = {
  push: ["gitignore"],
  pull: [],
};

function usage(command: TarCommand, message: string): JumpgateError {
  return new JumpgateError("JG_USAGE", `${message}. Run 'jumpgate ${command} --help' for usage.`);
}

/** "64G", "500M", "1024" -> bytes (binary units, as tar's and ssh's size suffixes). */
export function parseSize(text: string): number | undefined {
  const m = /^([0-9]+)([KMGT]?)(i?B)?$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[(m[2] ?? "").toUpperCase()] ?? 1;
  return Number(m[1]) * unit;
}

export function parseTarArgs(command: TarCommand, argv: readonly string[]): ParsedTarArgs {
  const out: ParsedTarArgs = {
    command,
    items: [],
    operands: [],
    quiet: false,
    verbosity: 0,
    exclude: [],
    gitignore: false,
    compress: "none",
  };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") {
      rest.push(...argv.slice(i));
      break;
    }
    if (!arg.startsWith("--")) {
      rest.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (LONG_FLAGS[command].includes(name)) {
      if (eq >= 0) throw usage(command, `option '--${name}' takes no value`);
      if (name === "gitignore") out.gitignore = true;
      continue;
    }
    if (!LONG_WITH_VALUE[command].includes(name)) throw usage(command, `unknown option '${arg}'`);
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined) throw usage(command, `option '--${name}' needs a value`);
      value = next;
      i++;
    }
    applyLong(command, out, name, value);
  }
  const parsed = parseShortOptions(rest, { withValue: "FJoiPc", flags: "qv46C", longFlags: [] });
  for (const { name, value } of parsed) {
    switch (name) {
      case "":
        out.operands.push(value);
        break;
      case "q":
        out.quiet = true;
        break;
      case "v":
        out.verbosity++;
        break;
      default:
        applyScpConnectionOption(name, value, out);
        break;
    }
  }
  const wanted = command === "pull" && out.toFile !== undefined ? [1, 2] : [2, 2];
  if (out.operands.length < (wanted[0] as number) || out.operands.length > (wanted[1] as number)) {
    throw usage(
      command,
      command === "push"
        ? "jumpgate push needs a local directory and host:remotedir"
        : out.toFile !== undefined
          ? "jumpgate pull --to-file needs host:remotedir (and no local directory)"
          : "jumpgate pull needs host:remotedir and a local directory",
    );
  }
  if (command === "pull" && out.toFile !== undefined && out.operands.length === 2) {
    throw usage(
      command,
      "--to-file saves the archive instead of extracting: give no local directory with it",
    );
  }
  return out;
}

function applyLong(command: TarCommand, out: ParsedTarArgs, name: string, value: string): void {
  switch (name) {
    case "exclude":
      if (value === "") throw usage(command, "--exclude needs a pattern");
      out.exclude.push(value);
      return;
    case "compress":
      if (value !== "gzip" && value !== "zstd" && value !== "none")
        throw usage(command, `--compress takes gzip, zstd or none, not '${value}'`);
      out.compress = value;
      return;
    case "remote-tar":
      if (value === "") throw usage(command, "--remote-tar needs a program name");
      out.remoteTar = value;
      return;
    case "to-file":
      if (value === "") throw usage(command, "--to-file needs a file name");
      out.toFile = value;
      return;
    case "max-files": {
      const n = /^[0-9]+$/.test(value) ? Number(value) : Number.NaN;
      if (!(n > 0)) throw usage(command, `--max-files takes a positive number, not '${value}'`);
      out.maxFiles = n;
      return;
    }
    case "max-size": {
      const n = parseSize(value);
      if (n === undefined || n <= 0)
        throw usage(command, `--max-size takes a size like 500M or 64G, not '${value}'`);
      out.maxSize = n;
      return;
    }
  }
}
