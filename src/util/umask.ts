/**
 * The process's file mode creation mask, read without changing it.
 *
 * Why not process.umask(): with no argument Node sets the mask to 0 and back, and a file created
 * by another thread in between (libuv's thread pool, in the gate) would get no mask at all. Linux
 * reports the mask in /proc/self/status; elsewhere the usual 022 is assumed.
 */
import { readFileSync } from "node:fs";

const FALLBACK = 0o022;
let cached: number | undefined;

export function currentUmask(): number {
  if (cached !== undefined) return cached;
  try {
    const m = /^Umask:\s*([0-7]+)$/m.exec(readFileSync("/proc/self/status", "utf8"));
    cached = m ? Number.parseInt(m[1] as string, 8) : FALLBACK;
  } catch {
    cached = FALLBACK;
  }
  return cached;
}
