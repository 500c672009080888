/**
 * Every annotated example in config-examples/ resolves: each `# expect-route: dest => route`
 * line holds, and `jumpgate config` prints exactly what the installed `ssh -G` prints for it.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runConfig } from "../../src/cli/commands/config.js";
import { describeE2E } from "../support/lab.js";

const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const exampleDir = join(repo, "config-examples");
const examples = readdirSync(exampleDir)
  .filter((f) => f.endsWith(".conf"))
  .sort();

interface RouteExpectation {
  destination: string;
  route: string;
}

function expectations(file: string): RouteExpectation[] {
  return readFileSync(join(exampleDir, file), "utf8")
    .split("\n")
    .map((line) => /^# expect-route: (\S+) => (.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ destination: m[1] as string, route: m[2] as string }));
}

describe("config-examples", () => {
  it("has the seeds' four ways to reach mcgonagall, forwards and agent use", () => {
    expect(examples.length).toBeGreaterThanOrEqual(6);
    for (const file of examples) expect(expectations(file).length, file).toBeGreaterThan(0);
  });

  for (const file of examples) {
    for (const { destination, route } of expectations(file)) {
      it(`${file}: ${destination} routes as documented`, () => {
        const out = runConfig(["-F", `config-examples/${file}`, "--route", destination]);
        expect(out.trimEnd()).toBe(route);
      });
    }
  }
});

describeE2E("config-examples match ssh -G", "sshd", () => {
  for (const file of examples) {
    for (const { destination } of expectations(file)) {
      it(`${file}: ${destination}`, () => {
        const args = ["-F", `config-examples/${file}`, destination];
        const ssh = spawnSync("ssh", ["-G", ...args], { cwd: repo, encoding: "utf8" });
        expect(ssh.status, ssh.stderr).toBe(0);
        const previous = process.cwd();
        process.chdir(repo);
        try {
          expect(runConfig(args)).toBe(ssh.stdout);
        } finally {
          process.chdir(previous);
        }
      });
    }
  }
});
