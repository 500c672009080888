/**
 * The test lab: real OpenSSH sshd servers on loopback, with generated keys, known_hosts and an
 * ssh_config that OpenSSH's own client accepts, so every e2e test can compare jumpgate with `ssh`.
 *
 * - startPlainServer(): one sshd on 127.0.0.1:<free port>.
 * - startBastionLab(): the seeds' topology. `jaguar` is the bastion; `mcgonagall` is reachable only
 *   through jaguar. As root on Linux each host gets its own network namespace and the only ways in
 *   are socat bridges over Unix sockets (no veth, no routable addresses). Elsewhere it falls back to
 *   two loopback sshds and says loudly that the topology is not enforced.
 *
 * Teardown kills every process the lab started, including sshd's per-connection children (they run
 * in their own sessions, so a process-group kill alone misses them), deletes the namespaces and the
 * temp dir. A process "exit" hook does the same synchronously if a test never called stop(), and
 * every lab start first reaps leftovers of labs whose owning process has died.
 */
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  accessSync,
  constants,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, it } from "vitest";
import {
  commandLine,
  descendantsOf,
  isAlive,
  killAllSync,
  type LabProcess,
  listPids,
  type RunOptions,
  type RunResult,
  runCommand,
  signal,
  spawnLogged,
  waitForDeath,
} from "./proc.js";
import { quoteConfigValue, renderSshdConfig } from "./sshd-config.js";

const execFileAsync = promisify(execFile);

/** Prefix of every namespace and temp dir a lab creates: `jg-<pid>-...` / `jg-lab-<pid>-...`. */
const NS_PREFIX = "jg-";
const DIR_PREFIX = "jg-lab-";
const READY_TIMEOUT_MS = 10_000;
const SERVICE_SCRIPT = fileURLToPath(new URL("./reply-after-eof-service.mjs", import.meta.url));

// ---------------------------------------------------------------------------------------------
// Public types

export type LabRequirement = "sshd" | "netns";
export type LabMode = "netns" | "loopback";

export interface Availability {
  ok: boolean;
  reason?: string;
}

export interface PlainServerOptions {
  /** Host alias in the generated ssh_config besides "127.0.0.1"; default "plain". */
  alias?: string;
}

export interface PlainServer {
  dir: string;
  /** Always "127.0.0.1"; the ssh_config also answers to `alias`. */
  host: string;
  port: number;
  alias: string;
  user: string;
  configPath: string;
  knownHostsPath: string;
  identityPath: string;
  sshdLog(): string;
  /** Pids of the processes the lab spawned (diagnostics and leak tests). */
  pids(): number[];
  stop(): Promise<void>;
}

export interface LabHost {
  /** Address and port as written in the lab's ssh_config and known_hosts. */
  host: string;
  port: number;
  sshdLog(): string;
}

export interface BastionLabOptions {
  /** "auto" (default): netns when possible, loopback otherwise. "netns" throws if impossible. */
  mode?: LabMode | "auto";
}

export interface BastionLab {
  mode: LabMode;
  dir: string;
  configPath: string;
  knownHostsPath: string;
  identityPath: string;
  user: string;
  jaguar: LabHost;
  mcgonagall: LabHost;
  /** The reply-after-EOF service, as seen from mcgonagall (use it via mcgonagall). */
  service: { host: string; port: number };
  /** Network namespaces owned by the lab (empty in loopback mode). */
  namespaces: readonly string[];
  pids(): number[];
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Programs and availability

interface Programs {
  sshd?: string;
  sshKeygen?: string;
  ssh?: string;
  ip?: string;
  socat?: string;
}

/** sshd and ip live in sbin, which is often missing from a non-root PATH. */
function findProgram(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter), "/usr/sbin", "/usr/local/sbin", "/sbin"];
  for (const dir of dirs) {
    if (dir === "") continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here; keep looking.
    }
  }
  return undefined;
}

let programsCache: Programs | undefined;
function programs(): Programs {
  programsCache ??= {
    sshd: findProgram("sshd"),
    sshKeygen: findProgram("ssh-keygen"),
    ssh: findProgram("ssh"),
    ip: findProgram("ip"),
    socat: findProgram("socat"),
  };
  return programsCache;
}

export type LabProgram = keyof Programs;

