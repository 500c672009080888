/**
 * The pull extractor's rules, on crafted tar streams written into a temp dir: each rule refuses what
 * it must (with its reason), lets through what it must, and nothing lands outside the destination.
 * A fast-check property throws arbitrary entry names at it.
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { beforeEach, describe, expect, it } from "vitest";
import { JumpgateError } from "../../../src/errors.js";
import {
  checkName,
  checkSymlinkTarget,
  createExtractor,
  type ExtractLimits,
  type ExtractSummary,
} from "../../../src/transfer/extract.js";
import { currentUmask } from "../../../src/util/umask.js";
import { craftTar, type HostileEntry } from "../../support/hostile-tar-server.js";
import { useTempDirs } from "../../support/tmp.js";

// useTempDirs' cleanup grants u+rwx before removing: a test below extracts a 0555 dir.
const root = useTempDirs()("jg-extract-");
let n = 0;
let box: string;
let dest: string;
let outside: string;

beforeEach(() => {
  // box/outside is the canary; box/a/dest the destination (two levels down).
  box = join(root, `case${n++}`);
  outside = join(box, "outside");
  dest = join(box, "a", "dest");
  mkdirSync(outside, { recursive: true });
  mkdirSync(dest, { recursive: true });
});

async function extract(
  entries: HostileEntry[],
  limits: Partial<ExtractLimits> = {},
): Promise<ExtractSummary> {
  const archive = await craftTar(entries);
  const x = createExtractor(dest, { limits });
  // Written in small pieces, as a channel delivers it.
  for (let i = 0; i < archive.length; i += 7000) x.input.write(archive.subarray(i, i + 7000));
  x.input.end(undefined);
  return x.done;
}

function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      out.push(r);
      const st = lstatSync(join(d, name));
      if (st.isDirectory()) walk(join(d, name), r);
    }
  };
  walk(dir, "");
  return out;
}

const refusedNames = (s: ExtractSummary) => s.refused.map((r) => r.path);

describe("checkName", () => {
  it("accepts relative names and the root, refuses absolute, '..' and NUL", () => {
    expect(checkName("./a/b")).toEqual({ ok: true, parts: ["a", "b"] });
    expect(checkName("./")).toEqual({ ok: true, parts: [] });
    expect(checkName("a//./b/")).toEqual({ ok: true, parts: ["a", "b"] });
    expect(checkName("/etc/passwd").ok).toBe(false);
    expect(checkName("a/../../b").ok).toBe(false);
    expect(checkName("..").ok).toBe(false);
    expect(checkName("a\0b").ok).toBe(false);
  });

  it("bounds depth, length and component size", () => {
    expect(checkName("a/b/c", { maxDepth: 2, maxPathBytes: 4096, maxEntries: 1, maxBytes: 1 }).ok).toBe(
      false,
    );
    expect(checkName("x".repeat(300)).ok).toBe(false);
    expect(checkName("a/".repeat(3000)).ok).toBe(false);
  });
});

describe("checkSymlinkTarget", () => {
  it("allows a leading run of '..' that stays inside, refuses the rest", () => {
    expect(checkSymlinkTarget("sibling", ["a"])).toBeUndefined();
    expect(checkSymlinkTarget("../b/c", ["a", "link"])).toBeUndefined();
    expect(checkSymlinkTarget("../x", ["link"])).toMatch(/leaves the destination/);
    expect(checkSymlinkTarget("/etc", ["link"])).toMatch(/absolute path/);
    expect(checkSymlinkTarget("a/../../x", ["d", "link"])).toMatch(/'\.\.' after a name/);
    expect(checkSymlinkTarget("", ["link"])).toMatch(/empty/);
  });
});

describe("createExtractor", () => {
  it("extracts files, directories, symlinks and hard links with modes and mtimes", async () => {
    const mtime = new Date(1_500_000_000_000);
    const s = await extract([
      { name: "./", type: "directory", mode: 0o755 },
      { name: "./d/", type: "directory", mode: 0o750, mtime },
      { name: "./d/f.txt", body: "hello", mode: 0o640, mtime },
      { name: "./d/x", body: "#!/bin/sh\n", mode: 0o755 },
      { name: "./l", type: "symlink", linkname: "d/f.txt", mtime },
      { name: "./h", type: "link", linkname: "./d/f.txt" },
      { name: "./ro/", type: "directory", mode: 0o555 },
      { name: "./ro/inside", body: "written before ro applies", mode: 0o444 },
    ]);
    expect(s.refused).toEqual([]);
    expect(s.files).toBe(3);
    expect(readFileSync(join(dest, "d/f.txt"), "utf8")).toBe("hello");
    expect(lstatSync(join(dest, "d/f.txt")).mode & 0o777).toBe(0o640);
    expect(lstatSync(join(dest, "d/f.txt")).mtimeMs).toBe(mtime.getTime());
    expect(lstatSync(join(dest, "d")).mode & 0o777).toBe(0o750);
    expect(lstatSync(join(dest, "d")).mtimeMs).toBe(mtime.getTime());
    expect(lstatSync(join(dest, "d/x")).mode & 0o777).toBe(0o755);
    expect(lstatSync(join(dest, "l")).isSymbolicLink()).toBe(true);
    expect(lstatSync(join(dest, "h")).ino).toBe(lstatSync(join(dest, "d/f.txt")).ino);
    expect(lstatSync(join(dest, "ro")).mode & 0o777).toBe(0o555);
    expect(readFileSync(join(dest, "ro/inside"), "utf8")).toBe("written before ro applies");
  });

  it("applies the umask to the archive's modes: a server cannot leave world-writable files", async () => {
    const umask = currentUmask();
    expect(umask & 0o002).toBe(0o002); // the usual 022 or stricter; the case below needs o-w
    await extract([
      { name: "./ww/", type: "directory", mode: 0o777 },
      { name: "./ww/f", body: "x", mode: 0o666 },
      { name: "./g", body: "#!/bin/sh\n", mode: 0o777 },
    ]);
    expect(lstatSync(join(dest, "ww")).mode & 0o777).toBe(0o777 & ~umask);
    expect(lstatSync(join(dest, "ww/f")).mode & 0o777).toBe(0o666 & ~umask);
    expect(lstatSync(join(dest, "g")).mode & 0o777).toBe(0o777 & ~umask);
  });

  it("replaces an existing file or symlink instead of writing through it", async () => {
    symlinkSync(join(outside, "target"), join(dest, "victim"));
    const s = await extract([{ name: "./victim", body: "new contents" }]);
    expect(s.refused).toEqual([]);
    expect(lstatSync(join(dest, "victim")).isFile()).toBe(true);
    expect(readdirSync(outside)).toEqual([]);
  });

  it("refuses a hard link to itself and keeps the file it names", async () => {
    const s = await extract([
      { name: "./x", body: "precious", mode: 0o644 },
      { name: "./x", type: "link", linkname: "./x" },
      { name: "./after", body: "still extracted", mode: 0o644 },
    ]);
    expect(s.refused.map((r) => r.reason)).toEqual([
      "a hard link to itself (it would remove the file it names)",
    ]);
    expect(readFileSync(join(dest, "x"), "utf8")).toBe("precious");
    expect(readFileSync(join(dest, "after"), "utf8")).toBe("still extracted");
  });

  it("refuses the escapes and writes nothing outside", async () => {
    const s = await extract([
      { name: "../up.txt", body: "x" },
      { name: "/abs.txt", body: "x" },
      { name: "./l1", type: "symlink", linkname: "../../outside" },
      { name: "./l1/f", body: "x" },
      { name: "./l2", type: "symlink", linkname: outside },
      { name: "./l2/f", body: "x" },
      { name: "./h", type: "link", linkname: "../outside/f" },
      { name: "./h2", type: "link", linkname: "./not-extracted" },
      { name: "./c", type: "character-device", devmajor: 1, devminor: 3 },
      { name: "./p", type: "fifo" },
    ]);
    expect(refusedNames(s)).toEqual([
      "../up.txt",
      "/abs.txt",
      "./l1",
      "./l1/f",
      "./l2",
      "./l2/f",
      "./h",
      "./h2",
      "./c",
      "./p",
    ]);
    expect(s.refused.find((r) => r.path === "./h2")?.reason).toMatch(/not a file extracted earlier/);
    expect(tree(outside)).toEqual([]);
    expect(tree(join(box, "a"))).toEqual(["dest"]);
    expect(tree(dest)).toEqual([]);
  });

  it("drops setuid, setgid and sticky bits and says so", async () => {
    const s = await extract([
      { name: "./s", body: "x", mode: 0o6755 },
      { name: "./t/", type: "directory", mode: 0o1777 },
    ]);
    expect(lstatSync(join(dest, "s")).mode & 0o7777).toBe(0o755);
    expect(lstatSync(join(dest, "t")).mode & 0o7777).toBe(0o777 & ~currentUmask());
    expect(s.notes.map((x) => x.reason)).toEqual([
      "setuid/setgid bit dropped (jumpgate never creates them)",
      "sticky bit dropped (jumpgate never creates them)",
    ]);
  });

  it("stops at the entry limit with JG_TAR_LIMIT", async () => {
    const entries = Array.from({ length: 20 }, (_, i) => ({ name: `./f${i}`, body: "x" }));
    const error = await extract(entries, { maxEntries: 10 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JumpgateError);
    expect((error as JumpgateError).code).toBe("JG_TAR_LIMIT");
    expect((error as JumpgateError).message).toMatch(/more than 10 entries.*10 files/);
    expect(readdirSync(dest).length).toBe(10);
  });

  it("stops at the size limit before writing the entry that exceeds it", async () => {
    const error = await extract(
      [
        { name: "./a", body: "x".repeat(600) },
        { name: "./b", body: "y".repeat(600) },
      ],
      { maxBytes: 1000 },
    ).catch((e: unknown) => e);
    expect((error as JumpgateError).code).toBe("JG_TAR_LIMIT");
    expect(readdirSync(dest)).toEqual(["a"]);
  });

  it("reports a truncated archive as JG_TAR_BAD_ARCHIVE and removes the partial file", async () => {
    const archive = await craftTar([
      { name: "./ok", body: "complete" },
      { name: "./big", body: "z".repeat(100_000) },
    ]);
    const x = createExtractor(dest);
    x.input.write(archive.subarray(0, 60_000));
    x.input.end(undefined);
    const error = await x.done.catch((e: unknown) => e);
    expect((error as JumpgateError).code).toBe("JG_TAR_BAD_ARCHIVE");
    expect(readdirSync(dest)).toEqual(["ok"]);
  });

  it("fuzz: whatever the entry names and link targets, nothing is written outside", async () => {
    const segment = fc.constantFrom("..", ".", "", "a", "b", "outside", "x y", "é");
    const path = fc
      .tuple(fc.boolean(), fc.array(segment, { minLength: 1, maxLength: 5 }))
      .map(([abs, parts]) => `${abs ? "/" : ""}${parts.join("/")}`);
    const entry = fc.oneof(
      path.map((name): HostileEntry => ({ name, body: "data" })),
      path.map((name): HostileEntry => ({ name, type: "directory" })),
      fc.tuple(path, path).map(([name, linkname]): HostileEntry => ({ name, type: "symlink", linkname })),
      fc.tuple(path, path).map(([name, linkname]): HostileEntry => ({ name, type: "link", linkname })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 12 }), async (entries) => {
        const b = join(root, `fuzz${n++}`);
        const out = join(b, "outside");
        const d = join(b, "a", "dest");
        mkdirSync(out, { recursive: true });
        mkdirSync(d, { recursive: true });
        const archive = await craftTar(entries.filter((e) => e.name !== ""));
        const x = createExtractor(d);
        x.input.write(archive);
        x.input.end(undefined);
        await x.done.catch(() => undefined);
        expect(tree(out)).toEqual([]);
        expect(readdirSync(join(b, "a"))).toEqual(["dest"]);
        expect(readdirSync(b).sort()).toEqual(["a", "outside"]);
        // Every symlink created resolves inside the destination.
        for (const rel of tree(d)) {
          const p = join(d, rel);
          if (lstatSync(p).isSymbolicLink()) {
            let real: string | undefined;
            try {
              real = (await import("node:fs")).realpathSync(p);
            } catch {
              real = undefined; // dangling: points at nothing
            }
            if (real !== undefined) expect(real === d || real.startsWith(`${d}/`)).toBe(true);
          }
        }
      }),
      { numRuns: 150 },
    );
  }, 60_000);
});
