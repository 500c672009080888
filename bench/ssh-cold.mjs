#!/usr/bin/env node
// Benchmark: a cold `jumpgate ssh mcgonagall true` through the bastion jaguar against OpenSSH's
// `ssh mcgonagall true`, side by side in one run, on the same two real sshd servers and the same
// ssh_config. "Cold" = a new client process per run, no shared connection (no ControlMaster, no
// jumpgate pool): what a script or a user typing the command pays every time.
// Also timed, to see where the time goes: the single hop `jaguar true`, bare start-up
// (`jumpgate --version`, `ssh -V`), time to first byte of `echo ok`, and jumpgate's phases measured
// inside the process (the probe below).
// Usage: node bench/ssh-cold.mjs [--runs 15]   (needs dist/: npx tsc -p tsconfig.build.json)
import { execFileSync, spawn, spawnSync } from "node:child_process";
import {
  accessSync,
  chmodSync,
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
import { delimiter, join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

const JUMPGATE = fileURLToPath(new URL("../bin/jumpgate.js", import.meta.url));
const DIST = new URL("../dist/", import.meta.url).href;
const NODE = process.execPath;
/** One pinned suite for every client and server, so both clients do exactly the same crypto. */
const CRYPTO = {
  Ciphers: "aes128-gcm@openssh.com",
  KexAlgorithms: "curve25519-sha256",
  HostKeyAlgorithms: "ssh-ed25519",
};
const RUN_TIMEOUT_MS = 30_000;
const READY_TIMEOUT_MS = 10_000;

// ---------------------------------------------------------------------------------------------
// The probe: one `jumpgate ssh <dest> <command>` done in-process with dist/'s modules, timing each
// phase from the start of the Node process (performance.now() counts from the process's origin).
// It does what src/cli/ssh/main.ts does for a non-tty command, with the same manager and security.
// It runs as `node --input-type=module -e <its source>`, so that nothing of this file (its own
// imports) is loaded before its first line: the first phase is Node's own start-up.

async function probe(dist, configFile, dest, command) {
  const marks = [["Node start-up (to the first line of a script)", performance.now()]];
  const mark = (name) => marks.push([name, performance.now()]);
  await import(`${dist}cli/main.js`);
  mark("load CLI (commander, config)");
  const { resolve, resolveHops } = await import(`${dist}config/resolve.js`);
  await import(`${dist}cli/ssh/main.js`);
  const { ConnectionManager } = await import(`${dist}connection/manager.js`);
  const { createSecurity } = await import(`${dist}connection/security.js`);
  const { createLogger } = await import(`${dist}util/log.js`);
  mark("load ssh2 + connection layer");
  const request = { items: [{ kind: "destination", value: dest }], configFile };
  const resolved = resolve(request);
  const hops = resolveHops(request, resolved);
  mark("resolve config + route");
  const log = createLogger("ERROR");
  const manager = new ConnectionManager({
    security: createSecurity({ log, batchMode: resolved.options.batchMode === 1 }),
    log,
    idleTimeout: 0,
  });
  manager.on((event) => {
    if (event.kind === "ready") mark(`${event.hop}: connect + handshake + auth`);
  });
  try {
    const lease = await manager.acquire(hops);
    const opened = await lease.session.exec(command);
    // exec() resolves with the channel, or with { channel, done } once the outcome is captured early.
    const channel = opened.done instanceof Promise ? opened.channel : opened;
    mark("exec request accepted");
    channel.resume();
    channel.stderr.resume();
    await new Promise((done) => channel.on("close", done));
    mark("command done (channel closed)");
    lease.release();
  } finally {
    await manager.close();
  }
  mark("close requested");
  process.stdout.write(`${JSON.stringify({ marks })}\n`);
}

const PROBE_SOURCE = `await (${probe.toString()})(...process.argv.slice(1, 4), process.argv.slice(4).join(" "));`;

// ---------------------------------------------------------------------------------------------
// Helpers

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Nearest-rank 90th percentile. */
function p90(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(sorted.length * 0.9) - 1)];
}

