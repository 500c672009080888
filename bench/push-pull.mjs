#!/usr/bin/env node
// Benchmarks (b) and (c) of issue 6: a 5,000-file project tree (~50 MB) pushed and pulled with
// `jumpgate push` / `jumpgate pull` against OpenSSH's pipelines `tar c | ssh host 'tar x -C dir'`
// (and its reverse) and `scp -r`, directly (one sshd) and through the bastion jaguar (ProxyJump),
// side by side in one run, against the same real sshds with the same pinned cipher. Every client is
// a new process per transfer (handshake included, what a user typing the command pays). Each result
// is checked (file count and total bytes) so that a fast wrong transfer cannot win.
// Usage: node bench/push-pull.mjs [--files 5000] [--mib 50] [--runs 1]
//        (needs dist/: npx tsc -p tsconfig.build.json)
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  accessSync,
  chmodSync,
  constants,
  lstatSync,
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
/** One pinned suite for every client and server, so all clients do exactly the same crypto. */
const CRYPTO = {
  Ciphers: "aes128-gcm@openssh.com",
  KexAlgorithms: "curve25519-sha256",
  HostKeyAlgorithms: "ssh-ed25519",
};
const READY_TIMEOUT_MS = 10_000;

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const FILES = arg("files", 5000);
const MIB = arg("mib", 50);
const RUNS = arg("runs", 1);

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
      console.error(`\npush-pull bench: ${sig}: stopping the sshd servers, removing the temp dir`);
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
  const base = /\s/.test(os.tmpdir()) ? "/tmp" : os.tmpdir();
  owned.dir = mkdtempSync(join(base, "jg-bench-tar-"));
  chmodSync(owned.dir, 0o700);
  const dir = owned.dir;
  if (process.getuid?.() === 0) mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const identity = join(dir, "id_ed25519");
  const authorizedKeys = join(dir, "authorized_keys");
  writeFileSync(authorizedKeys, `${keygen(sshKeygen, identity, "jumpgate-bench-user")}\n`, { mode: 0o600 });
  const servers = {};
  for (const name of ["jaguar", "mcgonagall"]) {
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
    s.port = await startSshd(sshd, s, authorizedKeys);
    servers[name] = s;
  }
  const knownHosts = join(dir, "known_hosts");
  writeFileSync(
    knownHosts,
    Object.values(servers)
      .map((s) => `[127.0.0.1]:${s.port} ${s.publicKey}\n`)
      .join(""),
    { mode: 0o600 },
  );
  const config = join(dir, "ssh_config");
  writeFileSync(
    config,
    `${[
      // "direct": mcgonagall's sshd straight; "mcgonagall": the same sshd through jaguar.
      "Host direct",
      "  HostName 127.0.0.1",
      `  Port ${servers.mcgonagall.port}`,
      "Host mcgonagall",
      "  HostName 127.0.0.1",
      `  Port ${servers.mcgonagall.port}`,
      "  ProxyJump jaguar",
      "Host jaguar",
      "  HostName 127.0.0.1",
      `  Port ${servers.jaguar.port}`,
      "Host *",
      `  User ${os.userInfo().username}`,
      `  IdentityFile ${q(identity)}`,
      "  IdentitiesOnly yes",
      `  UserKnownHostsFile ${q(knownHosts)}`,
      "  StrictHostKeyChecking yes",
      "  BatchMode yes",
      ...Object.entries(CRYPTO).map(([k, v]) => `  ${k} ${v}`),
    ].join("\n")}\n`,
    { mode: 0o600 },
  );
  return { dir, config };
}

/** A project-like tree: FILES files in directories of 50, sizes spread around the average. */
function makeTree(root) {
  const avg = Math.floor((MIB * 1024 * 1024) / FILES);
  let total = 0;
  for (let i = 0; i < FILES; i++) {
    const m = Math.floor(i / 50);
    const d = join(root, `pkg${m % 20}`, `mod${m}`);
    if (i % 50 === 0) mkdirSync(d, { recursive: true });
    const size = i % 10 === 0 ? avg * 5 : Math.floor(avg * (0.2 + ((i * 7919) % 100) / 180));
    writeFileSync(join(d, `file${i}.js`), randomBytes(size));
    total += size;
  }
  return total;
}

