#!/usr/bin/env node
// Benchmark (a): one 1 GiB file, `jumpgate cp` against OpenSSH's `scp` (SFTP mode, the 9.2 default)
// and `sftp` (batch put/get), both directions, side by side in one run, against the same real sshd
// on loopback with the same pinned cipher. Every client is a new process per copy (what a user
// typing the command pays, handshake included). Checks each copy's size and, once per direction,
// its sha256 so that a fast wrong copy cannot win.
// Usage: node bench/cp.mjs [--size-mib 1024] [--runs 1]   (needs dist/: npx tsc -p tsconfig.build.json)
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { closeSync, createReadStream, openSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import {
  CRYPTO,
  installTeardownHooks,
  JUMPGATE,
  machineInfo,
  NODE,
  outputTmpfs,
  startServers,
  teardown,
  writeSshConfig,
} from "./lib/lab.mjs";

const TIME = "/usr/bin/time";

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const SIZE_MIB = arg("size-mib", 1024);
const RUNS = arg("runs", 1);

/** One sshd, "server", and an ssh_config that reaches it directly. */
async function setUp() {
  const lab = await startServers("jg-bench-cp-", ["server"]);
  const [s] = lab.servers;
  const config = writeSshConfig(lab, ["Host server", "  HostName 127.0.0.1", `  Port ${s.port}`], {
    isolated: false,
  });
  return { dir: lab.dir, config };
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
  installTeardownHooks("cp bench");
  const { dir, config } = await setUp();
  // Both ends on tmpfs (see outputTmpfs): the disk's writeback is not what is compared.
  const room = 2 * SIZE_MIB + 64;
  const { path: local, tmpfs } = outputTmpfs(dir, "local", room);
  const { path: remote } = outputTmpfs(dir, "remote", room);
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
    `One ${SIZE_MIB} MiB random file, one sshd on 127.0.0.1 (internal-sftp), ${CRYPTO.Ciphers}, best of ${RUNS} interleaved run(s), a new client process per copy, ${tmpfs ? "source and targets on tmpfs" : "source and targets on disk (not root: no tmpfs)"}; CPU is the client's own (with its ssh child), the sshd side is the same for all.`,
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
