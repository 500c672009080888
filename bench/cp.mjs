#!/usr/bin/env node
// Benchmark (a): one 1 GiB file, `jumpgate cp` against OpenSSH's `scp` (SFTP mode, the 9.2 default)
// and `sftp` (batch put/get), both directions, side by side in one run, against the same real sshd
// on loopback with the same pinned cipher. Every client is a new process per copy (what a user
// typing the command pays, handshake included). Checks each copy's size and, once per direction,
// its sha256 so that a fast wrong copy cannot win.
// Usage: node bench/cp.mjs [--size-mib 1024] [--runs 1]   (needs dist/: npx tsc -p tsconfig.build.json)
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  accessSync,
  chmodSync,
  closeSync,
  constants,
  createReadStream,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import { delimiter, join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

const JUMPGATE = fileURLToPath(new URL("../bin/jumpgate.js", import.meta.url));
const NODE = process.execPath;
/** One pinned suite for every client and the server, so all clients do exactly the same crypto. */
const CRYPTO = {
  Ciphers: "aes128-gcm@openssh.com",
  KexAlgorithms: "curve25519-sha256",
  HostKeyAlgorithms: "ssh-ed25519",
};
const READY_TIMEOUT_MS = 10_000;
const TIME = "/usr/bin/time";

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const SIZE_MIB = arg("size-mib", 1024);
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
      console.error(`\ncp bench: ${sig}: stopping the sshd servers, removing the temp dir`);
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
  owned.dir = mkdtempSync(join(base, "jg-bench-cp-"));
  chmodSync(owned.dir, 0o700);
  const dir = owned.dir;
  if (process.getuid?.() === 0) mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const identity = join(dir, "id_ed25519");
  const authorizedKeys = join(dir, "authorized_keys");
  writeFileSync(authorizedKeys, `${keygen(sshKeygen, identity, "jumpgate-bench-user")}\n`, { mode: 0o600 });
  const sdir = join(dir, "server");
  mkdirSync(sdir, { mode: 0o700 });
  const s = {
    name: "server",
    dir: sdir,
    hostKey: join(sdir, "ssh_host_ed25519_key"),
    config: join(sdir, "sshd_config"),
    log: join(sdir, "sshd.log"),
  };
  s.publicKey = keygen(sshKeygen, s.hostKey, "server-host");
  s.port = await startSshd(sshd, s, authorizedKeys);
  const knownHosts = join(dir, "known_hosts");
  writeFileSync(knownHosts, `[127.0.0.1]:${s.port} ${s.publicKey}\n`, { mode: 0o600 });
  const config = join(dir, "ssh_config");
  writeFileSync(
    config,
    `${[
      "Host server",
      "  HostName 127.0.0.1",
      `  Port ${s.port}`,
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

function sha256(path) {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(path)
      .on("data", (c) => h.update(c))
      .on("end", () => resolve(h.digest("hex")))
      .on("error", reject);
  });
}

function makeFile(path, mib) {
  const fd = openSync(path, "w", 0o644);
  const chunk = 8 * 1024 * 1024;
  for (let left = mib * 1024 * 1024; left > 0; left -= chunk)
    writeSync(fd, randomBytes(Math.min(chunk, left)));
  closeSync(fd);
}

/**
 * Runs one copy; returns its wall time and the CPU time of the client and its children (scp's
 * and sftp's ssh), read from /usr/bin/time: on a shared machine the wall time moves with the
 * load, the CPU a client needs per byte much less.
 */
function timeRun(cmd, args, input) {
  const t0 = performance.now();
  const r = spawnSync(TIME, ["-f", "%U %S", cmd, ...args], {
    input: input ?? "",
    stdio: ["pipe", "ignore", "pipe"],
    timeout: 600_000,
  });
  const seconds = (performance.now() - t0) / 1000;
  const stderr = r.stderr.toString();
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${stderr}`);
  const [user, sys] = stderr.trim().split("\n").at(-1).split(" ").map(Number);
  return { seconds, cpu: user + sys };
}

