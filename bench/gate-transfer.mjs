#!/usr/bin/env node
// Benchmark: `jumpgate cp` and `jumpgate push` of small payloads through the bastion jaguar, with
// the gate warm versus without it (a new connection through jaguar each time), side by side with
// OpenSSH's scp (new connection each time) and scp with ControlMaster/ControlPersist warm, on the
// same two real sshd servers and the same ssh_config (the setup is bench/gate.mjs's). The sshd
// logs prove the routes: gate and ControlMaster runs cause no login, the others one per hop.
// Also times, in fresh processes, the module loading of the CLI's two paths for cp: the light one a
// gate run takes (main.ts, cp's parser, the gate client, the runner) and commander's (every
// command registered). --compare DIR adds the gate cases run with another built checkout's
// bin/jumpgate.js (e.g. the commit before a change), interleaved with the others.
// Usage: node bench/gate-transfer.mjs [--runs 10] [--compare DIR]   (needs dist/: npx tsc -p tsconfig.build.json)
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
const NODE = process.execPath;
/** One pinned suite for every client and server, so every client does exactly the same crypto. */
const CRYPTO = {
  Ciphers: "aes128-gcm@openssh.com",
  KexAlgorithms: "curve25519-sha256",
  HostKeyAlgorithms: "ssh-ed25519",
};
const RUN_TIMEOUT_MS = 30_000;
const READY_TIMEOUT_MS = 10_000;

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

const owned = {
  dir: null,
  servers: [],
  client: null,
  gatePid: null,
  masterSockets: [],
  ssh: null,
  config: null,
};

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
  // The gate and OpenSSH's ControlMaster this benchmark started (by pid / control socket).
  if (owned.gatePid !== null) kill(owned.gatePid, "SIGTERM");
  owned.gatePid = null;
  for (const socket of owned.masterSockets) {
    spawnSync(owned.ssh, ["-F", owned.config, "-S", socket, "-O", "exit", "mcgonagall"], { stdio: "ignore" });
  }
  owned.masterSockets = [];
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
      console.error(`\ngate-transfer bench: ${sig}: stopping the sshd servers, removing the temp dir`);
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
  owned.dir = mkdtempSync(join(base, "jg-bench-gate-transfer-"));
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

/** Times one process from just before spawn() to its exit; waits for its pipes so runs never overlap. */
function timeRun(cmd, args, env) {
  return new Promise((resolveRun, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env });
    owned.client = child;
    let exitAt = null;
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => kill(child.pid, "SIGKILL"), RUN_TIMEOUT_MS);
    child.stdout.on("data", (chunk) => {
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
      resolveRun({ code, signal, stdout, stderr, total: exitAt ?? performance.now() - t0 });
    });
  });
}

/**
 * The module loading of one of cp's CLI paths, in a fresh process from its first line: "light"
 * (a gate runs: no commander) or "commander" (help, usage errors, -v, no gate).
 */
async function probe(dist, path) {
  const t0 = performance.now();
  await import(`${dist}cli/main.js`);
  if (path === "commander") await import(`${dist}cli/program.js`);
  else {
    await import(`${dist}cli/commands/cp.js`);
    await import(`${dist}cli/gate/transfer.js`);
  }
  await import(`${dist}cli/cp/run.js`);
  process.stdout.write(`${JSON.stringify({ startup: t0, load: performance.now() - t0 })}\n`);
}
const PROBE_SOURCE = `await (${probe.toString()})(process.argv[1], process.argv[2]);`;

