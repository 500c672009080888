/**
 * The tar header encoder, read back by two independent readers: tar-stream's parser (in-process,
 * with fast-check names) and GNU tar itself (`tar -tv`), including the pax cases.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import tarStream from "tar-stream";
import { describe, expect, it } from "vitest";
import {
  BLOCK,
  headerBytes,
  padded,
  type TarHeaderFields,
  writeHeader,
} from "../../../src/transfer/tar-header.js";
import { useTempDirs } from "../../support/tmp.js";

const tempDir = useTempDirs();

const base = (over: Partial<TarHeaderFields>): TarHeaderFields => ({
  name: "./a.txt",
  type: "file",
  mode: 0o644,
  uid: 1000,
  gid: 1000,
  size: 0,
  mtime: new Date(1_600_000_000_000),
  ...over,
});

/** An archive of header-only entries with `size` bytes of data each ("x" repeated). */
function archive(entries: TarHeaderFields[]): Buffer {
  const parts: Buffer[] = [];
  for (const h of entries) {
    const buf = Buffer.alloc(headerBytes(h) + padded(h.size));
    const n = writeHeader(buf, 0, h);
    expect(n).toBe(headerBytes(h));
    buf.fill("x", n, n + h.size);
    parts.push(buf);
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

interface Read {
  name: string;
  type: string | null | undefined;
  mode: number | undefined;
  uid: number | undefined;
  gid: number | undefined;
  size: number | undefined;
  mtime: number | undefined;
  linkname: string | null | undefined;
}

/** What tar-stream's extractor reads back. */
async function readBack(data: Buffer): Promise<Read[]> {
  const out: Read[] = [];
  const ex = tarStream.extract();
  ex.on("entry", (h, stream, next) => {
    out.push({
      name: h.name,
      type: h.type,
      mode: h.mode,
      uid: h.uid,
      gid: h.gid,
      size: h.size,
      mtime: h.mtime?.getTime(),
      linkname: h.linkname,
    });
    stream.on("end", () => next());
    stream.resume();
  });
  const finished = new Promise<void>((resolve, reject) => {
    ex.on("finish", () => resolve());
    ex.on("error", reject);
  });
  ex.end(data);
  await finished;
  return out;
}

/** GNU tar's verbose listing (numeric owners, full times). */
function gnuList(data: Buffer): { status: number | null; stdout: string; stderr: string } {
  const file = join(tempDir("jg-tar-header-"), "a.tar");
  writeFileSync(file, data);
  const r = spawnSync("tar", ["-tv", "--numeric-owner", "--full-time", "-f", file], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("writeHeader", () => {
  it("writes one ustar block for an ordinary entry, read back field by field", async () => {
    const h = base({ size: 5, mode: 0o4755, uid: 12, gid: 34 });
    expect(headerBytes(h)).toBe(BLOCK);
    const [got] = await readBack(archive([h]));
    expect(got).toEqual({
      name: "./a.txt",
      type: "file",
      mode: 0o4755,
      uid: 12,
      gid: 34,
      size: 5,
      mtime: 1_600_000_000_000,
      linkname: null,
    });
  });

  it("encodes directories, symlinks and hard links with their type and target", async () => {
    const entries = [
      base({ name: "./d/", type: "directory", mode: 0o750 }),
      base({ name: "./d/l", type: "symlink", linkname: "../a.txt" }),
      base({ name: "./d/h", type: "link", linkname: "./a.txt" }),
    ];
    const got = await readBack(archive(entries));
    expect(got.map((g) => [g.name, g.type, g.linkname])).toEqual([
      ["./d/", "directory", null],
      ["./d/l", "symlink", "../a.txt"],
      ["./d/h", "link", "./a.txt"],
    ]);
    const listing = gnuList(archive(entries));
    expect(listing.status).toBe(0);
    expect(listing.stdout).toMatch(/^drwxr-x--- 1000\/1000 .* \.\/d\/$/m);
    expect(listing.stdout).toMatch(/^lrw-r--r-- .* \.\/d\/l -> \.\.\/a\.txt$/m);
    expect(listing.stdout).toMatch(/^hrw-r--r-- .* \.\/d\/h link to \.\/a\.txt$/m);
  });

  it("splits a long ASCII path into ustar's prefix and name (no pax header)", async () => {
    const name = `./${"d".repeat(90)}/${"e".repeat(50)}/${"f".repeat(95)}`;
    const h = base({ name });
    expect(headerBytes(h)).toBe(BLOCK);
    expect((await readBack(archive([h])))[0]?.name).toBe(name);
    expect(
      gnuList(archive([h]))
        .stdout.trim()
        .endsWith(name),
    ).toBe(true);
  });

  it("uses a pax header for a name that cannot split, a non-ASCII name and a long link target", async () => {
    const longComponent = `./${"n".repeat(120)}`;
    const unicode = "./dossier é/naïve ✓.txt";
    const target = `../${"t".repeat(150)}`;
    const entries = [
      base({ name: longComponent }),
      base({ name: unicode, size: 3 }),
      base({ name: "./l", type: "symlink", linkname: target }),
    ];
    for (const h of entries) expect(headerBytes(h)).toBeGreaterThan(BLOCK);
    const got = await readBack(archive(entries));
    expect(got.map((g) => g.name)).toEqual([longComponent, unicode, "./l"]);
    expect(got[1]?.size).toBe(3);
    expect(got[2]?.linkname).toBe(target);
    const listing = gnuList(archive(entries));
    expect(listing.status).toBe(0);
    expect(listing.stdout).toContain(longComponent);
    expect(listing.stdout).toContain(unicode);
    expect(listing.stdout).toContain(`./l -> ${target}`);
  });

  it("the ustar stand-in names of pax entries are never absolute and never contain '..'", () => {
    for (const name of [
      `./${"x".repeat(200)}/a../${"y".repeat(97)}`,
      `./${"x".repeat(200)}/${"y".repeat(99)}`,
      "./ü/..é",
    ]) {
      const h = base({ name });
      const buf = Buffer.alloc(headerBytes(h));
      writeHeader(buf, 0, h);
      const field = (at: number) => buf.toString("latin1", at, at + 100).replace(/\0.*$/s, "");
      const paxName = field(0);
      const entryName = field(buf.length - BLOCK);
      expect(paxName.startsWith("./PaxHeaders/")).toBe(true);
      for (const n of [paxName, entryName]) {
        expect(n.startsWith("/")).toBe(false);
        expect(n.split("/")).not.toContain("..");
      }
    }
  });

  it("carries sizes of 8 GiB and more, large ids and old times in pax records (GNU tar reads them)", () => {
    const size = 9 * 1024 ** 3 + 7;
    const h = base({ name: "./big", size, uid: 0o10000000, gid: 3_000_000, mtime: new Date(-86_400_000) });
    const buf = Buffer.alloc(headerBytes(h));
    writeHeader(buf, 0, h);
    // Only the header: tar lists the entry, then reports the missing data.
    const listing = gnuList(buf);
    expect(listing.stdout).toMatch(
      new RegExp(`^-rw-r--r-- ${0o10000000}/3000000 ${size} 1969-12-31 \\d\\d:\\d\\d:\\d\\d \\./big$`, "m"),
    );
    // ...and then fails on the 9 GiB of data that are not there.
    expect(listing.status).not.toBe(0);
  });

  it("any name fast-check makes (ASCII, unicode, long) reads back unchanged", async () => {
    const component = fc
      .string({ unit: "grapheme", minLength: 1, maxLength: 40 })
      .map((s) => s.replaceAll("/", "_").replaceAll("\0", "_"));
    await fc.assert(
      fc.asyncProperty(fc.array(component, { minLength: 1, maxLength: 8 }), async (parts) => {
        const name = `./${parts.join("/")}`;
        const [got] = await readBack(archive([base({ name, size: 1 })]));
        expect(got?.name).toBe(name);
        expect(got?.size).toBe(1);
      }),
      { numRuns: 200 },
    );
  });
});
