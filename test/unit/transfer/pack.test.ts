/**
 * The push packer: a tree packed by packTree and extracted by GNU tar must equal its source
 * (contents, modes, mtimes, links), whatever the sizes around block and chunk boundaries; files
 * that change or vanish after the walk leave a valid archive and a note.
 */
import { spawnSync } from "node:child_process";
import {
  linkSync,
  mkdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CHUNK, packTree, type Skipped, scanTree } from "../../../src/transfer/pack.js";
import { manifest, manifestDiff } from "../../support/tar-tree.js";
import { useTempDirs } from "../../support/tmp.js";

const tempDir = useTempDirs();

/** Packs `root` and returns the chunks the sink received (each kept as handed over). */
async function pack(root: string, between?: () => void) {
  const scan = await scanTree({ root });
  between?.();
  const chunks: Buffer[] = [];
  const skipped: Skipped[] = [];
  let inSink = 0;
  let overlapped = false;
  let bytes = 0;
  await packTree(
    scan,
    async (chunk) => {
      if (inSink > 0) overlapped = true;
      inSink++;
      chunks.push(chunk);
      // A slow consumer: the packer must wait, not call again.
      await new Promise((r) => setImmediate(r));
      inSink--;
    },
    { onSkipped: (s) => skipped.push(s), onBytes: (n) => (bytes += n) },
  );
  return { scan, chunks, skipped, overlapped, bytes };
}

function gnuExtract(chunks: Buffer[]): string {
  const dir = tempDir("jg-pack-out-");
  const file = join(dir, "a.tar");
  writeFileSync(file, Buffer.concat(chunks));
  const out = join(dir, "tree");
  mkdirSync(out);
  const r = spawnSync("tar", ["-x", "-p", "-f", file, "-C", out], { encoding: "utf8" });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return out;
}

const bytesOf = (n: number, seed: number) =>
  Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));

describe("packTree", () => {
  it("packs sizes around block and chunk boundaries, long and non-ASCII names, links; GNU tar extracts the same tree", async () => {
    const root = tempDir("jg-pack-src-");
    const sizes = [0, 1, 511, 512, 513, CHUNK - 1024, CHUNK - 512, CHUNK, CHUNK + 1, 3 * CHUNK + 17];
    sizes.forEach((size, i) => {
      writeFileSync(join(root, `s${i}-${size}`), bytesOf(size, i));
    });
    const deep = join(root, "d".repeat(60), "e".repeat(60), "f".repeat(60));
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(deep, `${"g".repeat(110)}.txt`), "deep and long");
    mkdirSync(join(root, "dossier é"));
    writeFileSync(join(root, "dossier é", "naïve ✓.txt"), "unicode");
    writeFileSync(join(root, "exec.sh"), "#!/bin/sh\n", { mode: 0o751 });
    symlinkSync("s1-1", join(root, "link"));
    symlinkSync(`../${"t".repeat(140)}`, join(root, "long-link"));
    linkSync(join(root, "s2-511"), join(root, "hard"));
    mkdirSync(join(root, "empty"), { mode: 0o700 });
    for (const p of ["exec.sh", "s3-512", "dossier é"])
      utimesSync(join(root, p), 1_500_000_000, 1_500_000_000);

    const { chunks, skipped, overlapped, bytes, scan } = await pack(root);
    expect(skipped).toEqual([]);
    expect(overlapped).toBe(false);
    expect(bytes).toBe(scan.totalBytes);
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(CHUNK);
    const out = gnuExtract(chunks);
    expect(manifestDiff(manifest(root), manifest(out))).toEqual([]);
    // The hard link is a link in the copy too, not a second file.
    expect(statSync(join(out, "hard")).ino).toBe(statSync(join(out, "s2-511")).ino);
  });

  it("a file that shrank after the walk: a small one is sent as it is now, a big one zero-filled with a note", async () => {
    const root = tempDir("jg-pack-shrink-");
    writeFileSync(join(root, "small"), bytesOf(1000, 1));
    writeFileSync(join(root, "big"), bytesOf(2 * CHUNK, 2));
    writeFileSync(join(root, "grew"), bytesOf(10, 3));
    const { chunks, skipped } = await pack(root, () => {
      truncateSync(join(root, "small"), 100);
      truncateSync(join(root, "big"), CHUNK);
      writeFileSync(join(root, "grew"), bytesOf(50, 3));
    });
    const out = gnuExtract(chunks);
    expect(readFileSync(join(out, "small"))).toEqual(bytesOf(1000, 1).subarray(0, 100));
    const big = readFileSync(join(out, "big"));
    expect(big.length).toBe(2 * CHUNK);
    expect(big.subarray(0, CHUNK)).toEqual(bytesOf(2 * CHUNK, 2).subarray(0, CHUNK));
    expect(big.subarray(CHUNK).every((b) => b === 0)).toBe(true);
    // A file that grew is cut at the size the walk saw.
    expect(readFileSync(join(out, "grew"))).toEqual(bytesOf(50, 3).subarray(0, 10));
    expect(skipped).toEqual([{ path: "big", reason: "it shrank while being read; zero-filled" }]);
  });

  it("a file removed after the walk is left out with its reason; the rest is a valid archive", async () => {
    const root = tempDir("jg-pack-gone-");
    writeFileSync(join(root, "a"), "a");
    writeFileSync(join(root, "b"), "b");
    const { chunks, skipped } = await pack(root, () => unlinkSync(join(root, "a")));
    expect(skipped).toEqual([{ path: "a", reason: "no such file or directory" }]);
    const out = gnuExtract(chunks);
    expect(readFileSync(join(out, "b"), "utf8")).toBe("b");
    expect(() => statSync(join(out, "a"))).toThrow();
  });

  it("stops with the abort reason when the signal fires", async () => {
    const root = tempDir("jg-pack-abort-");
    writeFileSync(join(root, "a"), "a");
    const scan = await scanTree({ root });
    const controller = new AbortController();
    controller.abort(new Error("stop"));
    await expect(packTree(scan, async () => {}, { signal: controller.signal })).rejects.toThrow("stop");
  });
});
