/**
 * Harness for the ssh_config differential suite: runs `ssh -G` and `jumpgate config` with the same
 * arguments inside a private mount namespace in which /root (the passwd home OpenSSH uses for `~`
 * and ~/.ssh/config; it ignores $HOME) and /etc/ssh are replaced by a fixture's `home/` and `etc/`.
 *
 * Only test/e2e/config-differential.test.ts uses it.
 */
import { spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const FIXTURE_ROOT = join(REPO_ROOT, "test/fixtures/config");
export const JUMPGATE_BIN = join(REPO_ROOT, "bin/jumpgate.js");
export const JUMPGATE_BUILT = join(REPO_ROOT, "dist/cli/main.js");

/** Per-run time limit; `Match exec` runs a shell, everything else is instant. */
const RUN_TIMEOUT_MS = 20_000;

export type Expectation = "same" | "error";

export interface FixtureRun {
  /** Arguments after `ssh -G` / `jumpgate config`; relative paths are relative to the fixture dir. */
  args: string[];
  /** Extra environment variables for both commands (for `${VAR}` expansion and `Match exec`). */
  env?: Record<string, string>;
  /** Overrides the fixture's `expect` for this run. */
  expect?: Expectation;
}

export interface FixtureCase {
  name: string;
  dir: string;
  description: string;
  runs: FixtureRun[];
  expect: Expectation;
  /**
   * File modes to apply after copying the fixture (git keeps only the x bit), e.g.
   * `{ "home/.ssh/config": "664" }` to provoke OpenSSH's "Bad owner or permissions".
   */
  modes?: Record<string, string>;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function fail(file: string, message: string): never {
  throw new Error(`${file}: ${message}`);
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === "string")
  );
}

function isExpectation(value: unknown): value is Expectation {
  return value === "same" || value === "error";
}

/** Reads and validates every `NN-name/case.json` under the fixture root, sorted by name. */
export function loadFixtures(root: string = FIXTURE_ROOT): FixtureCase[] {
  const names = readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  return names.map((name) => {
    const dir = join(root, name);
    const file = join(dir, "case.json");
    if (!/^\d\d-[a-z0-9-]+$/.test(name)) fail(dir, "fixture directories are named NN-short-name");
    if (!existsSync(file)) fail(dir, "missing case.json");
    const raw: unknown = JSON.parse(readFileSync(file, "utf8"));
    if (typeof raw !== "object" || raw === null) fail(file, "not an object");
    const obj = raw as Record<string, unknown>;
    const known = new Set(["description", "runs", "expect", "modes"]);
    for (const key of Object.keys(obj)) if (!known.has(key)) fail(file, `unknown field "${key}"`);
    if (typeof obj.description !== "string" || obj.description === "") fail(file, "description required");
    if (!isExpectation(obj.expect)) fail(file, 'expect must be "same" or "error"');
    if (obj.modes !== undefined && !isStringRecord(obj.modes))
      fail(file, "modes must map paths to octal strings");
    if (!Array.isArray(obj.runs) || obj.runs.length === 0) fail(file, "runs must be a non-empty array");
    const runs = obj.runs.map((r: unknown, i: number): FixtureRun => {
      if (typeof r !== "object" || r === null) fail(file, `run ${i} is not an object`);
      const run = r as Record<string, unknown>;
      for (const key of Object.keys(run)) {
        if (!["args", "env", "expect"].includes(key)) fail(file, `run ${i}: unknown field "${key}"`);
      }
      if (!Array.isArray(run.args) || !run.args.every((a) => typeof a === "string")) {
        fail(file, `run ${i}: args must be an array of strings`);
      }
      if (run.env !== undefined && !isStringRecord(run.env))
        fail(file, `run ${i}: env must map names to strings`);
      if (run.expect !== undefined && !isExpectation(run.expect)) fail(file, `run ${i}: bad expect`);
      return {
        args: run.args as string[],
        ...(run.env === undefined ? {} : { env: run.env as Record<string, string> }),
        ...(run.expect === undefined ? {} : { expect: run.expect as Expectation }),
      };
    });
    return {
      name,
      dir,
      description: obj.description,
      runs,
      expect: obj.expect,
      ...(obj.modes === undefined ? {} : { modes: obj.modes as Record<string, string> }),
    };
  });
}

/** The fixed environment both programs see: ours, with the passwd user's name and a fixed agent path. */
export function baseEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const user = userInfo().username;
  return {
    ...process.env,
    USER: user,
    LOGNAME: user,
    SSH_AUTH_SOCK: "/tmp/jg-diff-agent.sock",
    ...extra,
  };
}

/**
 * A scratch copy of the fixture (so nothing can write into the repository and modes are exact),
 * plus the directories to mount on /root and /etc/ssh: the fixture's `home/` and `etc/`, or empty
 * directories when it has none.
 */
export interface Sandbox {
  cwd: string;
  home: string;
  etc: string;
  dispose(): void;
}

/** 0755 for directories, 0644 for files, whatever the checkout's umask was (OpenSSH checks config modes). */
function normalizeModes(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) normalizeModes(path);
    else if (entry.isFile()) chmodSync(path, 0o644);
  }
}

