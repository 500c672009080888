// The benchmarks' lab: real OpenSSH sshd servers on loopback with generated keys, the client files
// (known_hosts, ssh_config), the jaguar -> mcgonagall jump setup, timing one client process, and a
// teardown that leaves no sshd, gate or ControlMaster behind (normal end, error, SIGINT/TERM/HUP).
// Its settings follow test/support/lab.ts's sshd (test/support/sshd-config.ts), without network
// namespaces: timing does not need the topology enforced. Plain ESM so that the benches run as is.
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

/** The CLI under test (bin/jumpgate.js runs dist/). */
export const JUMPGATE = fileURLToPath(new URL("../../bin/jumpgate.js", import.meta.url));
/** dist/ as a URL prefix, for the in-process probes that import its modules. */
export const DIST = new URL("../../dist/", import.meta.url).href;
/** This Node.js, to run jumpgate and the probes with. */
export const NODE = process.execPath;
/** One pinned suite for every client and server, so every client does exactly the same crypto. */
export const CRYPTO = {
  Ciphers: "aes128-gcm@openssh.com",
  KexAlgorithms: "curve25519-sha256",
  HostKeyAlgorithms: "ssh-ed25519",
};
const RUN_TIMEOUT_MS = 30_000;
const READY_TIMEOUT_MS = 10_000;

// ---------------------------------------------------------------------------------------------
// Small helpers

/** The absolute path of an OpenSSH program; sshd lives in sbin, often missing from PATH. */
export function findProgram(name) {
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

/** A loopback port free right now (sshd may still lose it to a race: startSshd retries). */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/** A file's text, or "" if it cannot be read (a log not written yet, a /proc entry gone). */
export function readText(file) {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

/** The two "CPU/RAM" and "OS/kernel/Node/OpenSSH" lines every report starts with. */
export function machineInfo(ssh) {
  const cpus = os.cpus();
  const osRelease = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readText("/etc/os-release"))?.[1] ?? os.type();
  // `ssh -V` prints on stderr.
  const sshVersion = spawnSync(ssh, ["-V"], { encoding: "utf8" }).stderr.trim();
  return [
    `CPU: ${cpus[0]?.model ?? "unknown"}, ${cpus.length} cores; RAM ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `OS: ${osRelease}, kernel ${os.release()}; Node.js ${process.version}; ${sshVersion}`,
  ];
}

/** process.kill that ignores a process already gone. */
export function kill(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

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

// ---------------------------------------------------------------------------------------------
// Everything a benchmark starts, and its teardown

/**
 * What the teardown stops and removes: the temp dir, the sshd processes, the client being timed,
 * and (benches that warm them) the gate by pid and OpenSSH ControlMasters by control socket, which
 * `ssh` and `config` are needed to stop. A bench sets the fields as it starts things.
 */
export const owned = {
  dir: null,
  servers: [],
  client: null,
  gatePid: null,
  masterSockets: [],
  ssh: null,
  config: null,
  mounts: [],
};

/** Stops everything at once; synchronous, so that it also works from the "exit" hook. */
export function teardownSync() {
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
  for (const mount of owned.mounts) spawnSync("umount", ["-l", mount], { stdio: "ignore" });
  owned.mounts = [];
  if (owned.dir !== null) rmSync(owned.dir, { recursive: true, force: true });
  owned.dir = null;
}

/** Polite version for a normal end: children first, then sshd with SIGTERM, SIGKILL if it lingers. */
export async function teardown() {
  const servers = owned.servers.filter((s) => s.exitCode === null);
  for (const pid of descendantsOf(servers.map((s) => s.pid))) kill(pid, "SIGKILL");
  for (const s of servers) kill(s.pid, "SIGTERM");
  const deadline = Date.now() + 2_000;
  while (servers.some((s) => s.exitCode === null && s.signalCode === null) && Date.now() < deadline) {
    await sleep(20);
  }
  teardownSync();
}

/** Tears down on exit and on SIGINT/SIGTERM/SIGHUP; `name` starts the message on a signal. */
export function installTeardownHooks(name) {
  process.on("exit", teardownSync);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.once(sig, () => {
      console.error(`\n${name}: ${sig}: stopping the sshd servers, removing the temp dir`);
      teardownSync();
      process.exit(128 + os.constants.signals[sig]);
    });
  }
}

/**
 * A directory for a benchmark's outputs on a fresh tmpfs (as root), so that file creation costs
 * the same for every tool and every run. Why: on this VM's ext4, creating files soon after
 * deleting many others costs up to ~1.4 ms of kernel time each (perf: ext4's recently_deleted
 * inode scan), so the 5,000-file results swung by seconds with the order of the runs. Not root:
 * a plain directory, and the caller says so in its output.
 */
export function outputTmpfs(parent, name, sizeMiB) {
  const path = join(parent, name);
  mkdirSync(path, { recursive: true });
  if (process.getuid?.() !== 0) return { path, tmpfs: false };
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${sizeMiB}m,mode=0700`, "tmpfs", path]);
  if (r.status !== 0) return { path, tmpfs: false };
  owned.mounts.push(path);
  return { path, tmpfs: true };
}

// ---------------------------------------------------------------------------------------------
// The servers and the client files

