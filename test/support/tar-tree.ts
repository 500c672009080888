/**
 * Test trees for push/pull: generated quickly (synchronous writes, deterministic content) with the
 * things a tar round trip must keep (modes, mtimes, symlinks, empty files, odd names), and a
 * manifest that compares two trees entry by entry.
 */
import { createHash } from "node:crypto";
import {
  chmodSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";

export interface TreeSpec {
  files: number;
  /** Approximate average file size in bytes. */
  avgSize: number;
  /** Files per directory. */
  perDir?: number;
}

/** A fixed past time (seconds) so mtimes are checkably not "now". */
const BASE_MTIME = 1_600_000_000;

function content(i: number, size: number): Buffer {
  // Deterministic and incompressible enough: a hash chain.
  const out = Buffer.alloc(size);
  let h = createHash("sha256").update(String(i)).digest();
  for (let off = 0; off < size; off += h.length) {
    h.copy(out, off);
    h = createHash("sha256").update(h).digest();
  }
  return out;
}

/**
 * Writes `spec.files` regular files under `root` (plus directories, symlinks and a few odd ones):
 * every 7th file empty, every 11th executable, every 13th 0600, names with spaces and non-ASCII
 * letters, relative symlinks to files and directories, mtimes in the past.
 */
export function makeTree(root: string, spec: TreeSpec): void {
  const perDir = spec.perDir ?? 50;
  mkdirSync(root, { recursive: true });
  let dir = root;
  for (let i = 0; i < spec.files; i++) {
    if (i % perDir === 0) {
      const d = Math.floor(i / perDir);
      dir = join(root, `dir ${d % 10}`, `sub-${d}${d % 9 === 0 ? "-é" : ""}`);
      mkdirSync(dir, { recursive: true });
    }
    const name = i % 17 === 0 ? `naïve file ${i}.txt` : `f${i}.dat`;
    // Sizes spread around the average: 0, small, and a few 8x larger.
    const size = i % 7 === 0 ? 0 : i % 97 === 0 ? spec.avgSize * 8 : (i * 7919) % (spec.avgSize * 2);
    const path = join(dir, name);
    writeFileSync(path, content(i, size));
    if (i % 11 === 0) chmodSync(path, 0o755);
    else if (i % 13 === 0) chmodSync(path, 0o600);
    utimesSync(path, BASE_MTIME + i, BASE_MTIME + i);
  }
  mkdirSync(join(root, "links"), { recursive: true });
  symlinkSync("../dir 0/sub-0-é/f1.dat", join(root, "links", "to-file"));
  symlinkSync("../dir 1", join(root, "links", "to-dir"));
  symlinkSync("nowhere", join(root, "links", "dangling"));
  lutimesSync(join(root, "links", "to-file"), BASE_MTIME, BASE_MTIME);
  mkdirSync(join(root, "empty dir"));
  chmodSync(join(root, "empty dir"), 0o700);
  // Directory mtimes last: creating their contents changed them.
  for (const d of walkDirs(root)) utimesSync(d, BASE_MTIME - 1, BASE_MTIME - 1);
}

function walkDirs(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) {
        walk(join(dir, e.name));
        out.push(join(dir, e.name));
      }
    }
  };
  walk(root);
  return out;
}

/**
 * One line per entry: path, type, mode, mtime (seconds), and the sha256 of a file or a link's
 * target. The root's own line is left out (push/pull leave the destination directory alone or set
 * it like tar; the comparison is about the contents).
 */
export function manifest(root: string, opts: { mtimes?: boolean } = {}): Map<string, string> {
  const out = new Map<string, string>();
  const withTimes = opts.mtimes ?? true;
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const r = rel === "" ? name : `${rel}/${name}`;
      const st = lstatSync(path);
      const mode = (st.mode & 0o7777).toString(8);
      const time = withTimes ? ` mtime=${Math.floor(st.mtimeMs / 1000)}` : "";
      if (st.isSymbolicLink()) out.set(r, `link -> ${readlinkSync(path)}${time}`);
      else if (st.isDirectory()) {
        out.set(r, `dir ${mode}${time}`);
        walk(path, r);
      } else {
        const sum = createHash("sha256").update(readFileSync(path)).digest("hex");
        out.set(r, `file ${mode} ${st.size} ${sum}${time}`);
      }
    }
  };
  walk(root, "");
  return out;
}

/** The differences between two manifests, for a readable assertion. */
export function manifestDiff(a: Map<string, string>, b: Map<string, string>): string[] {
  const diffs: string[] = [];
  for (const [k, v] of a) if (b.get(k) !== v) diffs.push(`${k}: ${v}  !=  ${b.get(k) ?? "(missing)"}`);
  for (const k of b.keys()) if (!a.has(k)) diffs.push(`${k}: (missing)  !=  ${b.get(k)}`);
  return diffs;
}
