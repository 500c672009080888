/** The module-graph check catches a cycle and a layering violation, and passes on src/. */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { useTempDirs } from "../../support/tmp.js";

const tempDir = useTempDirs();
const script = resolve(fileURLToPath(new URL("../../../scripts/check-cycles.mjs", import.meta.url)));

function check(root?: string) {
  const r = spawnSync(process.execPath, root ? [script, root] : [script], { encoding: "utf8" });
  return { code: r.status, out: r.stdout + r.stderr };
}

function tree(files: Record<string, string>): string {
  const root = tempDir("jg-cycles-");
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe("scripts/check-cycles.mjs", () => {
  it("accepts the real source tree", () => {
    const r = check();
    expect(r.out).toMatch(/no circular imports, layering respected/);
    expect(r.code).toBe(0);
  });

  it("reports a circular import", () => {
    const root = tree({
      "config/a.ts": 'import { b } from "./b.js";\nexport const a = b;\n',
      "config/b.ts": 'import { a } from "./a.js";\nexport const b = a;\n',
    });
    const r = check(root);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/cycle: config\/a\.ts -> config\/b\.ts -> config\/a\.ts/);
  });

  it("reports config importing connection (a layering violation)", () => {
    const root = tree({
      "config/a.ts": 'import { x } from "../connection/x.js";\nexport const a = x;\n',
      "connection/x.ts": "export const x = 1;\n",
    });
    const r = check(root);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/layering: config\/a\.ts imports connection\/x\.ts/);
  });

  it("ignores type-only imports when looking for cycles", () => {
    const root = tree({
      "config/a.ts": 'import type { B } from "./b.js";\nexport type A = B;\nexport const a = 1;\n',
      "config/b.ts": 'import { a } from "./a.js";\nexport type B = number;\nexport const b = a;\n',
    });
    expect(check(root).code).toBe(0);
  });
});