/** A new ed25519 key pair without passphrase at `path`; returns its public key ("type base64"). */
function keygen(sshKeygen, path, comment) {
  execFileSync(sshKeygen, ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path], { stdio: "ignore" });
  return readFileSync(`${path}.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ");
}

/** ssh_config and sshd_config values split on whitespace: quote a path that has some. */
export const q = (value) => (/[\s"]/.test(value) ? `"${value.replaceAll('"', '\\"')}"` : value);

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

/**
 * A new 0700 temp dir (`prefix` names it; owned.dir), one user key authorized everywhere, and one
 * sshd per name in `names`, started in that order, each with its own host key (s.name, s.dir,
 * s.port, s.log, s.publicKey...), and a known_hosts for all of them. The ssh_config is the bench's
 * (writeSshConfig). Returns { dir, identity, knownHosts, servers } (servers in `names` order).
 */
export async function startServers(prefix, names) {
  const sshd = findProgram("sshd");
  const sshKeygen = findProgram("ssh-keygen");
  // OpenSSH's ProxyJump passes `-F <config>` to the inner ssh through a shell, unquoted.
  const base = /\s/.test(os.tmpdir()) ? "/tmp" : os.tmpdir();
  owned.dir = mkdtempSync(join(base, prefix));
  chmodSync(owned.dir, 0o700);
  const dir = owned.dir;
  // sshd refuses to start as root without its privilege-separation directory.
  if (process.getuid?.() === 0) mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const identity = join(dir, "id_ed25519");
  const authorizedKeys = join(dir, "authorized_keys");
  writeFileSync(authorizedKeys, `${keygen(sshKeygen, identity, "jumpgate-bench-user")}\n`, { mode: 0o600 });
  const servers = names.map((name) => {
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
  const knownHosts = join(dir, "known_hosts");
  writeFileSync(knownHosts, servers.map((s) => `[127.0.0.1]:${s.port} ${s.publicKey}\n`).join(""), {
    mode: 0o600,
  });
  return { dir, identity, knownHosts, servers };
}

/**
 * Writes `<dir>/ssh_config`: the bench's own `Host` blocks (`hostLines`), then the `Host *` block
 * every bench shares (user, the lab key only, the lab known_hosts, batch mode, the pinned crypto).
 * `isolated` also shuts out the user's agent and global known_hosts and caps the connect time.
 */
export function writeSshConfig(lab, hostLines, { isolated }) {
  const config = join(lab.dir, "ssh_config");
  const lines = [
    ...hostLines,
    "Host *",
    `  User ${os.userInfo().username}`,
    `  IdentityFile ${q(lab.identity)}`,
    "  IdentitiesOnly yes",
    ...(isolated ? ["  IdentityAgent none"] : []),
    `  UserKnownHostsFile ${q(lab.knownHosts)}`,
    ...(isolated ? ["  GlobalKnownHostsFile /dev/null"] : []),
    "  StrictHostKeyChecking yes",
    "  BatchMode yes",
    ...(isolated ? ["  ConnectTimeout 5"] : []),
    ...Object.entries(CRYPTO).map(([k, v]) => `  ${k} ${v}`),
  ];
  writeFileSync(config, `${lines.join("\n")}\n`, { mode: 0o600 });
  return config;
}

/**
 * The jump lab: sshd jaguar and sshd mcgonagall, and an ssh_config where mcgonagall is reached
 * with ProxyJump jaguar. Returns { config, jaguar, mcgonagall }; the temp dir is owned.dir.
 */
export async function setUpJumpLab(prefix) {
  const lab = await startServers(prefix, ["jaguar", "mcgonagall"]);
  const [jaguar, mcgonagall] = lab.servers;
  const config = writeSshConfig(
    lab,
    [
      "Host jaguar",
      "  HostName 127.0.0.1",
      `  Port ${jaguar.port}`,
      "Host mcgonagall",
      "  HostName 127.0.0.1",
      `  Port ${mcgonagall.port}`,
      "  ProxyJump jaguar",
    ],
    { isolated: true },
  );
  return { config, jaguar, mcgonagall };
}

/** A function counting the logins each server's log shows so far, to prove a run's route. */
export function loginCounter(servers) {
  return () => servers.map((s) => (readText(s.log).match(/Accepted publickey/g) ?? []).length);
}

/**
 * Times one case `{ label, argv: [cmd, args], env, route }` and checks the route it took: the
 * logins it caused on jaguar and mcgonagall must be `route` ([0, 0] through a warm gate or
 * master). Returns the wall time in ms; throws with the client's stderr otherwise.
 */
export function routeTimer(logins) {
  return async (c, route = c.route) => {
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
}

// ---------------------------------------------------------------------------------------------
// Warm connection sharing: jumpgate's gate and OpenSSH's ControlMaster

/** `<dir>/ssh_config_controlmaster`: `config` plus ControlMaster auto / ControlPersist 300. */
export function writeControlMasterConfig(dir, config) {
  const cmConfig = join(dir, "ssh_config_controlmaster");
  const controlPath = join(dir, "cm-%C");
  writeFileSync(
    cmConfig,
    `Host *\n  ControlMaster auto\n  ControlPath ${controlPath}\n  ControlPersist 300\nInclude ${config}\n`,
    { mode: 0o600 },
  );
  return cmConfig;
}

/** Records the control sockets the masters made in `dir`, so that the teardown stops them. */
export function adoptMasterSockets(dir) {
  owned.masterSockets = readdirSync(dir)
    .filter((n) => n.startsWith("cm-"))
    .map((n) => join(dir, n));
}

/**
 * Starts `jumpgate gate start --persist 300` in a runtime directory of its own (`<dir>/runtime`),
 * records its pid for the teardown, and returns { runtime, gateEnv } (the env that reaches it).
 */
export function startGate(dir) {
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
  return { runtime, gateEnv };
}

// ---------------------------------------------------------------------------------------------
// Timing one client process

/**
 * Runs one process (env: `env`, or this process's); times from just before spawn() to its exit
 * (what `time` and a shell see), and to the first byte on stdout. Waits for its pipes to close
 * too, so that runs never overlap. Resolves { code, signal, stdout, stderr, total, firstByte }.
 */
export function timeRun(cmd, args, env) {
  return new Promise((resolveRun, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env });
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