/** Absolute path of a program the lab uses; throws with an install hint when it is missing. */
export function labProgram(name: LabProgram): string {
  const found = programs()[name];
  if (found === undefined) throw new Error(`[jumpgate lab] ${name} not found (${sshdAvailability().reason})`);
  return found;
}
const need = labProgram;

/** sshd refuses to start (or even -t) as root without its privilege-separation directory. */
export function ensurePrivsepDir(): void {
  if (isRoot()) mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
}

const isRoot = (): boolean => process.getuid?.() === 0;

let netnsWorks: Availability | undefined;
/** `ip netns` needs root, /run/netns and a kernel that allows it (some containers do not). */
function probeNetns(ip: string): Availability {
  if (netnsWorks !== undefined) return netnsWorks;
  try {
    execFileSync(ip, ["netns", "list"], { stdio: ["ignore", "pipe", "pipe"] });
    netnsWorks = { ok: true };
  } catch (err) {
    netnsWorks = { ok: false, reason: `\`ip netns list\` failed: ${(err as Error).message.trim()}` };
  }
  return netnsWorks;
}

/**
 * Whether the lab can run. "sshd": sshd, ssh-keygen and ssh are installed. "netns": additionally
 * root, a working `ip netns` and socat, i.e. the topology can be enforced.
 */
export function sshdAvailability(requirement: LabRequirement = "sshd"): Availability {
  const p = programs();
  if (p.sshd === undefined)
    return { ok: false, reason: "sshd not found (Debian: apt-get install openssh-server)" };
  if (p.sshKeygen === undefined || p.ssh === undefined) {
    return { ok: false, reason: "ssh or ssh-keygen not found (Debian: apt-get install openssh-client)" };
  }
  if (requirement === "sshd") return { ok: true };
  if (process.platform !== "linux") return { ok: false, reason: "network namespaces need Linux" };
  if (!isRoot()) return { ok: false, reason: "network namespaces need root" };
  if (p.ip === undefined) return { ok: false, reason: "ip not found (Debian: apt-get install iproute2)" };
  if (p.socat === undefined) return { ok: false, reason: "socat not found (Debian: apt-get install socat)" };
  return probeNetns(p.ip);
}

// ---------------------------------------------------------------------------------------------
// Resource tracking and teardown

