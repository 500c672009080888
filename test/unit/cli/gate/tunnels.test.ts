/** `jumpgate tunnels add`: what is checked before a gate is started for it. */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { useTempDirs } from "../../../support/tmp.js";

const tempDir = useTempDirs();
const bin = join(resolve(fileURLToPath(new URL("../../../..", import.meta.url))), "bin/jumpgate.js");

describe("tunnels add", () => {
  it("a bad spec is JG_FORWARD_SPEC before any gate is started", () => {
    const runtime = tempDir("jg-tunnels-add-");
    const r = spawnSync(
      process.execPath,
      [bin, "tunnels", "add", "-F", "/dev/null", "somehost", "-L", "nonsense"],
      {
        env: { ...process.env, XDG_RUNTIME_DIR: runtime },
        encoding: "utf8",
      },
    );
    expect(r.status).toBe(255);
    expect(r.stderr).toMatch(/JG_FORWARD_SPEC: Bad -L specification 'nonsense'/);
    expect(r.stderr).not.toMatch(/started the gate/);
    expect(existsSync(join(runtime, "jumpgate", "gate.sock"))).toBe(false);
  });
});
