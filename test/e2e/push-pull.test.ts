/**
 * `jumpgate push` / `jumpgate pull` against real OpenSSH sshd in the seeds' topology (you ->
 * jaguar -> mcgonagall), compared with what OpenSSH's own pipeline (`tar c | ssh host 'tar x'`)
 * produces from the same tree. The lab's hosts share this machine's file system (network
 * namespaces only), so what the remote tar wrote is checked here directly.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type BastionLab, describeE2E, startBastionLab } from "../support/lab.js";
import { makeTree, manifest, manifestDiff } from "../support/tar-tree.js";

const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const bin = join(repo, "bin/jumpgate.js");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function jumpgate(args: string[]): Run {
  const r = spawnSync(process.execPath, [bin, ...args], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describeE2E("jumpgate push / pull through jaguar", "netns", () => {
  let lab: BastionLab;
  let work: string;
  let tree: string;

  beforeAll(async () => {
    lab = await startBastionLab();
    work = mkdtempSync(join(tmpdir(), "jg-pushpull-"));
    tree = join(work, "tree");
    makeTree(tree, { files: 5000, avgSize: 1024 });
  }, 120_000);

  afterAll(async () => {
    await lab?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const F = () => ["-F", lab.configPath];

  it("push: a 5,000-file tree arrives intact (checksums, modes, mtimes, symlinks), as OpenSSH's tar pipeline puts it", () => {
    const remote = join(work, "pushed", "new dir 'q'");
    const r = jumpgate(["push", "-q", ...F(), tree, `mcgonagall:${remote}`]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const diffs = manifestDiff(manifest(tree), manifest(remote));
    expect(diffs).toEqual([]);
    expect(manifest(remote).size).toBeGreaterThan(5000);
  }, 60_000);

  it("pull: the same tree comes back intact", () => {
    const local = join(work, "pulled");
    const r = jumpgate(["pull", "-q", ...F(), `mcgonagall:${tree}`, local]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(manifestDiff(manifest(tree), manifest(local))).toEqual([]);
  }, 60_000);
});