const ms = (v) => v.toFixed(1);

/** sshd lives in sbin, often missing from PATH. */
function findProgram(name) {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin", "/sbin"];
  for (const dir of dirs) {
    if (dir === "") continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // Not here.
    }
  }
  throw new Error(`${name} not found (Debian: apt-get install openssh-client openssh-server)`);
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

function readText(file) {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

function machineInfo(ssh) {
  const cpus = os.cpus();
  const osRelease = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readText("/etc/os-release"))?.[1] ?? os.type();
  // `ssh -V` prints on stderr.
  const sshVersion = spawnSync(ssh, ["-V"], { encoding: "utf8" }).stderr.trim();
  return [
    `CPU: ${cpus[0]?.model ?? "unknown"}, ${cpus.length} cores; RAM ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `OS: ${osRelease}, kernel ${os.release()}; Node.js ${process.version}; ${sshVersion}`,
  ];
}

// ---------------------------------------------------------------------------------------------
// Everything the benchmark starts, and its teardown (normal end, error, SIGINT/SIGTERM/SIGHUP)

const owned = { dir: null, servers: [], client: null };

/** Descendants of `roots` (sshd's per-connection processes, the remote shells), via /proc. */
function descendantsOf(roots) {
  if (process.platform !== "linux") return [];
  const children = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readText(`/proc/${name}/stat`);
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(name));
  }
  const out = [];
  const queue = [...roots];
  while (queue.length > 0 && out.length < 10_000) {
    for (const child of children.get(queue.shift()) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

function kill(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

/** Synchronous, so that it also works from the "exit" hook. */
function teardownSync() {
  if (owned.client?.exitCode === null) kill(owned.client.pid, "SIGKILL");
  const leaders = owned.servers.filter((s) => s.exitCode === null).map((s) => s.pid);
  for (const pid of descendantsOf(leaders)) kill(pid, "SIGKILL");
  for (const pid of leaders) kill(pid, "SIGKILL");
  owned.servers = [];
  if (owned.dir !== null) rmSync(owned.dir, { recursive: true, force: true });
  owned.dir = null;
}

/** Polite version for a normal end: children first, then sshd with SIGTERM, SIGKILL if it lingers. */
async function teardown() {
  const servers = owned.servers.filter((s) => s.exitCode === null);
  for (const pid of descendantsOf(servers.map((s) => s.pid))) kill(pid, "SIGKILL");
  for (const s of servers) kill(s.pid, "SIGTERM");
  const deadline = Date.now() + 2_000;
  while (servers.some((s) => s.exitCode === null && s.signalCode === null) && Date.now() < deadline) {
    await sleep(20);
  }
  teardownSync();
}

function installTeardownHooks() {
  process.on("exit", teardownSync);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.once(sig, () => {
      console.error(`\nssh-cold: ${sig}: stopping the sshd servers, removing the temp dir`);
      teardownSync();
      process.exit(128 + os.constants.signals[sig]);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// The two servers and the client files

function keygen(sshKeygen, path, comment) {
  execFileSync(sshKeygen, ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path], { stdio: "ignore" });
  return readFileSync(`${path}.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ");
}

/** ssh_config and sshd_config values split on whitespace: quote a path that has some. */
const q = (value) => (/[\s"]/.test(value) ? `"${value.replaceAll('"', '\\"')}"` : value);

/** The lab's sshd settings (test/support/sshd-config.ts), plus the pinned crypto. */
function sshdConfig(s, port, authorizedKeys) {
  return `${[
    `ListenAddress 127.0.0.1:${port}`,
    `HostKey ${q(s.hostKey)}`,
    `PidFile ${q(join(s.dir, "sshd.pid"))}`,
    `AuthorizedKeysFile ${q(authorizedKeys)}`,
    "PermitRootLogin prohibit-password",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PubkeyAuthentication yes",
    "StrictModes no",
    "AllowTcpForwarding yes",
    "AllowStreamLocalForwarding yes",
    "GatewayPorts no",
    "AllowAgentForwarding yes",
    "PermitTunnel no",
    "X11Forwarding no",
    "UsePAM no",
    "MaxStartups 100",
    "MaxSessions 100",
    "Subsystem sftp internal-sftp",
    "LogLevel VERBOSE",
    ...Object.entries(CRYPTO).map(([k, v]) => `${k} ${v}`),
    // sshd runs every command as `$SHELL -c command`; bash then sources ~/.bashrc because it sees
    // SSH_CLIENT, unless it is not a top-level shell. The benchmarking user's ~/.bashrc (pyenv,
    // conda, nvm...) is not what is compared here, and can cost more than both clients together.
    "SetEnv SHLVL=1",
  ].join("\n")}\n`;
}

/** sshd -D -e on a free loopback port; waits for "Server listening" (retries a taken port). */
async function startSshd(sshd, s, authorizedKeys) {
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    writeFileSync(s.config, sshdConfig(s, port, authorizedKeys), { mode: 0o600 });
    writeFileSync(s.log, "", { mode: 0o600 });
    const proc = spawn(sshd, ["-D", "-e", "-f", s.config, "-E", s.log], { stdio: "ignore" });
    owned.servers.push(proc);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline && proc.exitCode === null && !/Server listening on/.test(readText(s.log))) {
      await sleep(10);
    }
    if (/Server listening on/.test(readText(s.log))) return port;
    kill(proc.pid, "SIGKILL");
    if (!readText(s.log).includes("Address already in use")) {
      throw new Error(`${s.name} sshd did not start on 127.0.0.1:${port}:\n${readText(s.log)}`);
    }
  }
  throw new Error(`${s.name} sshd: no free port after 3 attempts`);
}

async function setUp() {
  const sshd = findProgram("sshd");
  const sshKeygen = findProgram("ssh-keygen");
  // OpenSSH's ProxyJump passes `-F <config>` to the inner ssh through a shell, unquoted.
  const base = /\s/.test(os.tmpdir()) ? "/tmp" : os.tmpdir();
  owned.dir = mkdtempSync(join(base, "jg-bench-ssh-"));
  chmodSync(owned.dir, 0o700);
  const dir = owned.dir;
  // sshd refuses to start as root without its privilege-separation directory.
  if (process.getuid?.() === 0) mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const identity = join(dir, "id_ed25519");
  const authorizedKeys = join(dir, "authorized_keys");
  writeFileSync(authorizedKeys, `${keygen(sshKeygen, identity, "jumpgate-bench-user")}\n`, { mode: 0o600 });
  const servers = ["jaguar", "mcgonagall"].map((name) => {
    const sdir = join(dir, name);
    mkdirSync(sdir, { mode: 0o700 });
    const s = {
      name,
      dir: sdir,
      hostKey: join(sdir, "ssh_host_ed25519_key"),
      config: join(sdir, "sshd_config"),
      log: join(sdir, "sshd.log"),
    };
    s.publicKey = keygen(sshKeygen, s.hostKey, `${name}-host`);
    return s;
  });
  for (const s of servers) s.port = await startSshd(sshd, s, authorizedKeys);
  const [jaguar, mcgonagall] = servers;
  const knownHosts = join(dir, "known_hosts");
  writeFileSync(knownHosts, servers.map((s) => `[127.0.0.1]:${s.port} ${s.publicKey}\n`).join(""), {
    mode: 0o600,
  });
  const config = join(dir, "ssh_config");
  writeFileSync(
    config,
    `${[
      "Host jaguar",
      "  HostName 127.0.0.1",
      `  Port ${jaguar.port}`,
      "Host mcgonagall",
      "  HostName 127.0.0.1",
      `  Port ${mcgonagall.port}`,
      "  ProxyJump jaguar",
      "Host *",
      `  User ${os.userInfo().username}`,
      `  IdentityFile ${q(identity)}`,
      "  IdentitiesOnly yes",
      "  IdentityAgent none",
      `  UserKnownHostsFile ${q(knownHosts)}`,
      "  GlobalKnownHostsFile /dev/null",
      "  StrictHostKeyChecking yes",
      "  BatchMode yes",
      "  ConnectTimeout 5",
      ...Object.entries(CRYPTO).map(([k, v]) => `  ${k} ${v}`),
    ].join("\n")}\n`,
    { mode: 0o600 },
  );
  return { config, jaguar, mcgonagall };
}

// ---------------------------------------------------------------------------------------------
// Timing one client process

/**
 * Runs one process; times from just before spawn() to its exit (what `time` and a shell see), and
 * to the first byte on stdout. Waits for its pipes to close too, so that runs never overlap.
 */
function timeRun(cmd, args) {
  return new Promise((resolveRun, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    owned.client = child;
    let firstByte = null;
    let exitAt = null;
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => kill(child.pid, "SIGKILL"), RUN_TIMEOUT_MS);
    child.stdout.on("data", (chunk) => {
      firstByte ??= performance.now() - t0;
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("exit", () => {
      exitAt = performance.now() - t0;
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      owned.client = null;
      resolveRun({ code, signal, stdout, stderr, total: exitAt ?? performance.now() - t0, firstByte });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// The benchmark

async function bench() {
  const runsArg = process.argv.indexOf("--runs");
  const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 15;
  if (!Number.isInteger(runs) || runs < 1 || runs > 1000) throw new Error("--runs takes 1..1000");
  const ssh = findProgram("ssh");
  const info = machineInfo(ssh);
  const loadAtStart = os.loadavg()[0];
  const { config, jaguar, mcgonagall } = await setUp();

  const logins = () =>
    [jaguar, mcgonagall].map((s) => (readText(s.log).match(/Accepted publickey/g) ?? []).length);
  /** One client command; `route` = the logins it must cause on [jaguar, mcgonagall]. */
  const command = (client, dest, words, stdout) => ({
    client,
    label: `${client === "jumpgate" ? "jumpgate ssh" : "ssh"} ${dest} ${words.join(" ")}`,
    argv:
      client === "jumpgate"
        ? [NODE, [JUMPGATE, "ssh", "-F", config, dest, ...words]]
        : [ssh, ["-F", config, dest, ...words]],
    route: dest === "mcgonagall" ? [1, 1] : [1, 0],
    stdout,
  });
  const startup = (client) => ({
    client,
    label: client === "jumpgate" ? "jumpgate --version" : "ssh -V",
    argv: client === "jumpgate" ? [NODE, [JUMPGATE, "--version"]] : [ssh, ["-V"]],
    route: [0, 0],
    stdout: undefined,
  });

  /**
   * Runs and checks one case: the right output and the right logins (proof of the route: through
   * mcgonagall, jaguar sees a login too). Anything wrong stops the benchmark, except a wrong exit
   * status from jumpgate when all the work was done: that is counted and reported, as a wrong
   * answer, with the timings.
   */
  const wrongStatus = [];
  const runsOf = new Map();
  const measure = async (c) => {
    const before = logins();
    const r = await timeRun(...c.argv);
    const delta = logins().map((n, i) => n - before[i]);
    const routeOk = delta[0] === c.route[0] && delta[1] === c.route[1];
    const outputOk = c.stdout === undefined || r.stdout === c.stdout;
    if (!routeOk || !outputOk || r.signal !== null || (r.code !== 0 && c.client === "ssh")) {
      throw new Error(
        `${c.label}: exit ${r.code ?? r.signal}, stdout ${JSON.stringify(r.stdout)}, logins on jaguar/mcgonagall ${delta.join("/")} (expected ${c.route.join("/")})\n${r.stderr}`,
      );
    }
    runsOf.set(c.label, (runsOf.get(c.label) ?? 0) + 1);
    if (r.code !== 0) wrongStatus.push({ label: c.label, code: r.code, stderr: r.stderr.trim() });
    return r;
  };

  // Same answer first: both clients, both destinations, `echo ok`.
  const checks = [];
  for (const client of ["jumpgate", "ssh"]) {
    for (const dest of ["mcgonagall", "jaguar"]) {
      const c = command(client, dest, ["echo", "ok"], "ok\n");
      const r = await measure(c);
      checks.push(`${c.label}: "ok", exit ${r.code}, logins jaguar/mcgonagall ${c.route.join("/")}`);
    }
  }

  // The cases, in pairs (jumpgate, OpenSSH). Pairs alternate their order every round (ABBA), and
  // every case runs once per round, so drift and noise spread over both clients alike.
  const pairs = [
    { what: "`mcgonagall true` (via jaguar)", make: (cl) => command(cl, "mcgonagall", ["true"], "") },
    { what: "`jaguar true` (one hop)", make: (cl) => command(cl, "jaguar", ["true"], "") },
    { what: "start-up only (`jumpgate --version` / `ssh -V`)", make: startup },
    { what: "`mcgonagall echo ok`", make: (cl) => command(cl, "mcgonagall", ["echo", "ok"], "ok\n") },
  ].map((p) => ({
    ...p,
    jumpgate: p.make("jumpgate"),
    ssh: p.make("ssh"),
    samples: { jumpgate: [], ssh: [] },
    firstByte: { jumpgate: [], ssh: [] },
    exit0: { jumpgate: 0, ssh: 0 },
  }));
  const probes = [];
  for (let round = 0; round < runs; round++) {
    for (const pair of pairs) {
      for (const client of round % 2 === 0 ? ["jumpgate", "ssh"] : ["ssh", "jumpgate"]) {
        const r = await measure(pair[client]);
        pair.samples[client].push(r.total);
        if (r.firstByte !== null) pair.firstByte[client].push(r.firstByte);
        if (r.code === 0) pair.exit0[client]++;
      }
    }
    const r = await measure({
      client: "jumpgate",
      label: "probe",
      argv: [NODE, ["--input-type=module", "-e", PROBE_SOURCE, "--", DIST, config, "mcgonagall", "true"]],
      route: [1, 1],
      stdout: undefined,
    });
    probes.push([...JSON.parse(r.stdout).marks, ["process exit (seen by the parent)", r.total]]);
  }
  await teardown();

  const print = (line = "") => console.log(line);
  print(
    `cold \`ssh mcgonagall true\` through the bastion jaguar: jumpgate vs OpenSSH, ${runs} runs each, interleaved`,
  );
  for (const line of info) print(line);
  print(
    `load average (1 min): ${loadAtStart.toFixed(2)} at start, ${os.loadavg()[0].toFixed(2)} at end (anything else running on the machine shows here)`,
  );
  print(
    `servers: two OpenSSH sshd on loopback, jaguar 127.0.0.1:${jaguar.port} and mcgonagall 127.0.0.1:${mcgonagall.port}, ` +
      "lab settings (test/support/sshd-config.ts); no network namespaces (not needed to time, so the topology is not enforced)",
  );
  print(
    `crypto: clients and servers pinned to Ciphers ${CRYPTO.Ciphers}, KexAlgorithms ${CRYPTO.KexAlgorithms}, ` +
      `HostKeyAlgorithms ${CRYPTO.HostKeyAlgorithms}; ed25519 user key; both clients do the same crypto`,
  );
  print(
    "remote commands run without the user's ~/.bashrc (sshd SetEnv SHLVL=1: bash sources it only as a top-level shell)",
  );
  print(
    "OpenSSH's ProxyJump runs a second `ssh -W` process for the jaguar hop; jumpgate opens a direct-tcpip channel in-process.",
  );
  print(`checked first: ${checks.join("; ")}`);
  print();
  const med = (pair, client) => median(pair.samples[client]);
  const row = (pair) => {
    const [a, b] = [pair.samples.jumpgate, pair.samples.ssh];
    return `| ${pair.what} | ${ms(median(a))} | ${ms(p90(a))} | ${ms(median(b))} | ${ms(p90(b))} | ${(median(b) / median(a)).toFixed(2)} | ${pair.exit0.jumpgate}/${a.length} | ${pair.exit0.ssh}/${b.length} |`;
  };
  const derived = (what, jg, os) => `| ${what} | ${ms(jg)} | | ${ms(os)} | | ${(os / jg).toFixed(2)} | | |`;
  const [viaJaguar, oneHop, bare, echo] = pairs;
  print(
    "| command | jumpgate median (ms) | jumpgate p90 (ms) | ssh median (ms) | ssh p90 (ms) | ssh / jumpgate (median) | jumpgate exit 0 | ssh exit 0 |",
  );
  print("|---|---:|---:|---:|---:|---:|---:|---:|");
  for (const pair of [viaJaguar, oneHop, bare]) print(row(pair));
  print(
    derived(
      "second hop (mcgonagall - jaguar, medians)",
      med(viaJaguar, "jumpgate") - med(oneHop, "jumpgate"),
      med(viaJaguar, "ssh") - med(oneHop, "ssh"),
    ),
  );
  print(
    derived(
      "one hop without start-up (jaguar - start-up, medians)",
      med(oneHop, "jumpgate") - med(bare, "jumpgate"),
      med(oneHop, "ssh") - med(bare, "ssh"),
    ),
  );
  print();
  print("time to first byte: `mcgonagall echo ok` (via jaguar)");
  print(
    "| client | first byte median (ms) | first byte p90 (ms) | exit median (ms) | exit p90 (ms) | exit 0 |",
  );
  print("|---|---:|---:|---:|---:|---:|");
  for (const client of ["jumpgate", "ssh"]) {
    const [f, t] = [echo.firstByte[client], echo.samples[client]];
    print(
      `| ${client === "ssh" ? "ssh" : "jumpgate ssh"} | ${ms(median(f))} | ${ms(p90(f))} | ${ms(median(t))} | ${ms(p90(t))} | ${echo.exit0[client]}/${t.length} |`,
    );
  }
  print();
  print(
    "where jumpgate's time goes: `jumpgate ssh mcgonagall true` done in-process (the probe), ms since the Node process started",
  );
  print("| phase | ends at, median (ms) | phase alone, median (ms) | phase alone, p90 (ms) |");
  print("|---|---:|---:|---:|");
  for (const [k, [name]] of probes[0].entries()) {
    const at = probes.map((p) => p[k][1]);
    const alone = probes.map((p) => p[k][1] - (k === 0 ? 0 : p[k - 1][1]));
    print(`| ${name} | ${ms(median(at))} | ${ms(median(alone))} | ${ms(p90(alone))} |`);
  }
  if (wrongStatus.length > 0) {
    const byLabel = new Map();
    for (const w of wrongStatus) byLabel.set(w.label, [...(byLabel.get(w.label) ?? []), w]);
    print();
    for (const [label, ws] of byLabel) {
      const codes = [...new Set(ws.map((w) => w.code))].join(", ");
      const stderr = ws.find((w) => w.stderr !== "")?.stderr.split("\n")[0];
      print(
        `WRONG EXIT STATUS: \`${label}\` exited ${codes} in ${ws.length} of its ${runsOf.get(label)} runs although the remote command exited 0 and OpenSSH reported 0 (stderr: ${stderr === undefined ? "empty" : JSON.stringify(stderr)}).`,
      );
    }
    process.exitCode = 1;
  }
}

installTeardownHooks();
try {
  await bench();
} finally {
  await teardown();
}
