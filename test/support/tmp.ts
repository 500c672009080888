/**
 * Temp dirs that tests do not leak: every dir made here is removed when the test file is done.
 *
 *   const tempDir = useTempDirs(); // once, at the top level of the test file
 *   ...
 *   const work = tempDir("jg-gate-e2e-"); // anywhere: collection, hooks, tests
 *
 * Why an explicit `useTempDirs()` rather than an afterAll run when this module is imported: the
 * hook must be registered while vitest collects the test file, and a module-level side effect
 * only runs once per module instance (not once per file if isolation were ever turned off).
 *
 * Order: the afterAll is registered on the suite being collected. At file top level that is the
 * file's root suite, whose afterAll runs after every describe's afterAll, so gate daemons and
 * agents stopped there are gone before their runtime dirs disappear. Within one suite vitest runs
 * afterAll hooks in reverse registration order (sequence.hooks "stack"), so a file's own
 * top-level afterAll that stops a child also runs first when useTempDirs() is called before it.
 */
import { chmodSync, lstatSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

export type TempDir = (prefix: string) => string;

/** Registers the cleanup for this file and returns the function that makes its dirs. */
export function useTempDirs(): TempDir {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs.splice(0)) removeTree(dir);
  });
  return (prefix) => {
    // mkdtemp makes the dir 0700: keys and sockets inside are private from the start.
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
}

/**
 * rm -rf that does not stop at a dir a test made read-only or unsearchable (a non-root run cannot
 * unlink entries of a 0500 dir): every dir gets u+rwx first. Symlinks are not followed.
 */
export function removeTree(dir: string): void {
  grantOwner(dir);
  rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
}

function grantOwner(dir: string): void {
  let mode: number;
  try {
    const st = lstatSync(dir);
    if (!st.isDirectory()) return;
    mode = st.mode;
  } catch {
    return; // already gone
  }
  try {
    if ((mode & 0o700) !== 0o700) chmodSync(dir, (mode & 0o7777) | 0o700);
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) grantOwner(join(dir, entry.name));
    }
  } catch {
    // Not ours to fix (another owner, a vanished entry): rmSync reports what really blocks it.
  }
}
