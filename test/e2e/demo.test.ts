/**
 * `jumpgate demo` and `jumpgate demo --check` as a user runs them (the built CLI in a child
 * process). The demo brings its own lab (src/demo), so no sshd, root or OpenSSH is needed here.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const bin = join(repo, "bin/jumpgate.js");

const STEPS = [
  "lab starts",
  "route resolves through jaguar",
  "connect through jaguar",
  "command runs on mcgonagall",
  "localhost-only service reachable through mcgonagall",
  "mcgonagall not reachable directly",
  "one jaguar connection served both channels",
  "gate starts",
  "gate holds a tunnel to mcgonagall's service",
  "service reachable through the tunnel",
  "gate counts the tunnel's connection and bytes",
  "lab stops cleanly",
];

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const children = new Set<ChildProcess>();

afterEach(async () => {
  // A failed assertion must not leave a demo (and its lab, with its private key) behind: SIGTERM
  // lets the demo delete its lab dir; SIGKILL only if it does not exit.
  await Promise.all(
    [...children].map(
      (child) =>
        new Promise<void>((done) => {
          const kill = setTimeout(() => child.kill("SIGKILL"), 5_000);
          child.once("close", () => {
            clearTimeout(kill);
            done();
          });
          child.kill("SIGTERM");
        }),
    ),
  );
  children.clear();
});

function start(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: repo,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  const run: Run = { code: null, signal: null, stdout: "", stderr: "" };
  child.stdout?.on("data", (d: Buffer) => {
    run.stdout += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    run.stderr += d.toString();
  });
  const done = new Promise<Run>((resolveRun) => {
    child.once("close", (code, signal) => {
      children.delete(child);
      run.code = code;
      run.signal = signal;
      resolveRun(run);
    });
  });
  return { child, run, done };
}

function jumpgate(args: string[], env?: NodeJS.ProcessEnv): Promise<Run> {
  return start(args, env).done;
}

/** Resolves once `pattern` appears on the child's stdout; rejects if it exits or time runs out. */
function waitForOutput(started: ReturnType<typeof start>, pattern: RegExp, ms = 20_000): Promise<void> {
  return new Promise((resolveWait, reject) => {
    const timer = setTimeout(() => {
      clearInterval(poll);
      reject(
        new Error(
          `no ${pattern} within ${ms}ms; stdout:\n${started.run.stdout}\nstderr:\n${started.run.stderr}`,
        ),
      );
    }, ms);
    const poll = setInterval(() => {
      if (pattern.test(started.run.stdout)) {
        clearInterval(poll);
        clearTimeout(timer);
        resolveWait();
      }
    }, 20);
    void started.done.then((r) => {
      clearInterval(poll);
      clearTimeout(timer);
      if (pattern.test(r.stdout)) resolveWait();
      else reject(new Error(`exited (${r.code ?? r.signal}) before ${pattern}:\n${r.stdout}\n${r.stderr}`));
    });
  });
}

describe("jumpgate demo --check", () => {
  it("walks every step, one ok line each, and exits 0", async () => {
    const r = await jumpgate(["demo", "--check"]);
    expect(r.stderr).toBe("");
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines.slice(0, STEPS.length)).toEqual(STEPS.map((step) => `ok  ${step}`));
    expect(lines.at(-1)).toBe(`demo check: all ${STEPS.length} steps ok`);
    expect(r.code).toBe(0);
  });

  it("reports a step that fails as FAIL with its reason, the rest as not run, and exits non-zero", async () => {
    // A lab dir path OpenSSH could not use (a blank) makes the very first step fail.
    const parent = mkdtempSync(join(tmpdir(), "jg-demo-"));
    const badTmp = join(parent, "with space");
    mkdirSync(badTmp);
    try {
      const r = await jumpgate(["demo", "--check"], { ...process.env, TMPDIR: badTmp });
      const lines = r.stdout.trimEnd().split("\n");
      expect(lines[0]).toMatch(/^FAIL lab starts: JG_USAGE: the demo lab cannot use /);
      expect(lines[1]).toBe("FAIL route resolves through jaguar: not run: the lab did not start");
      expect(lines.filter((l) => l.startsWith("FAIL "))).toHaveLength(STEPS.length);
      expect(r.stderr).toMatch(
        new RegExp(
          `^jumpgate: JG_DEMO_CHECK_FAILED: demo check: ${STEPS.length} of ${STEPS.length} steps failed, first 'lab starts'`,
        ),
      );
      expect(r.code).toBe(1);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it("documents --check with an example", async () => {
    const r = await jumpgate(["demo", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("--check");
    expect(r.stdout).toContain("Examples:\n  jumpgate demo ");
  });
});

describe("jumpgate demo", () => {
  it("fails with the failing step's own error and code when the lab cannot start", async () => {
    const parent = mkdtempSync(join(tmpdir(), "jg-demo-"));
    const badTmp = join(parent, "with space");
    mkdirSync(badTmp);
    try {
      const r = await jumpgate(["demo"], { ...process.env, TMPDIR: badTmp });
      expect(r.stderr).toMatch(/^jumpgate: JG_USAGE: the demo lab cannot use /);
      expect(r.stdout).not.toContain("Try it yourself");
      expect(r.code).toBe(2);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it("shows the journey, stays up for 'jumpgate ssh', and stops the lab on SIGINT", async () => {
    const demo = start(["demo"]);
    await waitForOutput(demo, /Press Ctrl-C to stop the lab/);
    const out = demo.run.stdout;

    expect(out).toMatch(/jaguar {6}the bastion, listening on 127\.0\.0\.1:\d+/);
    expect(out).toMatch(/^ {2}you -> jaguar \(127\.0\.0\.1:\d+\) -> mcgonagall \(mcgonagall:22\)$/m);
    expect(out).toContain("  $ hostname                 (run on mcgonagall)\n  mcgonagall\n");
    expect(out).toMatch(/<- got \d+ bytes sha256 [0-9a-f]{12}\.\.\.[0-9a-f]{4} {3}\(checked\)/);
    for (const hop of ["jaguar", "mcgonagall"]) {
      for (const kind of ["connecting", "hostkey", "authenticated", "ready"]) {
        expect(out).toMatch(new RegExp(`^ {2}${hop} +${kind}\\b`, "m"));
      }
    }
    expect(out).toContain("reused: no new handshake");
    expect(out).toContain("01-proxyjump.conf:");
    expect(out).toContain("Try it yourself");
    // Readable in 80 columns, and no colours in a pipe.
    for (const line of out.split("\n")) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(out).not.toContain("\u001b[");

    const config = /npx jumpgate ssh -F (\S+\/ssh_config) mcgonagall hostname$/m.exec(out)?.[1];
    expect(config).toBeDefined();
    const labDir = dirname(config as string);
    expect(existsSync(labDir)).toBe(true);

    // While the demo is up, jumpgate's own ssh reaches mcgonagall with the printed config.
    const ssh = await jumpgate(["ssh", "-F", config as string, "mcgonagall", "hostname"]);
    expect(ssh.stderr).toBe("");
    expect(ssh.stdout).toBe("mcgonagall\n");
    expect(ssh.code).toBe(0);

    demo.child.kill("SIGINT");
    const r = await demo.done;
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("Lab stopped;");
    expect(r.code).toBe(0);
    expect(existsSync(labDir)).toBe(false);
  });
});
