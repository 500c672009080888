/**
 * Value parsers shared by the keyword table, each a faithful port of the OpenSSH helper named in
 * its comment, so that what OpenSSH accepts (and rejects) is accepted (and rejected) here.
 */

import { readFileSync } from "node:fs";

let services: Map<string, number> | undefined;

/** getservbyname(name, "tcp") from /etc/services (read once), as a2port() falls back to it. */
function tcpService(name: string): number | undefined {
  if (services === undefined) {
    services = new Map();
    let text = "";
    try {
      text = readFileSync("/etc/services", "latin1");
    } catch {
      // No services database: only numbers are ports.
    }
    for (const line of text.split("\n")) {
      const fields = line.replace(/#.*/, "").trim().split(/\s+/);
      const m = /^(\d+)\/tcp$/.exec(fields[1] ?? "");
      if (!m) continue;
      for (const alias of [fields[0], ...fields.slice(2)]) {
        if (alias && !services.has(alias)) services.set(alias, Number(m[1]));
      }
    }
  }
  return services.get(name);
}

/** strtonum(s, min, max): a full-string base-10 integer with optional sign, or null. */
export function strtonum(s: string, min: number, max: number): number | null {
  if (s.length > 0 && s.length < 10 && isDigits(s)) {
    const value = Number(s);
    return value < min || value > max ? null : value;
  }
  if (!/^[ \t\n\v\f\r]*[+-]?\d+$/.test(s)) return null;
  const value = Number(s.trim());
  if (!Number.isSafeInteger(value) || value < min || value > max) return null;
  return value;
}

function isDigits(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** misc.c a2port(): 0..65535, or a known service name; -1 when invalid. */
export function a2port(s: string): number {
  const n = strtonum(s, 0, 65535);
  if (n !== null) return n;
  return tcpService(s) ?? -1;
}

/** misc.c convtime(): "90", "1h30m", "2d"; -1 when invalid. */
export function convtime(s: string): number {
  if (s === "") return -1;
  const INT_MAX = 2147483647;
  let total = 0;
  let p = 0;
  while (p < s.length) {
    const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(s.slice(p));
    if (!m) return -1;
    const secs = Number(m[1]);
    if (secs < 0 || secs > INT_MAX) return -1;
    p += m[0].length;
    const unit = s[p];
    let multiplier = 1;
    if (unit !== undefined) {
      p++;
      const table: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
      const mult = table[unit.toLowerCase()];
      if (mult === undefined) return -1;
      multiplier = mult;
    }
    if (secs > Math.floor(INT_MAX / multiplier)) return -1;
    const add = secs * multiplier;
    if (total > INT_MAX - add) return -1;
    total += add;
  }
  return total;
}

/** misc.c atoi_err(): a non-negative int; returns the error word OpenSSH prints, or the value. */
export function atoiErr(s: string | undefined): { value: number } | { error: string } {
  if (s === undefined || s === "") return { error: "missing" };
  if (!/^[ \t\n\v\f\r]*[+-]?\d+$/.test(s)) return { error: "invalid" };
  const value = Number(s.trim());
  if (value < 0) return { error: "too small" };
  if (value > 2147483647) return { error: "too large" };
  return { value };
}

export const TUNID_ANY = 0x7fffffff;
export const TUNID_ERR = 0x7ffffffe;
const TUNID_MAX = TUNID_ERR - 1;

/** misc.c a2tun(): "any", a number, or "local:remote". */
export function a2tun(s: string): { local: number; remote: number } | null {
  const one = (part: string): number => {
    if (part.toLowerCase() === "any") return TUNID_ANY;
    const n = strtonum(part, 0, TUNID_MAX);
    return n === null ? TUNID_ERR : n;
  };
  const colon = s.indexOf(":");
  if (colon < 0) {
    const local = one(s);
    return local === TUNID_ERR ? null : { local, remote: TUNID_ANY };
  }
  const remote = one(s.slice(colon + 1));
  const local = one(s.slice(0, colon));
  if (remote === TUNID_ERR || local === TUNID_ERR) return null;
  return { local, remote };
}

const IPQOS: ReadonlyArray<readonly [string, number]> = [
  ["none", 0x7fffffff],
  ["af11", 0x28],
  ["af12", 0x30],
  ["af13", 0x38],
  ["af21", 0x48],
  ["af22", 0x50],
  ["af23", 0x58],
  ["af31", 0x68],
  ["af32", 0x70],
  ["af33", 0x78],
  ["af41", 0x88],
  ["af42", 0x90],
  ["af43", 0x98],
  ["cs0", 0x00],
  ["cs1", 0x20],
  ["cs2", 0x40],
  ["cs3", 0x60],
  ["cs4", 0x80],
  ["cs5", 0xa0],
  ["cs6", 0xc0],
  ["cs7", 0xe0],
  ["ef", 0xb8],
  ["le", 0x04],
  ["lowdelay", 0x10],
  ["throughput", 0x08],
  ["reliability", 0x04],
];

/** misc.c parse_ipqos(): a DSCP/TOS name or an integer 0..255 (C strtol base 0); -1 when invalid. */
export function parseIpqos(s: string | undefined): number {
  if (s === undefined) return -1;
  for (const [name, value] of IPQOS) if (name === s.toLowerCase()) return value;
  if (s === "") return -1;
  const value = parseCLong(s);
  if (value === null || value < 0 || value > 255) return -1;
  return value;
}

/** misc.c iptos2str(). */
export function iptos2str(value: number): string {
  for (const [name, v] of IPQOS) if (v === value) return name;
  return `0x${value.toString(16).padStart(2, "0")}`;
}

/** strtol(s, &end, 0) requiring the whole string to be consumed. */
function parseCLong(s: string): number | null {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)$/.exec(s);
  if (!m) return null;
  const sign = m[1] === "-" ? -1 : 1;
  const body = m[2] as string;
  if (/^0[xX]/.test(body)) return sign * Number.parseInt(body.slice(2), 16);
  if (body.startsWith("0")) return sign * Number.parseInt(body, 8);
  return sign * Number.parseInt(body, 10);
}

/** misc.c valid_domain(): returns the normalised name, or the error OpenSSH prints. */
export function validDomain(name: string, makeLower: boolean): { name: string } | { error: string } {
  if (name.length === 0) return { error: "empty domain name" };
  if (!/^[A-Za-z0-9]/.test(name)) return { error: `domain name "${name}" starts with invalid character` };
  if (name.includes("..")) return { error: `domain name "${name}" contains consecutive separators` };
  if (!/^[A-Za-z0-9._-]+$/.test(name)) return { error: `domain name "${name}" contains invalid characters` };
  let out = makeLower ? name.toLowerCase() : name;
  if (out.endsWith(".")) out = out.slice(0, -1);
  return { name: out };
}

/** misc.c valid_env_name(). */
export function validEnvName(name: string): boolean {
  return /^[A-Za-z0-9_]+$/.test(name);
}

const LLONG_MAX = 9223372036854775807n;
const LLONG_MIN = -9223372036854775808n;
const SCALE_CHARS = "BKMGTPE";
/** fmt_scaled.c: MAX_DIGITS = SCALE_LENGTH * 3. */
const MAX_DIGITS = 21;

/**
 * scan_scaled() (OpenBSD fmt_scaled.c) for RekeyLimit: digits with an optional fraction and one
 * B/K/M/G/T/P/E unit (powers of 1024, either case) that may be followed only by a non-alphanumeric
 * character. Without a unit the fraction is dropped. Null when invalid or out of range.
 */
export function scanScaled(text: string): bigint | null {
  let p = 0;
  while (p < text.length && /[ \t\n\v\f\r]/.test(text[p] as string)) p++;
  let sign = 0n;
  while (text[p] === "-" || text[p] === "+") {
    if (sign !== 0n) return null;
    sign = text[p] === "-" ? -1n : 1n;
    p++;
  }
  let whole = 0n;
  let fpart = 0n;
  let ndigits = 0;
  let fractDigits = 0;
  for (; p < text.length && /[0-9.]/.test(text[p] as string); p++) {
    if (text[p] === ".") {
      if (fractDigits > 0) return null;
      fractDigits = 1;
      continue;
    }
    const digit = BigInt((text[p] as string).charCodeAt(0) - 48);
    if (fractDigits > 0) {
      if (fractDigits >= MAX_DIGITS - 1) continue;
      fractDigits++;
      fpart = fpart * 10n + digit;
      if (fpart > LLONG_MAX) return null;
    } else {
      if (++ndigits >= MAX_DIGITS) return null;
      whole = whole * 10n + digit;
      if (whole > LLONG_MAX) return null;
    }
  }
  if (sign !== 0n) whole *= sign;
  if (p >= text.length) return whole;
  const unit = SCALE_CHARS.indexOf((text[p] as string).toUpperCase());
  if (unit < 0) return null;
  if (/[A-Za-z0-9]/.test(text[p + 1] ?? "")) return null;
  const scale = 1024n ** BigInt(unit);
  if (whole > LLONG_MAX / scale || whole < LLONG_MIN / scale) return null;
  whole *= scale;
  while (fpart >= LLONG_MAX / scale) {
    fpart /= 10n;
    fractDigits--;
  }
  fpart *= scale;
  for (let i = 0; i < fractDigits - 1; i++) fpart /= 10n;
  return sign === -1n ? whole - fpart : whole + fpart;
}
