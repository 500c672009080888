import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { doctorReport, formatReport } from "../../../../src/cli/doctor/run.js";

describe("jumpgate doctor", () => {
  it("reports the binding as loaded exactly when ssh2's sshcrypto.node exists and loads, and every cipher's path", () => {
    const r = doctorReport();
    expect(r.node).toBe(process.version);
    expect(r.ssh2.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(r.binding.loaded).toBe(existsSync(r.binding.path));
    expect(r.ciphers.map((c) => c.cipher)).toContain("chacha20-poly1305@openssh.com");
    for (const c of r.ciphers) expect(c.implementation === "binding").toBe(r.binding.loaded);
    expect(r.problems.length === 0).toBe(r.binding.loaded);
    const text = formatReport(r);
    expect(text).toMatch(r.binding.loaded ? /binding {5}loaded/ : /binding {5}NOT loaded/);
  });
});