/** Files and total bytes under a tree, to check a copy. */
function measure(root) {
  let files = 0;
  let bytes = 0;
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const st = lstatSync(join(dir, name));
      if (st.isDirectory()) walk(join(dir, name));
      else {
        files++;
        bytes += st.size;
      }
    }
  };
  walk(root);
  return { files, bytes };
}

const shq = (s) => `'${s.replaceAll("'", "'\\''")}'`;

function timed(label, command, args) {
  const t0 = performance.now();
  const r = spawnSync(command, args, { stdio: ["ignore", "ignore", "pipe"], timeout: 600_000 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${label} failed (${r.status}): ${r.stderr}`);
  return seconds;
}

async function bench() {
  installTeardownHooks();
  const { dir, config } = await setUp();
  const ssh = findProgram("ssh");
  const scp = findProgram("scp");
  const src = join(dir, "tree");
  const total = makeTree(src);
  const want = measure(src);
  console.log(
    `push/pull bench: ${want.files} files, ${(total / 2 ** 20).toFixed(1)} MiB, ${RUNS} run(s) each`,
  );
  for (const line of machineInfo(ssh)) console.log(line);
  let n = 0;
  const fresh = () => join(dir, `out${n++}`);
  const rows = [];
  const check = (label, out) => {
    const got = measure(out);
    if (got.files !== want.files || got.bytes !== want.bytes)
      throw new Error(
        `${label}: got ${got.files} files / ${got.bytes} B, want ${want.files} / ${want.bytes}`,
      );
    rmSync(out, { recursive: true, force: true });
  };
  const best = (label, fn) => {
    let min = Number.POSITIVE_INFINITY;
    for (let r = 0; r < RUNS; r++) {
      const out = fresh();
      min = Math.min(min, fn(out));
      check(label, out);
    }
    return min;
  };
  for (const host of ["direct", "mcgonagall"]) {
    const route = host === "direct" ? "direct" : "through jaguar";
    // push
    const pushJg = best("jumpgate push", (out) =>
      timed("jumpgate push", NODE, [JUMPGATE, "push", "-q", "-F", config, src, `${host}:${out}`]),
    );
    const pushTar = best("tar | ssh", (out) =>
      timed("tar | ssh", "sh", [
        "-c",
        `tar -C ${shq(src)} -c . | ${shq(ssh)} -F ${shq(config)} ${host} ${shq(`mkdir -p ${shq(out)} && tar -x -C ${shq(out)}`)}`,
      ]),
    );
    const pushScp = best("scp -r", (out) =>
      timed("scp -r", scp, ["-q", "-r", "-F", config, src, `${host}:${out}`]),
    );
    rows.push({ what: `push, ${route}`, jg: pushJg, tar: pushTar, scp: pushScp });
    // pull
    const pullJg = best("jumpgate pull", (out) =>
      timed("jumpgate pull", NODE, [JUMPGATE, "pull", "-q", "-F", config, `${host}:${src}`, out]),
    );
    const pullTar = best("ssh | tar", (out) =>
      timed("ssh | tar", "sh", [
        "-c",
        `mkdir -p ${shq(out)} && ${shq(ssh)} -F ${shq(config)} ${host} ${shq(`tar -C ${shq(src)} -c .`)} | tar -x -C ${shq(out)}`,
      ]),
    );
    const pullScp = best("scp -r", (out) =>
      timed("scp -r", scp, ["-q", "-r", "-F", config, `${host}:${src}`, out]),
    );
    rows.push({ what: `pull, ${route}`, jg: pullJg, tar: pullTar, scp: pullScp });
  }
  console.log("");
  console.log("| transfer | jumpgate (s) | tar + ssh (s) | scp -r (s) | vs tar + ssh | vs scp -r |");
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(
      `| ${r.what} | ${r.jg.toFixed(2)} | ${r.tar.toFixed(2)} | ${r.scp.toFixed(2)} | ${(r.tar / r.jg).toFixed(2)}x | ${(r.scp / r.jg).toFixed(2)}x |`,
    );
  }
  console.log("\n(ratios > 1: jumpgate is faster by that factor)");
  await teardown();
}

bench().catch(async (error) => {
  console.error(error);
  await teardown();
  process.exit(1);
});
