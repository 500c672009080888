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
  renameSync,
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

  it("a file swapped for a symlink, another file or a fifo after the walk is not read; the rest is sent", async () => {
    const root = tempDir("jg-pack-swap-");
    const outside = join(tempDir("jg-pack-outside-"), "secret");
    writeFileSync(outside, "SECRET-OUTSIDE-TREE");
    for (const n of ["link", "other", "keep"]) writeFileSync(join(root, n), `${n} content`);
    const { chunks, skipped } = await pack(root, () => {
      unlinkSync(join(root, "link"));
      symlinkSync(outside, join(root, "link"));
      // An editor's atomic save: a new inode under the same name.
      writeFileSync(join(root, "other.new"), "replaced");
      renameSync(join(root, "other.new"), join(root, "other"));
    });
    expect(skipped).toEqual([
      { path: "link", reason: "changed since the walk, not sent: it is a symlink now" },
      { path: "other", reason: "changed since the walk, not sent: it is another file now" },
    ]);
    expect(Buffer.concat(chunks).includes("SECRET-OUTSIDE-TREE")).toBe(false);
    const out = gnuExtract(chunks);
    expect(readFileSync(join(out, "keep"), "utf8")).toBe("keep content");
  });

  // A blocked open would stop this very process (timers included), so the case runs in a child,
  // against dist/ (npm test builds it first).
  it("a fifo swapped in after the walk is skipped without blocking (in a child process, with a deadline)", () => {
    const root = tempDir("jg-pack-fifo-");
    writeFileSync(join(root, "f"), "data");
    const script = `
      import { execFileSync } from "node:child_process";
      import { unlinkSync } from "node:fs";
      import { packTree, scanTree } from ${JSON.stringify(new URL("../../../dist/transfer/pack.js", import.meta.url).href)};
      const root = ${JSON.stringify(root)};
      const scan = await scanTree({ root });
      unlinkSync(root + "/f");
      execFileSync("mkfifo", [root + "/f"]);
      const skipped = [];
      await packTree(scan, async () => {}, { onSkipped: (s) => skipped.push(s) });
      console.log(JSON.stringify(skipped));
    `;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(r.signal).toBeNull();
    expect(JSON.parse(r.stdout)).toEqual([
      { path: "f", reason: "changed since the walk, not sent: it is another file now" },
    ]);
  });

  it("a big file emptied after the walk is zero-filled with a note, never silently", async () => {
    const root = tempDir("jg-pack-emptied-");
    writeFileSync(join(root, "big"), bytesOf(2 * CHUNK, 5));
    const { chunks, skipped } = await pack(root, () => truncateSync(join(root, "big"), 0));
    expect(skipped).toEqual([{ path: "big", reason: "it shrank while being read; zero-filled" }]);
    expect(readFileSync(join(gnuExtract(chunks), "big")).every((b) => b === 0)).toBe(true);
  });

  it("hard links whose first name vanished: the next name carries the data and later ones link to it", async () => {
    const root = tempDir("jg-pack-links-");
    writeFileSync(join(root, "a"), "shared");
    linkSync(join(root, "a"), join(root, "b"));
    linkSync(join(root, "a"), join(root, "c"));
    const { chunks, skipped } = await pack(root, () => unlinkSync(join(root, "a")));
    expect(skipped).toEqual([{ path: "a", reason: "no such file or directory" }]);
    const out = gnuExtract(chunks);
    expect(readFileSync(join(out, "b"), "utf8")).toBe("shared");
    expect(statSync(join(out, "c")).ino).toBe(statSync(join(out, "b")).ino);
  });

  it("a sink that fails is the packer's error, not a read error", async () => {
    const root = tempDir("jg-pack-sink-");
    writeFileSync(join(root, "big"), bytesOf(3 * CHUNK, 6));
    const scan = await scanTree({ root });
    const skipped: Skipped[] = [];
    let calls = 0;
    const failing = async () => {
      calls++;
      if (calls === 2) throw new Error("channel closed");
    };
    await expect(packTree(scan, failing, { onSkipped: (s) => skipped.push(s) })).rejects.toThrow(
      "channel closed",
    );
    expect(calls).toBe(2);
    expect(skipped).toEqual([]);
  });

  it("names and link targets that are not valid UTF-8 are left out with the reason", async () => {
    const root = tempDir("jg-pack-bytes-");
    const rootBytes = Buffer.from(root);
    writeFileSync(Buffer.concat([rootBytes, Buffer.from("/caf"), Buffer.from([0xe9])]), "latin-1 name");
    symlinkSync(Buffer.from([0x74, 0x67, 0x74, 0xff]), join(root, "link"));
    writeFileSync(join(root, "ok"), "ok");
    const { chunks, scan } = await pack(root);
    // Found by the walk (scan.skipped, which push reports with the rest), not sent.
    const skipped = scan.skipped;
    expect(skipped.map((s) => s.reason)).toEqual([
      "the name is not valid UTF-8 (jumpgate sends UTF-8 names only; rename it to send it)",
      "its target: the name is not valid UTF-8 (jumpgate sends UTF-8 names only; rename it to send it)",
    ]);
    expect(skipped[1]?.path).toBe("link");
    const out = gnuExtract(chunks);
    expect(readFileSync(join(out, "ok"), "utf8")).toBe("ok");
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