function probeLoad(path) {
  const dist = new URL("../dist/", import.meta.url).href;
  const r = spawnSync(NODE, ["--input-type=module", "-e", PROBE_SOURCE, dist, path], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`probe ${path} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

// ---------------------------------------------------------------------------------------------
// The benchmark

async function bench() {
  const runsArg = process.argv.indexOf("--runs");
  const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 10;
  if (!Number.isInteger(runs) || runs < 1 || runs > 1000) throw new Error("--runs takes 1..1000");
  const compareArg = process.argv.indexOf("--compare");
  const compareBin = compareArg > 0 ? join(process.argv[compareArg + 1], "bin/jumpgate.js") : null;
  if (compareBin !== null) accessSync(compareBin);
  const ssh = findProgram("ssh");
  const scp = findProgram("scp");
  owned.ssh = ssh;
  const info = machineInfo(ssh);
  const loadAtStart = os.loadavg()[0];
  const { config, jaguar, mcgonagall } = await setUp();
  owned.config = config;
  const dir = owned.dir;

  // The payloads: one 64 KiB file, and a 50-file tree (~200 KiB) for push.
  const file = join(dir, "payload.bin");
  writeFileSync(file, Buffer.alloc(64 * 1024, 7));
  const tree = join(dir, "tree");
  for (let i = 0; i < 50; i++) {
    mkdirSync(join(tree, `d${i % 5}`), { recursive: true });
    writeFileSync(join(tree, `d${i % 5}`, `f${i}.txt`), `${"x".repeat(4000)}${i}\n`);
  }
  const remote = join(dir, "remote");
  mkdirSync(remote);

  const cmConfig = join(dir, "ssh_config_controlmaster");
  const controlPath = join(dir, "cm-%C");
  writeFileSync(
    cmConfig,
    `Host *\n  ControlMaster auto\n  ControlPath ${controlPath}\n  ControlPersist 300\nInclude ${config}\n`,
    { mode: 0o600 },
  );
  const runtime = join(dir, "runtime");
  mkdirSync(runtime, { mode: 0o700 });
  const gateEnv = { ...process.env, XDG_RUNTIME_DIR: runtime };
  delete gateEnv.JUMPGATE_NO_GATE;
  const started = spawnSync(NODE, [JUMPGATE, "gate", "start", "--persist", "300"], {
    env: gateEnv,
    encoding: "utf8",
  });
  const pid = /pid (\d+)/.exec(started.stdout)?.[1];
  if (started.status !== 0 || pid === undefined) throw new Error(`gate start failed: ${started.stderr}`);
  owned.gatePid = Number(pid);
  const plainEnv = { ...process.env, JUMPGATE_NO_GATE: "1", XDG_RUNTIME_DIR: runtime };

  const logins = () =>
    [jaguar, mcgonagall].map((s) => (readText(s.log).match(/Accepted publickey/g) ?? []).length);
  const cpArgs = ["cp", "-q", "-F", config, file, `mcgonagall:${remote}/cp.bin`];
  const pushArgs = ["push", "-q", "-F", config, tree, `mcgonagall:${remote}/tree`];
  const cases = {
    cpGate: {
      label: "jumpgate cp via the warm gate",
      argv: [NODE, [JUMPGATE, ...cpArgs]],
      env: gateEnv,
      route: [0, 0],
    },
    cpDirect: {
      label: "jumpgate cp without a gate",
      argv: [NODE, [JUMPGATE, ...cpArgs]],
      env: plainEnv,
      route: [1, 1],
    },
    scp: {
      label: "scp (new connection each time)",
      argv: [scp, ["-q", "-F", config, file, `mcgonagall:${remote}/scp.bin`]],
      env: plainEnv,
      route: [1, 1],
    },
    scpMaster: {
      label: "scp with ControlMaster warm",
      argv: [scp, ["-q", "-F", cmConfig, file, `mcgonagall:${remote}/scp.bin`]],
      env: plainEnv,
      route: [0, 0],
    },
    pushGate: {
      label: "jumpgate push via the warm gate",
      argv: [NODE, [JUMPGATE, ...pushArgs]],
      env: gateEnv,
      route: [0, 0],
    },
    pushDirect: {
      label: "jumpgate push without a gate",
      argv: [NODE, [JUMPGATE, ...pushArgs]],
      env: plainEnv,
      route: [1, 1],
    },
    tarMaster: {
      label: "tar c | ssh 'tar x' with ControlMaster warm",
      argv: [
        "sh",
        [
          "-c",
          `mkdir -p ${remote}/tartree && tar -C ${tree} -c . | ${ssh} -F ${cmConfig} mcgonagall 'tar -x -C ${remote}/tartree'`,
        ],
      ],
      env: plainEnv,
      route: [0, 0],
    },
  };
  if (compareBin !== null) {
    cases.cpGateCompare = {
      label: `jumpgate cp via the warm gate, ${process.argv[compareArg + 1]}`,
      argv: [NODE, [compareBin, ...cpArgs]],
      env: gateEnv,
      route: [0, 0],
    };
    cases.pushGateCompare = {
      label: `jumpgate push via the warm gate, ${process.argv[compareArg + 1]}`,
      argv: [NODE, [compareBin, ...pushArgs]],
      env: gateEnv,
      route: [0, 0],
    };
  }
  const measure = async (c, route = c.route) => {
    const before = logins();
    const r = await timeRun(...c.argv, c.env);
    const delta = logins().map((n, i) => n - before[i]);
    if (r.code !== 0 || delta[0] !== route[0] || delta[1] !== route[1]) {
      throw new Error(
        `${c.label}: exit ${r.code ?? r.signal}, logins on jaguar/mcgonagall ${delta.join("/")} (expected ${route.join("/")})\n${r.stderr}`,
      );
    }
    return r.total;
  };
  // Warm-up: the gate and the master open their connections (one login per hop each).
  await measure(cases.cpGate, [1, 1]);
  await measure(cases.scpMaster, [1, 1]);
  owned.masterSockets = readdirSync(dir)
    .filter((n) => n.startsWith("cm-"))
    .map((n) => join(dir, n));
  const names = Object.keys(cases);
  const samples = Object.fromEntries(names.map((k) => [k, []]));
  const loads = { light: [], commander: [] };
  for (let round = 0; round < runs; round++) {
    // Rotated order each round, so a drift in the machine's load spreads over every client.
    const order = names.map((_, i) => names[(i + round) % names.length]);
    for (const name of order) samples[name].push(await measure(cases[name]));
    for (const path of round % 2 ? ["commander", "light"] : ["light", "commander"])
      loads[path].push(probeLoad(path));
  }
  const print = (line = "") => console.log(line);
  print(
    `one 64 KiB file (cp) and a 50-file, 200 KiB tree (push) through the bastion jaguar, ${runs} sequential runs per client, interleaved`,
  );
  for (const line of info) print(line);
  print(`load average (1 min): ${loadAtStart.toFixed(2)} at start, ${os.loadavg()[0].toFixed(2)} at end`);
  print(
    "checked: every timed gate and ControlMaster run caused 0 logins on both sshds; every other run 1 on each",
  );
  print();
  print("| client | median (ms) | p90 (ms) | min (ms) |");
  print("|---|---:|---:|---:|");
  const m = (k) => median(samples[k]);
  for (const k of names) {
    const v = samples[k];
    print(
      `| ${cases[k].label.replaceAll("|", "\\|")} | ${ms(m(k))} | ${ms(p90(v))} | ${ms(Math.min(...v))} |`,
    );
  }
  print();
  print("module loading of cp's CLI paths, fresh process, from its first line:");
  print();
  print("| path | median (ms) | p90 (ms) |");
  print("|---|---:|---:|");
  const loadMs = (path) => loads[path].map((l) => l.load);
  print(
    `| light (gate running): main, cp's parser, gate client + codec, cp runner | ${ms(median(loadMs("light")))} | ${ms(p90(loadMs("light")))} |`,
  );
  print(
    `| commander (help, usage errors, -v, no gate): main, commander, every command, cp runner | ${ms(median(loadMs("commander")))} | ${ms(p90(loadMs("commander")))} |`,
  );
  const startups = [...loads.light, ...loads.commander].map((l) => l.startup);
  print(
    `| (Node's own start-up before the first line, for scale) | ${ms(median(startups))} | ${ms(p90(startups))} |`,
  );
  print();
  print(
    `cp: the gate saves ${ms(m("cpDirect") - m("cpGate"))} ms per command (${(m("cpDirect") / m("cpGate")).toFixed(2)}x); vs scp with ControlMaster ${(m("cpGate") / m("scpMaster")).toFixed(2)}x, vs plain scp ${(m("scp") / m("cpGate")).toFixed(2)}x faster`,
  );
  print(
    `push: the gate saves ${ms(m("pushDirect") - m("pushGate"))} ms per command (${(m("pushDirect") / m("pushGate")).toFixed(2)}x); vs tar|ssh with ControlMaster ${(m("pushGate") / m("tarMaster")).toFixed(2)}x`,
  );
  if (compareBin !== null) {
    print(
      `vs ${process.argv[compareArg + 1]}: cp via the gate ${ms(m("cpGateCompare") - m("cpGate"))} ms, push via the gate ${ms(m("pushGateCompare") - m("pushGate"))} ms faster here (medians)`,
    );
  }
}

installTeardownHooks();
try {
  await bench();
} finally {
  await teardown();
}