function namespacePids(ns: string): number[] {
  const ip = programs().ip;
  if (ip === undefined) return [];
  try {
    const out = execFileSync(ip, ["netns", "pids", ns], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    return out.split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return []; // Namespace already gone.
  }
}

/** Kills whatever still runs inside `ns`, then removes its name. Synchronous: usable in "exit". */
function deleteNamespaceSync(ns: string): void {
  const ip = programs().ip;
  if (ip === undefined) return;
  for (const pid of namespacePids(ns)) signal(pid, "SIGKILL");
  try {
    execFileSync(ip, ["netns", "del", ns], { stdio: "ignore" });
  } catch {
    // Already deleted.
  }
}

/** Everything one lab owns. stop() is idempotent; killSync() is the "exit"-hook variant. */
class LabResources {
  readonly processes: LabProcess[] = [];
  readonly namespaces: string[] = [];
  private readonly logSnapshots = new Map<string, string>();
  private stopping: Promise<void> | undefined;

  constructor(readonly dir: string) {
    liveLabs.add(this);
    installExitHook();
  }

  leaders(): number[] {
    return this.processes.map((p) => p.pid);
  }

  /** Group leaders' descendants (sshd connection children, socat forks) plus anything in our netns. */
  private victims(): number[] {
    const pids = new Set([...this.leaders(), ...descendantsOf(this.leaders())]);
    for (const ns of this.namespaces) for (const pid of namespacePids(ns)) pids.add(pid);
    return [...pids];
  }

  /** Reads a lab log; after stop() returns what it held at teardown, for failure messages. */
  readLog(logPath: string): string {
    const snap = this.logSnapshots.get(logPath);
    if (snap !== undefined) return snap;
    try {
      return readFileSync(logPath, "utf8");
    } catch {
      return "";
    }
  }

  stop(): Promise<void> {
    this.stopping ??= this.teardown();
    return this.stopping;
  }

  private async teardown(): Promise<void> {
    // Children first (sshd connection processes, socat forks, remote shells), while their parents
    // are alive to reap them; killing parents first leaves zombies for init to collect later.
    const leaders = this.leaders();
    await terminate(
      this.victims().filter((pid) => !leaders.includes(pid)),
      [],
    );
    // Then what we spawned (Node reaps those), plus anything forked in the meantime.
    await terminate(this.victims(), leaders);
    await Promise.all(this.processes.map((p) => p.exited));
    this.finish();
  }

  killSync(): void {
    killAllSync(this.leaders(), this.victims(), "SIGKILL");
    this.finish();
  }

  private finish(): void {
    for (const ns of this.namespaces) deleteNamespaceSync(ns);
    for (const p of this.processes) this.logSnapshots.set(p.logPath, this.readLog(p.logPath));
    if (process.env.JUMPGATE_LAB_KEEP === "1") {
      console.warn(`[jumpgate lab] JUMPGATE_LAB_KEEP=1: kept ${this.dir}`);
    } else {
      rmSync(this.dir, { recursive: true, force: true });
    }
    liveLabs.delete(this);
  }
}

/** SIGTERM, a short grace period, then SIGKILL for the stubborn. */
async function terminate(pids: readonly number[], groupLeaders: readonly number[]): Promise<void> {
  killAllSync(groupLeaders, pids, "SIGTERM");
  const survivors = await waitForDeath(pids, 1_000);
  if (survivors.length === 0) return;
  killAllSync(groupLeaders, survivors, "SIGKILL");
  await waitForDeath(survivors, 2_000);
}

const liveLabs = new Set<LabResources>();
let exitHookInstalled = false;

function killLiveLabsSync(): void {
  for (const lab of [...liveLabs]) lab.killSync();
}

/**
 * Safety net: a failed beforeAll or a forgotten stop() must not leave sshd or namespaces behind.
 * "exit" covers a normal end; vitest ends its fork workers with SIGTERM, which skips "exit", so the
 * usual termination signals clean up too and then re-raise so the default action still happens.
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", killLiveLabsSync);
  for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    const onSignal = (): void => {
      killLiveLabsSync();
      process.off(sig, onSignal);
      // Other listeners own the exit decision; alone, restore the default action (terminate).
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

/**
 * Reaps what labs of dead processes left behind (a SIGKILLed test worker never runs "exit"
 * hooks): namespaces `jg-<pid>-*` and temp dirs `jg-lab-<pid>-*` whose pid is gone, plus every
 * process still running inside those namespaces or referring to those dirs.
 */
function cleanStaleLabs(): void {
  const stalePid = (text: string): boolean => !isAlive(Number(text));
  const ip = programs().ip;
  if (ip !== undefined && isRoot() && probeNetns(ip).ok) {
    const listed = execFileSync(ip, ["netns", "list"], { encoding: "utf8" });
    for (const line of listed.split("\n")) {
      const ns = line.split(" ")[0] ?? "";
      const m = new RegExp(`^${NS_PREFIX}(\\d+)-[0-9a-f]+-`).exec(ns);
      if (m?.[1] !== undefined && stalePid(m[1])) deleteNamespaceSync(ns);
    }
  }
  const tmp = os.tmpdir();
  for (const entry of readdirSync(tmp)) {
    const m = new RegExp(`^${DIR_PREFIX}(\\d+)-`).exec(entry);
    if (m?.[1] === undefined || !stalePid(m[1])) continue;
    const dir = path.join(tmp, entry);
    for (const pid of listPids()) if (commandLine(pid).includes(dir)) signal(pid, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function makeLabDir(): string {
  // mkdtemp creates the dir 0700, so keys inside are private to us from the start.
  return mkdtempSync(path.join(os.tmpdir(), `${DIR_PREFIX}${process.pid}-`));
}

function writePrivate(file: string, text: string): void {
  // ssh refuses configs and keys that others can write; 0600 satisfies every check.
  writeFileSync(file, text, { mode: 0o600 });
}

function tail(text: string, lines = 40): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** Runs `command args` inside `ns` when given (`ip netns exec` execs in place, so the pid is kept). */
function inNamespace(ns: string | undefined, command: string, args: string[]): [string, string[]] {
  return ns === undefined ? [command, args] : [need("ip"), ["netns", "exec", ns, command, ...args]];
}

/** A port that was free a moment ago; callers retry if they lose the race. */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === "object") resolve(address.port);
        else reject(new Error("no port from listen(0)"));
      });
    });
  });
}