export function makeSandbox(fixture: FixtureCase): Sandbox {
  const top = mkdtempSync(join(tmpdir(), "jg-diff-"));
  const cwd = join(top, fixture.name);
  cpSync(fixture.dir, cwd, { recursive: true });
  normalizeModes(cwd);
  for (const [rel, mode] of Object.entries(fixture.modes ?? {}))
    chmodSync(join(cwd, rel), Number.parseInt(mode, 8));
  const pick = (sub: string): string => {
    const inFixture = join(cwd, sub);
    if (existsSync(inFixture)) return inFixture;
    const empty = join(top, `empty-${sub}`);
    mkdirSync(empty);
    return empty;
  };
  return {
    cwd,
    home: pick("home"),
    etc: pick("etc"),
    dispose: () => rmSync(top, { recursive: true, force: true }),
  };
}

const MOUNT_SCRIPT =
  'mount --bind "$1" "$2" && mount --bind "$3" /etc/ssh && cd "$4" && shift 4 && exec "$@"';

/** Runs `command` in a private mount namespace with the sandbox's home on the passwd home and etc on /etc/ssh. */
export function runIsolated(
  sandbox: Sandbox,
  command: string[],
  env: NodeJS.ProcessEnv,
  passwdHome: string = userInfo().homedir,
): Promise<RunResult> {
  const argv = [
    "--mount",
    "--propagation",
    "private",
    "sh",
    "-c",
    MOUNT_SCRIPT,
    "sh",
    sandbox.home,
    passwdHome,
    sandbox.etc,
    sandbox.cwd,
    ...command,
  ];
  return new Promise((resolvePromise, reject) => {
    const child = spawn("unshare", argv, { env, stdio: ["ignore", "pipe", "pipe"], timeout: RUN_TIMEOUT_MS });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolvePromise({
        code,
        signal,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      }),
    );
  });
}

export function sshCommand(args: string[]): string[] {
  return ["ssh", "-G", ...args];
}

/**
 * The jumpgate side: `node bin/jumpgate.js config <args>`, or `$JG_DIFF_JUMPGATE config <args>` when that
 * variable names another executable (a dev build, a wrapper, or a stub for testing the harness).
 */
export function jumpgateCommand(args: string[]): string[] {
  const override = process.env.JG_DIFF_JUMPGATE;
  if (override) return [override, "config", ...args];
  return [process.execPath, JUMPGATE_BIN, "config", ...args];
}

/** Whether the jumpgate side can run at all (the shim imports the built CLI). */
export function jumpgateMissing(): string | undefined {
  if (process.env.JG_DIFF_JUMPGATE) return undefined;
  if (existsSync(JUMPGATE_BUILT)) return undefined;
  return (
    `jumpgate CLI not built: ${JUMPGATE_BUILT} is missing (run \`npm run build\`), ` +
    "or set JG_DIFF_SSH_ONLY=1 to check the fixtures against ssh alone"
  );
}

/** The `line N` that an OpenSSH config error names (`file line N:` or `file: line N:`), if any. */
export function lineNumberIn(stderr: string): number | undefined {
  const m = /\bline (\d+)\b/.exec(stderr);
  return m ? Number(m[1]) : undefined;
}

/** ssh's stderr without the tty notice it prints when stdin is not a terminal. */
export function sshNoise(stderr: string): string {
  return stderr
    .split("\n")
    .filter((l) => !l.startsWith("Pseudo-terminal will not be allocated"))
    .join("\n")
    .trim();
}

/**
 * Why the suite cannot run here, or undefined when it can: needs root (for unshare + bind mounts),
 * ssh, unshare, a repository outside the passwd home, and a namespace that really hides /root.
 */
export function isolationProblem(): string | undefined {
  if (process.platform !== "linux") return `needs Linux mount namespaces (platform is ${process.platform})`;
  if (process.getuid?.() !== 0)
    return "needs root (unshare --mount and bind mounts over the passwd home and /etc/ssh)";
  const version = spawnSync("ssh", ["-V"], { encoding: "utf8" });
  if (version.error || version.status !== 0) return "OpenSSH `ssh` is not installed or not on PATH";
  const home = userInfo().homedir;
  if (REPO_ROOT === home || REPO_ROOT.startsWith(`${home}/`)) {
    return `the repository (${REPO_ROOT}) lies under the passwd home ${home}, which the suite mounts over`;
  }
  const top = mkdtempSync(join(tmpdir(), "jg-diff-probe-"));
  try {
    mkdirSync(join(top, "home/.ssh"), { recursive: true });
    mkdirSync(join(top, "etc"));
    writeFileSync(join(top, "home/.ssh/config"), "Host jg-isolation-probe\n  User isolation-probe-user\n");
    const probe = spawnSync(
      "unshare",
      [
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        MOUNT_SCRIPT,
        "sh",
        join(top, "home"),
        home,
        join(top, "etc"),
        top,
        "ssh",
        "-G",
        "jg-isolation-probe",
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: RUN_TIMEOUT_MS },
    );
    if (probe.error) return `unshare failed to start: ${probe.error.message}`;
    if (probe.status !== 0) return `unshare/mount isolation failed: ${probe.stderr.trim()}`;
    if (!probe.stdout.includes("\nuser isolation-probe-user\n")) {
      return "the mount namespace did not replace ~/.ssh/config as seen by ssh -G";
    }
    return undefined;
  } finally {
    rmSync(top, { recursive: true, force: true });
  }
}

/** `ssh -V` (it prints on stderr), for the suite's banner. */
export function sshVersion(): string {
  return spawnSync("ssh", ["-V"], { encoding: "utf8" }).stderr.trim();
}