async function bench() {
  installTeardownHooks();
  const { dir, config } = await setUp();
  const local = join(dir, "local");
  const remote = join(dir, "remote");
  mkdirSync(local);
  mkdirSync(remote);
  const src = join(local, "data.bin");
  makeFile(src, SIZE_MIB);
  const want = await sha256(src);
  const bytes = statSync(src).size;
  const clients = {
    "jumpgate cp": {
      up: (from, to) => timeRun(NODE, [JUMPGATE, "cp", "-q", "-F", config, from, `server:${to}`]),
      down: (from, to) => timeRun(NODE, [JUMPGATE, "cp", "-q", "-F", config, `server:${from}`, to]),
    },
    "scp (SFTP mode)": {
      up: (from, to) => timeRun("scp", ["-q", "-F", config, from, `server:${to}`]),
      down: (from, to) => timeRun("scp", ["-q", "-F", config, `server:${from}`, to]),
    },
    sftp: {
      up: (from, to) => timeRun("sftp", ["-q", "-F", config, "-b", "-", "server"], `put ${from} ${to}\n`),
      down: (from, to) => timeRun("sftp", ["-q", "-F", config, "-b", "-", "server"], `get ${from} ${to}\n`),
    },
  };
  execFileSync("cp", [src, join(remote, "seed.bin")]); // the download source (not timed)
  // Runs interleaved (every client once, then again), so a change in the machine's load falls on
  // all of them rather than on one client's runs.
  const samples = new Map();
  for (let run = 0; run < RUNS; run++) {
    for (const direction of ["up", "down"]) {
      for (const [name, c] of Object.entries(clients)) {
        const from = direction === "up" ? src : join(remote, "seed.bin");
        const to = direction === "up" ? join(remote, "up.bin") : join(local, "down.bin");
        rmSync(to, { force: true });
        const t = c[direction](from, to);
        if (statSync(to).size !== bytes) throw new Error(`${name} ${direction}: wrong size`);
        if (run === 0 && (await sha256(to)) !== want)
          throw new Error(`${name} ${direction}: checksum differs`);
        rmSync(to, { force: true });
        const key = `${direction}\t${name}`;
        samples.set(key, [...(samples.get(key) ?? []), t]);
        console.error(
          `run ${run + 1} ${direction.padEnd(4)} ${name.padEnd(16)} ${t.seconds.toFixed(2)} s  cpu ${t.cpu.toFixed(2)} s`,
        );
      }
    }
  }
  const results = [...samples].map(([key, ts]) => {
    const [direction, name] = key.split("\t");
    const best = Math.min(...ts.map((t) => t.seconds));
    const cpu = Math.min(...ts.map((t) => t.cpu));
    return { direction, name, best, cpu, mibs: bytes / 2 ** 20 / best };
  });
  await teardown();
  const lines = [
    `Machine: ${machineInfo("ssh").join("; ")}. Date: ${new Date().toISOString().slice(0, 10)}.`,
    `One ${SIZE_MIB} MiB random file, one sshd on 127.0.0.1 (internal-sftp), ${CRYPTO.Ciphers}, best of ${RUNS} interleaved run(s), a new client process per copy; CPU is the client's own (with its ssh child), the sshd side is the same for all.`,
    "",
    "| direction | client | wall s (best) | MiB/s | speed: jumpgate / this | client CPU s (user+sys, least) |",
    "|---|---|---:|---:|---:|---:|",
  ];
  for (const r of results) {
    const mine = results.find((x) => x.direction === r.direction && x.name === "jumpgate cp");
    lines.push(
      `| ${r.direction === "up" ? "upload" : "download"} | ${r.name} | ${r.best.toFixed(2)} | ${r.mibs.toFixed(1)} | ${(r.best / mine.best).toFixed(2)}x | ${r.cpu.toFixed(2)} |`,
    );
  }
  console.log(lines.join("\n"));
}

bench().catch(async (error) => {
  console.error(error);
  await teardown();
  process.exitCode = 1;
});