function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** OpenSSH writes the default port bare and any other one as "[host]:port". */
function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

type WaitOutcome = "ready" | "exited" | "timeout";

/** Polls the process's log for `pattern`; cheap and race-free compared with parsing a pipe. */
async function waitForLog(
  proc: LabProcess,
  pattern: RegExp,
  timeoutMs = READY_TIMEOUT_MS,
): Promise<WaitOutcome> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ready = pattern.test(readLogFile(proc.logPath));
    if (ready) return "ready";
    if (proc.hasExited()) return "exited";
    if (Date.now() > deadline) return "timeout";
    await sleep(10);
  }
}

function readLogFile(logPath: string): string {
  try {
    return readFileSync(logPath, "utf8");
  } catch {
    return "";
  }
}

/**
 * Promise.all that waits for every launch to settle before rejecting, so teardown after a failure
 * sees every process that was spawned (a still-running sibling would otherwise leak).
 */
async function settleAll<T extends readonly unknown[] | []>(
  promises: T,
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const results = await Promise.allSettled(promises as readonly unknown[]);
  for (const r of results) if (r.status === "rejected") throw r.reason;
  return Promise.all(promises);
}

/** Stops one process that failed to start, so the retry or the error leaves nothing behind. */
async function discard(res: LabResources, proc: LabProcess): Promise<void> {
  signal(-proc.pid, "SIGKILL");
  await proc.exited;
  res.processes.splice(res.processes.indexOf(proc), 1);
}

// ---------------------------------------------------------------------------------------------
// Keys and servers

async function keygen(keyPath: string, comment: string): Promise<string> {
  await execFileAsync(need("sshKeygen"), ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", keyPath]);
  return readFileSync(`${keyPath}.pub`, "utf8").trim();
}

interface UserKey {
  identityPath: string;
  authorizedKeysPath: string;
}

/** One passphrase-less user key, authorized on every server of the lab. */
async function createUserKey(dir: string): Promise<UserKey> {
  const identityPath = path.join(dir, "id_ed25519");
  const publicKey = await keygen(identityPath, "jumpgate-lab-user");
  const authorizedKeysPath = path.join(dir, "authorized_keys");
  writePrivate(authorizedKeysPath, `${publicKey}\n`);
  return { identityPath, authorizedKeysPath };
}

interface ServerFiles {
  name: string;
  hostKeyPath: string;
  /** "ssh-ed25519 AAAA..." without the comment. */
  hostPublicKey: string;
  configPath: string;
  logPath: string;
  pidFilePath: string;
}

async function prepareServer(dir: string, name: string): Promise<ServerFiles> {
  const serverDir = path.join(dir, name);
  mkdirSync(serverDir, { mode: 0o700 });
  const hostKeyPath = path.join(serverDir, "ssh_host_ed25519_key");
  const publicKey = await keygen(hostKeyPath, `${name}-host`);
  return {
    name,
    hostKeyPath,
    hostPublicKey: publicKey.split(" ").slice(0, 2).join(" "),
    configPath: path.join(serverDir, "sshd_config"),
    logPath: path.join(serverDir, "sshd.log"),
    pidFilePath: path.join(serverDir, "sshd.pid"),
  };
}

interface SshdLaunch {
  files: ServerFiles;
  listenHost: string;
  listenPort: number;
  authorizedKeysPath: string;
  netns?: string;
}

/** Starts sshd in the foreground and waits for "Server listening"; throws with log and `sshd -t`. */
async function launchSshd(res: LabResources, l: SshdLaunch): Promise<LabProcess> {
  const sshd = need("sshd");
  ensurePrivsepDir();
  writePrivate(
    l.files.configPath,
    renderSshdConfig({
      listenHost: l.listenHost,
      listenPort: l.listenPort,
      hostKeyPath: l.files.hostKeyPath,
      authorizedKeysPath: l.authorizedKeysPath,
      pidFilePath: l.files.pidFilePath,
      // Lets a test prove where a command really ran.
      setEnv: { JG_LAB_HOST: l.files.name },
    }),
  );
  writePrivate(l.files.logPath, "");
  // -D: stay in the foreground (we own the pid); -e plus -E: all logging goes to the file.
  const [cmd, args] = inNamespace(l.netns, sshd, [
    "-D",
    "-e",
    "-f",
    l.files.configPath,
    "-E",
    l.files.logPath,
  ]);
  const proc = spawnLogged(`${l.files.name} sshd`, cmd, args, l.files.logPath);
  res.processes.push(proc);
  // sshd logs "Server listening" after listen(), so the port accepts from then on. A TCP probe would
  // add a "Connection from" line that tests counting jaguar's connections would have to discount.
  const outcome = await waitForLog(proc, /Server listening on/);
  if (outcome === "ready") return proc;
  const log = readLogFile(l.files.logPath);
  await discard(res, proc);
  throw new SshdStartError(l, outcome, log, await validateSshdConfig(l.files.configPath));
}

class SshdStartError extends Error {
  constructor(
    readonly launch: SshdLaunch,
    readonly outcome: WaitOutcome,
    readonly log: string,
    validation: string,
  ) {
    const where = `${launch.listenHost}:${launch.listenPort}${launch.netns ? ` in netns ${launch.netns}` : ""}`;
    super(
      `[jumpgate lab] ${launch.files.name} sshd on ${where} ${outcome === "timeout" ? "did not report ready" : "exited"} ` +
        `(waited for "Server listening" in ${launch.files.logPath}).\n--- sshd log ---\n${tail(log)}\n` +
        `--- sshd -t -f ${launch.files.configPath} ---\n${validation}\n` +
        "(JUMPGATE_LAB_KEEP=1 keeps the lab dir for inspection.)",
    );
  }

  get portTaken(): boolean {
    return this.log.includes("Address already in use");
  }
}

async function validateSshdConfig(configPath: string): Promise<string> {
  const r = await runCommand(need("sshd"), ["-t", "-f", configPath], { timeoutMs: 5_000 });
  return r.code === 0 ? "(config is valid)" : `exit ${r.code}: ${r.stderr.trim()}`;
}

/** Root-namespace listeners race other tests for ports: retry a few times with a fresh one. */
async function launchSshdOnFreePort(
  res: LabResources,
  l: Omit<SshdLaunch, "listenPort">,
): Promise<{ proc: LabProcess; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort(l.listenHost);
    try {
      return { proc: await launchSshd(res, { ...l, listenPort: port }), port };
    } catch (err) {
      if (!(err instanceof SshdStartError && err.portTaken && attempt < 3)) throw err;
    }
  }
}

