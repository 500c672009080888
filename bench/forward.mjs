#!/usr/bin/env node
// Benchmark: port forwarding, `jumpgate ssh -N -L` against OpenSSH's `ssh -N -L`, side by side in
// one run, through the same sshd on loopback, with the same pinned cipher for both clients:
//  - bulk: one connection downloads 256 MiB from a source behind the forward (MB/s, 3 rounds),
//    for aes128-gcm@openssh.com and chacha20-poly1305@openssh.com;
//  - latency: 500 sequential connections, each connect + 1-byte echo + close (p50/p95, ms);
//  - concurrency: 50 connections at once, each downloading 16 MiB (aggregate MB/s, 3 rounds).
// The services (source, echo) run in their own Node process so that neither client's numbers
// include the other's event loop. Usage: node bench/forward.mjs   (needs dist/: npm run build)
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import os from "node:os";
import { delimiter, join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

const JUMPGATE = fileURLToPath(new URL("../bin/jumpgate.js", import.meta.url));
const CIPHERS = ["aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com"];
const BULK = 256 * 1024 * 1024;
const ROUNDS = 3;
/** Profiling: JG_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" node bench/forward.mjs */
const NODE_ARGS = (process.env.JG_BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean);
/** JG_BENCH_ONLY=latency (or bulk, concurrent) runs one part. */
const ONLY = process.env.JG_BENCH_ONLY ?? "";
const LATENCY_RUNS = 500;
const STREAMS = 50;
const STREAM_BYTES = 16 * 1024 * 1024;

const cleanups = [];
process.on("exit", () => {
  for (const c of cleanups.reverse()) {
    try {
      c();
    } catch {}
  }
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(130));

function findProgram(name) {
  for (const dir of [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/sbin"]) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {}
  }
  throw new Error(`${name} not found (apt-get install openssh-server openssh-client)`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, what, proc) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const ok = await new Promise((r) => {
      const s = connect(port, "127.0.0.1", () => {
        s.destroy();
        r(true);
      });
      s.once("error", () => r(false));
    });
    if (ok) return;
    if (proc && proc.exitCode !== null) throw new Error(`${what} exited ${proc.exitCode}`);
    if (Date.now() > deadline) throw new Error(`${what}: port ${port} never accepted`);
    await sleep(25);
  }
}

// ---------------------------------------------------------------------------------------------
// The lab: one sshd on loopback, a user key, known_hosts, an ssh_config both clients read.

async function setUp() {
  const sshd = findProgram("sshd");
  const keygen = findProgram("ssh-keygen");
  const dir = mkdtempSync(join(os.tmpdir(), "jg-bench-fwd-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  if (process.getuid?.() === 0) mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const gen = (path) => execFileSync(keygen, ["-q", "-t", "ed25519", "-N", "", "-f", path]);
  gen(join(dir, "id"));
  gen(join(dir, "host"));
  writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "id.pub")), { mode: 0o600 });
  const port = await freePort();
  writeFileSync(
    join(dir, "sshd_config"),
    [
      `ListenAddress 127.0.0.1:${port}`,
      `HostKey ${join(dir, "host")}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "StrictModes no",
      "AllowTcpForwarding yes",
      "UsePAM no",
      "MaxStartups 100",
      "MaxSessions 100",
      `Ciphers ${CIPHERS.join(",")}`,
      "KexAlgorithms curve25519-sha256",
      "HostKeyAlgorithms ssh-ed25519",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  const proc = spawn(sshd, ["-D", "-e", "-f", join(dir, "sshd_config"), "-E", join(dir, "sshd.log")], {
    stdio: "ignore",
  });
  cleanups.push(() => proc.kill("SIGKILL"));
  await waitForPort(port, "sshd", proc);
  const hostPub = readFileSync(join(dir, "host.pub"), "utf8").split(" ").slice(0, 2).join(" ");
  writeFileSync(join(dir, "known_hosts"), `[127.0.0.1]:${port} ${hostPub}\n`, { mode: 0o600 });
  const config = join(dir, "ssh_config");
  writeFileSync(
    config,
    [
      "Host bench",
      "  HostName 127.0.0.1",
      `  Port ${port}`,
      `  User ${os.userInfo().username}`,
      `  IdentityFile ${join(dir, "id")}`,
      "  IdentitiesOnly yes",
      "  IdentityAgent none",
      `  UserKnownHostsFile ${join(dir, "known_hosts")}`,
      "  GlobalKnownHostsFile /dev/null",
      "  StrictHostKeyChecking yes",
      "  BatchMode yes",
      "  KexAlgorithms curve25519-sha256",
      "  HostKeyAlgorithms ssh-ed25519",
      "  ControlMaster no",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  return { dir, config };
}

// The services, in their own process: a source (sends N bytes, N from the client's first line)
// and an echo.
const SERVICES = `
const net = require("net");
const chunk = Buffer.alloc(256 * 1024, 7);
const source = net.createServer((s) => {
  s.on("error", () => s.destroy());
  let head = "";
  s.on("data", function onData(d) {
    head += d.toString();
    const nl = head.indexOf("\\n");
    if (nl < 0) return;
    s.off("data", onData);
    let left = Number(head.slice(0, nl));
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return s.once("drain", pump);
      }
      s.end();
    };
    pump();
  });
});
const echo = net.createServer((s) => { s.on("error", () => s.destroy()); s.pipe(s); });
source.listen(0, "127.0.0.1", () => echo.listen(0, "127.0.0.1", () =>
  console.log(JSON.stringify({ source: source.address().port, echo: echo.address().port }))));
`;

async function startServices() {
  const proc = spawn(process.execPath, ["-e", SERVICES], { stdio: ["ignore", "pipe", "inherit"] });
  cleanups.push(() => proc.kill("SIGKILL"));
  const line = await new Promise((resolve) => proc.stdout.once("data", (d) => resolve(d.toString())));
  return JSON.parse(line);
}

// ---------------------------------------------------------------------------------------------
// Clients and measurements

async function startForward(tool, config, cipher, listenPort, target) {
  const spec = `${listenPort}:127.0.0.1:${target}`;
  const args = ["-F", config, "-o", `Ciphers=${cipher}`, "-N", "-L", spec, "bench"];
  const proc =
    tool === "jumpgate"
      ? spawn(process.execPath, [...NODE_ARGS, JUMPGATE, "ssh", ...args], {
          stdio: ["ignore", "ignore", "inherit"],
        })
      : spawn(findProgram("ssh"), args, { stdio: ["ignore", "ignore", "inherit"] });
  await waitForPort(listenPort, `${tool} -L`, proc);
  return {
    pid: proc.pid,
    stop: async () => {
      proc.kill("SIGTERM");
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.once("exit", r)));
    },
  };
}

function download(port, bytes) {
  return new Promise((resolve, reject) => {
    let got = 0;
    const s = connect(port, "127.0.0.1", () => s.write(`${bytes}\n`));
    s.on("data", (d) => {
      got += d.length;
    });
    s.once("error", reject);
    s.once("close", () => (got === bytes ? resolve(got) : reject(new Error(`got ${got} of ${bytes} bytes`))));
  });
}

function echoOnce(port) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const s = connect(port, "127.0.0.1", () => s.write("x"));
    s.setNoDelay(true);
    s.once("data", () => {
      const ms = performance.now() - start;
      s.destroy();
      resolve(ms);
    });
    s.once("error", reject);
  });
}

const quantile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};
const mbps = (bytes, ms) => bytes / 1e6 / (ms / 1000);

function peakRssMiB(pid) {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return Number(kb) / 1024;
  } catch {
    return Number.NaN;
  }
}

/** User + system CPU seconds a process has used so far (/proc/<pid>/stat, clock ticks of 10 ms). */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

const median = (values) => quantile(values, 0.5);

/**
 * One forward per tool stays up for a whole measurement, and the rounds alternate between the
 * tools, so that background load on a shared machine hits both alike; the medians are reported.
 */
async function bench() {
  const { config } = await setUp();
  const services = await startServices();
  const rows = [];
  const tools = ["jumpgate", "ssh"];
  const rss = {};
  for (const cipher of ONLY === "" || ONLY === "bulk" ? CIPHERS : []) {
    const fwd = {};
    for (const tool of tools) {
      const port = await freePort();
      fwd[tool] = { port, ...(await startForward(tool, config, cipher, port, services.source)) };
      await download(port, 16 * 1024 * 1024); // warm-up: the connection, the channel path
    }
    const bulk = { jumpgate: [], ssh: [] };
    // The client's CPU per GiB: the wall-clock race on a shared 2-core machine is noisy, the CPU
    // each client spends on the same bytes is not.
    const cpu = { jumpgate: [], ssh: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const tool of round % 2 === 0 ? tools : [...tools].reverse()) {
        const cpuBefore = cpuSeconds(fwd[tool].pid);
        const start = performance.now();
        await download(fwd[tool].port, BULK);
        bulk[tool].push(mbps(BULK, performance.now() - start));
        cpu[tool].push(((cpuSeconds(fwd[tool].pid) - cpuBefore) * 1024 ** 3) / BULK);
      }
    }
    rss[cipher] = peakRssMiB(fwd.jumpgate.pid);
    for (const tool of tools) await fwd[tool].stop();
    rows.push({
      line: `bulk ${BULK / 1024 / 1024} MiB, ${cipher} (MB/s, median of ${ROUNDS})`,
      jumpgate: median(bulk.jumpgate),
      ssh: median(bulk.ssh),
      higherIsBetter: true,
    });
    rows.push({
      line: `bulk, ${cipher}: client CPU s per GiB (user+sys, median of ${ROUNDS})`,
      jumpgate: median(cpu.jumpgate),
      ssh: median(cpu.ssh),
      higherIsBetter: false,
    });
    console.error(
      `bulk ${cipher}: jumpgate ${bulk.jumpgate.map((v) => v.toFixed(0)).join(" ")}; ssh ${bulk.ssh.map((v) => v.toFixed(0)).join(" ")} MB/s; CPU s/GiB jumpgate ${cpu.jumpgate.map((v) => v.toFixed(2)).join(" ")}; ssh ${cpu.ssh.map((v) => v.toFixed(2)).join(" ")}`,
    );
  }
  const cipher = CIPHERS[0];
  const echo = {};
  const src = {};
  for (const tool of tools) {
    const port = await freePort();
    echo[tool] = { port, ...(await startForward(tool, config, cipher, port, services.echo)) };
    for (let i = 0; i < 20; i++) await echoOnce(port); // warm-up
    const port2 = await freePort();
    src[tool] = { port: port2, ...(await startForward(tool, config, cipher, port2, services.source)) };
    await download(port2, 1024 * 1024);
  }
  const lat = { jumpgate: [], ssh: [] };
  for (let block = 0; block < (ONLY === "" || ONLY === "latency" ? LATENCY_RUNS / 50 : 0); block++) {
    for (const tool of block % 2 === 0 ? tools : [...tools].reverse()) {
      for (let i = 0; i < 50; i++) lat[tool].push(await echoOnce(echo[tool].port));
    }
  }
  const conc = { jumpgate: [], ssh: [] };
  for (let round = 0; round < (ONLY === "" || ONLY === "concurrent" ? ROUNDS : 0); round++) {
    for (const tool of round % 2 === 0 ? tools : [...tools].reverse()) {
      const start = performance.now();
      await Promise.all(Array.from({ length: STREAMS }, () => download(src[tool].port, STREAM_BYTES)));
      conc[tool].push(mbps(STREAMS * STREAM_BYTES, performance.now() - start));
    }
  }
  const concRss = peakRssMiB(src.jumpgate.pid);
  for (const tool of tools) {
    await echo[tool].stop();
    await src[tool].stop();
  }
  // JG_BENCH_ONLY leaves the other parts' lists empty: report only what ran.
  if (lat.jumpgate.length > 0) {
    rows.push({
      line: `connect + 1-byte echo p50, ${LATENCY_RUNS} sequential each (ms)`,
      jumpgate: quantile(lat.jumpgate, 0.5),
      ssh: quantile(lat.ssh, 0.5),
      higherIsBetter: false,
    });
    rows.push({
      line: "connect + 1-byte echo p95 (ms)",
      jumpgate: quantile(lat.jumpgate, 0.95),
      ssh: quantile(lat.ssh, 0.95),
      higherIsBetter: false,
    });
  }
  if (conc.jumpgate.length > 0) {
    rows.push({
      line: `${STREAMS} concurrent streams x ${STREAM_BYTES / 1024 / 1024} MiB, ${cipher} (MB/s, median of ${ROUNDS})`,
      jumpgate: median(conc.jumpgate),
      ssh: median(conc.ssh),
      higherIsBetter: true,
    });
  }
  console.error(
    `concurrent: jumpgate ${conc.jumpgate.map((v) => v.toFixed(0)).join(" ")}; ssh ${conc.ssh.map((v) => v.toFixed(0)).join(" ")} MB/s`,
  );

  const ssh = spawnSync(findProgram("ssh"), ["-V"], { encoding: "utf8" }).stderr;
  console.log(
    `\n${new Date().toISOString()} · nproc ${os.cpus().length} · node ${process.version} · load ${os.loadavg()[0].toFixed(2)} · ${ssh.trim()}`,
  );
  console.log(
    `jumpgate peak RSS: ${Object.entries(rss)
      .map(([c, v]) => `${c} ${v.toFixed(0)} MiB`)
      .join(", ")}, concurrent ${concRss.toFixed(0)} MiB`,
  );
  console.log("\n| line | jumpgate | ssh | jumpgate vs ssh |\n|---|---:|---:|---:|");
  for (const r of rows) {
    const ratio = r.higherIsBetter ? r.jumpgate / r.ssh : r.ssh / r.jumpgate;
    console.log(`| ${r.line} | ${r.jumpgate.toFixed(2)} | ${r.ssh.toFixed(2)} | ${ratio.toFixed(2)}x |`);
  }
  console.log("\n(ratio > 1: jumpgate better; for latency it is ssh's time / jumpgate's time)");
}

bench()
  .then(() => process.exit(0))
  .catch((error) => {
    console.error(`forward bench failed: ${error.stack ?? error}`);
    process.exit(1);
  });