/** socat -d -d logs "listening on" once its listener is bound. */
async function launchSocat(
  res: LabResources,
  name: string,
  args: string[],
  netns?: string,
): Promise<LabProcess> {
  const logPath = path.join(res.dir, `socat-${name.replaceAll(/[^a-z0-9]+/gi, "-")}.log`);
  writePrivate(logPath, "");
  const [cmd, cmdArgs] = inNamespace(netns, need("socat"), ["-d", "-d", ...args]);
  const proc = spawnLogged(`socat ${name}`, cmd, cmdArgs, logPath);
  res.processes.push(proc);
  const outcome = await waitForLog(proc, /listening on/);
  if (outcome === "ready") return proc;
  const log = readLogFile(logPath);
  await discard(res, proc);
  throw new Error(`[jumpgate lab] socat ${name} ${outcome} before listening (${logPath}):\n${tail(log)}`);
}

async function launchService(res: LabResources, host: string, port: number, netns?: string): Promise<void> {
  const logPath = path.join(res.dir, "service.log");
  writePrivate(logPath, "");
  const [cmd, args] = inNamespace(netns, process.execPath, [SERVICE_SCRIPT, host, String(port)]);
  const proc = spawnLogged("reply-after-eof service", cmd, args, logPath);
  res.processes.push(proc);
  const outcome = await waitForLog(proc, /listening on/);
  if (outcome !== "ready") {
    throw new Error(
      `[jumpgate lab] service on ${host}:${port} ${outcome} (${logPath}):\n${tail(readLogFile(logPath))}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Client-side files

interface HostBlock {
  patterns: string;
  options: [string, string | number][];
}

function renderSshConfig(blocks: HostBlock[]): string {
  const out = ["# Generated by test/support/lab.ts. Absolute paths only: ProxyJump re-reads this file."];
  for (const b of blocks) {
    out.push(`Host ${b.patterns}`);
    for (const [key, value] of b.options) out.push(`  ${key} ${quoteConfigValue(String(value))}`);
  }
  return `${out.join("\n")}\n`;
}

/** Settings every lab host shares: our key only, our known_hosts only, never prompt. */
function commonClientOptions(
  user: string,
  key: UserKey,
  knownHostsPath: string,
): [string, string | number][] {
  return [
    ["User", user],
    ["IdentityFile", key.identityPath],
    ["IdentitiesOnly", "yes"],
    ["IdentityAgent", "none"],
    ["UserKnownHostsFile", knownHostsPath],
    ["GlobalKnownHostsFile", "/dev/null"],
    ["StrictHostKeyChecking", "yes"],
    ["BatchMode", "yes"],
    ["ConnectTimeout", 5],
  ];
}

function requireSshd(): void {
  const a = sshdAvailability("sshd");
  if (!a.ok) throw new Error(`[jumpgate lab] cannot start sshd: ${a.reason}`);
}

// ---------------------------------------------------------------------------------------------
// Plain server

export async function startPlainServer(opts: PlainServerOptions = {}): Promise<PlainServer> {
  requireSshd();
  cleanStaleLabs();
  const alias = opts.alias ?? "plain";
  const dir = makeLabDir();
  const res = new LabResources(dir);
  try {
    const user = os.userInfo().username;
    const [key, files] = await Promise.all([createUserKey(dir), prepareServer(dir, alias)]);
    const host = "127.0.0.1";
    const { port } = await launchSshdOnFreePort(res, {
      files,
      listenHost: host,
      authorizedKeysPath: key.authorizedKeysPath,
    });
    const knownHostsPath = path.join(dir, "known_hosts");
    writePrivate(knownHostsPath, `${knownHostsName(host, port)} ${files.hostPublicKey}\n`);
    const configPath = path.join(dir, "ssh_config");
    writePrivate(
      configPath,
      renderSshConfig([
        {
          patterns: `${alias} ${host}`,
          options: [["HostName", host], ["Port", port], ...commonClientOptions(user, key, knownHostsPath)],
        },
      ]),
    );
    return {
      dir,
      host,
      port,
      alias,
      user,
      configPath,
      knownHostsPath,
      identityPath: key.identityPath,
      sshdLog: () => res.readLog(files.logPath),
      pids: () => res.leaders(),
      stop: () => res.stop(),
    };
  } catch (err) {
    await res.stop();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Bastion lab

const SERVICE_PORT = 12345;

interface Topology {
  jaguar: { host: string; port: number };
  mcgonagall: { host: string; port: number };
  service: { host: string; port: number };
}

interface TopologyInput {
  res: LabResources;
  key: UserKey;
  jaguar: ServerFiles;
  mcgonagall: ServerFiles;
}

let warnedLoopback = false;

function chooseMode(requested: LabMode | "auto"): LabMode {
  const netns = sshdAvailability("netns");
  if (requested === "netns" && !netns.ok) {
    throw new Error(`[jumpgate lab] netns mode requested but unavailable: ${netns.reason}`);
  }
  if (requested === "loopback" || !netns.ok) {
    if (requested === "auto" && !warnedLoopback) {
      warnedLoopback = true; // One line per process is loud enough; every lab would be noise.
      console.warn(
        `[jumpgate e2e] WARNING: bastion topology NOT ENFORCED (loopback mode: ${netns.reason}); ` +
          `mcgonagall is directly reachable and unreachability checks are skipped. To enforce it: ${installHint("netns")}`,
      );
    }
    return "loopback";
  }
  return "netns";
}

/**
 * mcgonagall's address as the client sees it. 127.0.0.2:22 inside jaguar's namespace, chosen so that
 * in the root namespace it must refuse; if something there already owns that address (or a wildcard
 * listener on 22 would answer), use another port on 127.0.0.2 in both places instead.
 */
async function chooseMcgonagallAddress(): Promise<{ host: string; port: number }> {
  const host = "127.0.0.2";
  if (await canBind(host, 22)) return { host, port: 22 };
  return { host, port: await freePort(host) };
}

function createNamespace(res: LabResources, ns: string): void {
  const ip = need("ip");
  execFileSync(ip, ["netns", "add", ns], { stdio: ["ignore", "pipe", "pipe"] });
  res.namespaces.push(ns);
  // A fresh namespace has only a down loopback device; 127.0.0.0/8 appears once it is up.
  execFileSync(ip, ["-n", ns, "link", "set", "lo", "up"], { stdio: ["ignore", "pipe", "pipe"] });
}

/**
 * root ns                 jaguar ns                                  mcgonagall ns
 * 127.0.0.1:<bridge> -> jaguar.sock -> 127.0.0.1:22 (sshd)
 *                        127.0.0.2:22 -> mcgonagall.sock -> 127.0.0.1:22 (sshd)
 *                                                              127.0.0.1:12345 (service)
 * Unix sockets are filesystem objects, so they cross namespaces without any network device.
 */
async function startNetnsTopology(t: TopologyInput): Promise<Topology> {
  const tag = `${NS_PREFIX}${process.pid}-${randomBytes(3).toString("hex")}`;
  const jaguarNs = `${tag}-jaguar`;
  const mcgNs = `${tag}-mcg`;
  createNamespace(t.res, jaguarNs);
  createNamespace(t.res, mcgNs);
  const mcgonagall = await chooseMcgonagallAddress();
  const common = { listenHost: "127.0.0.1", listenPort: 22, authorizedKeysPath: t.key.authorizedKeysPath };
  await settleAll([
    launchSshd(t.res, { ...common, files: t.jaguar, netns: jaguarNs }),
    launchSshd(t.res, { ...common, files: t.mcgonagall, netns: mcgNs }),
    launchService(t.res, "127.0.0.1", SERVICE_PORT, mcgNs),
  ]);
  const jaguarSock = path.join(t.res.dir, "jaguar.sock");
  const mcgSock = path.join(t.res.dir, "mcgonagall.sock");
  const unixListen = (sock: string): string => `UNIX-LISTEN:${sock},fork,unlink-early,mode=600`;
  // Inner hops first, so no listener ever forwards into a socket that does not exist yet.
  await settleAll([
    launchSocat(t.res, "mcgonagall-unix-to-sshd", [unixListen(mcgSock), "TCP:127.0.0.1:22,nodelay"], mcgNs),
    launchSocat(t.res, "jaguar-unix-to-sshd", [unixListen(jaguarSock), "TCP:127.0.0.1:22,nodelay"], jaguarNs),
  ]);
  await launchSocat(
    t.res,
    "jaguar-to-mcgonagall",
    [
      `TCP-LISTEN:${mcgonagall.port},bind=${mcgonagall.host},reuseaddr,fork,nodelay`,
      `UNIX-CONNECT:${mcgSock}`,
    ],
    jaguarNs,
  );
  const bridgePort = await launchRootBridge(t.res, jaguarSock);
  return {
    jaguar: { host: "127.0.0.1", port: bridgePort },
    mcgonagall,
    service: { host: "127.0.0.1", port: SERVICE_PORT },
  };
}

/** The client's only way in: 127.0.0.1:<free port> in the root namespace -> jaguar's socket. */
async function launchRootBridge(res: LabResources, jaguarSock: string): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort("127.0.0.1");
    try {
      await launchSocat(res, "client-to-jaguar", [
        `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork,nodelay`,
        `UNIX-CONNECT:${jaguarSock}`,
      ]);
      return port;
    } catch (err) {
      if (attempt >= 3 || !String(err).includes("Address already in use")) throw err;
    }
  }
}

/** No isolation: two sshds and the service on 127.0.0.1 free ports (macOS, non-root, containers). */
async function startLoopbackTopology(t: TopologyInput): Promise<Topology> {
  const common = { listenHost: "127.0.0.1", authorizedKeysPath: t.key.authorizedKeysPath };
  const [jaguar, mcgonagall, servicePort] = await settleAll([
    launchSshdOnFreePort(t.res, { ...common, files: t.jaguar }),
    launchSshdOnFreePort(t.res, { ...common, files: t.mcgonagall }),
    freePort("127.0.0.1"),
  ]);
  await launchService(t.res, "127.0.0.1", servicePort);
  return {
    jaguar: { host: "127.0.0.1", port: jaguar.port },
    mcgonagall: { host: "127.0.0.1", port: mcgonagall.port },
    service: { host: "127.0.0.1", port: servicePort },
  };
}

function writeBastionClientFiles(
  dir: string,
  user: string,
  key: UserKey,
  files: TopologyInput,
  topo: Topology,
) {
  const knownHostsPath = path.join(dir, "known_hosts");
  writePrivate(
    knownHostsPath,
    `${knownHostsName(topo.jaguar.host, topo.jaguar.port)} ${files.jaguar.hostPublicKey}\n` +
      `${knownHostsName(topo.mcgonagall.host, topo.mcgonagall.port)} ${files.mcgonagall.hostPublicKey}\n`,
  );
  const configPath = path.join(dir, "ssh_config");
  writePrivate(
    configPath,
    renderSshConfig([
      {
        patterns: "jaguar",
        options: [
          ["HostName", topo.jaguar.host],
          ["Port", topo.jaguar.port],
        ],
      },
      {
        patterns: "mcgonagall",
        options: [
          ["HostName", topo.mcgonagall.host],
          ["Port", topo.mcgonagall.port],
          ["ProxyJump", "jaguar"],
        ],
      },
      { patterns: "*", options: commonClientOptions(user, key, knownHostsPath) },
    ]),
  );
  return { knownHostsPath, configPath };
}

export async function startBastionLab(opts: BastionLabOptions = {}): Promise<BastionLab> {
  requireSshd();
  cleanStaleLabs();
  const mode = chooseMode(opts.mode ?? "auto");
  const dir = makeLabDir();
  const res = new LabResources(dir);
  try {
    const user = os.userInfo().username;
    const [key, jaguar, mcgonagall] = await Promise.all([
      createUserKey(dir),
      prepareServer(dir, "jaguar"),
      prepareServer(dir, "mcgonagall"),
    ]);
    const input: TopologyInput = { res, key, jaguar, mcgonagall };
    const topo = mode === "netns" ? await startNetnsTopology(input) : await startLoopbackTopology(input);
    const { knownHostsPath, configPath } = writeBastionClientFiles(dir, user, key, input, topo);
    return {
      mode,
      dir,
      configPath,
      knownHostsPath,
      identityPath: key.identityPath,
      user,
      jaguar: { ...topo.jaguar, sshdLog: () => res.readLog(jaguar.logPath) },
      mcgonagall: { ...topo.mcgonagall, sshdLog: () => res.readLog(mcgonagall.logPath) },
      service: topo.service,
      namespaces: [...res.namespaces],
      pids: () => res.leaders(),
      stop: () => res.stop(),
    };
  } catch (err) {
    await res.stop();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Test helpers

/** Runs OpenSSH's `ssh -F <configPath> ...args`; resolves with exit code and output, never rejects on failure. */
export function runSsh(
  configPath: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  return runCommand(need("ssh"), ["-F", configPath, ...args], opts);
}

const inCI = (): boolean => process.env.CI === "true";

function installHint(requirement: LabRequirement): string {
  return requirement === "netns"
    ? "apt-get install openssh-server openssh-client iproute2 socat, then run the tests as root"
    : "apt-get install openssh-server openssh-client";
}

/**
 * describe() for suites that need real sshd. Missing programs fail loudly in CI (no e2e may skip
 * there) and skip loudly elsewhere. "netns" suites still run without root, in loopback mode; guard
 * their unreachability assertions with requireNetns().
 */
export function describeE2E(name: string, requirement: LabRequirement, fn: () => void): void {
  const availability = sshdAvailability("sshd");
  if (availability.ok) {
    describe(name, fn);
    return;
  }
  const reason = availability.reason ?? "sshd unavailable";
  if (inCI()) {
    describe(name, () => {
      it("has what the e2e suite needs", () => {
        throw new Error(
          `[jumpgate e2e] ${name} cannot run in CI: ${reason}. Install: ${installHint(requirement)}`,
        );
      });
    });
    return;
  }
  console.warn(
    `[jumpgate e2e] SKIPPED ${name}: ${reason}; install openssh-server (and run as root for netns)`,
  );
  describe.skip(name, fn);
}

/**
 * Guard for assertions that only hold when the topology is enforced (e.g. "mcgonagall refuses direct
 * connections"). Returns true in netns mode. In loopback mode it warns loudly and returns false, or
 * throws in CI, where such a check must not silently disappear.
 */
export function requireNetns(lab: Pick<BastionLab, "mode">, what: string): boolean {
  if (lab.mode === "netns") return true;
  const message = `[jumpgate e2e] NOT CHECKED (loopback mode, topology not enforced): ${what}. To check it: ${installHint("netns")}`;
  if (inCI()) throw new Error(message);
  console.warn(message);
  return false;
}
