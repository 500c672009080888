#!/usr/bin/env node
// Benchmarks (b) and (c) of issue 6: a 5,000-file project tree (~50 MB) pushed and pulled with
// `jumpgate push` / `jumpgate pull` against OpenSSH's pipelines `tar c | ssh host 'tar x -C dir'`
// (and its reverse) and `scp -r`, directly (one sshd) and through the bastion jaguar (ProxyJump),
// side by side in one run, against the same real sshds with the same pinned cipher. Every client is
// a new process per transfer (handshake included, what a user typing the command pays). Each result
// is checked (file count and total bytes) so that a fast wrong transfer cannot win.
// Usage: node bench/push-pull.mjs [--files 5000] [--mib 50] [--runs 3]
//        (needs dist/: npx tsc -p tsconfig.build.json)
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { lstatSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import {
  findProgram,
  installTeardownHooks,
  JUMPGATE,
  machineInfo,
  NODE,
  outputTmpfs,
  startServers,
  teardown,
  writeSshConfig,
} from "./lib/lab.mjs";
import { median } from "./lib/stats.mjs";

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const FILES = arg("files", 5000);
const MIB = arg("mib", 50);
const RUNS = arg("runs", 3);

/** sshd jaguar and sshd mcgonagall; mcgonagall reached directly ("direct") and through jaguar. */
async function setUp() {
  const lab = await startServers("jg-bench-tar-", ["jaguar", "mcgonagall"]);
  const [jaguar, mcgonagall] = lab.servers;
  const config = writeSshConfig(
    lab,
    [
      // "direct": mcgonagall's sshd straight; "mcgonagall": the same sshd through jaguar.
      "Host direct",
      "  HostName 127.0.0.1",
      `  Port ${mcgonagall.port}`,
      "Host mcgonagall",
      "  HostName 127.0.0.1",
      `  Port ${mcgonagall.port}`,
      "  ProxyJump jaguar",
      "Host jaguar",
      "  HostName 127.0.0.1",
      `  Port ${jaguar.port}`,
    ],
    { isolated: false },
  );
  return { dir: lab.dir, config };
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

/**
 * Runs one transfer: its wall time, and the CPU (user + sys) of the local side (the client and its
 * children: jumpgate alone, or sh + tar + ssh, or scp + ssh) from /usr/bin/time, which moves much
 * less with the VM's load than the wall time.
 */
function timed(label, command, args) {
  const t0 = performance.now();
  const r = spawnSync("/usr/bin/time", ["-f", "%U %S", command, ...args], {
    stdio: ["ignore", "ignore", "pipe"],
    timeout: 600_000,
  });
  const seconds = (performance.now() - t0) / 1000;
  const stderr = r.stderr.toString();
  if (r.status !== 0) throw new Error(`${label} failed (${r.status}): ${stderr}`);
  const [user, sys] = stderr.trim().split("\n").at(-1).split(" ").map(Number);
  return { seconds, cpu: user + sys };
}

async function bench() {
  installTeardownHooks("push-pull bench");
  const { dir, config } = await setUp();
  const ssh = findProgram("ssh");
  const scp = findProgram("scp");
  const src = join(dir, "tree");
  const total = makeTree(src);
  const want = measure(src);
  // Every tool writes into the same tmpfs (see outputTmpfs): the source stays on disk, page-cached.
  const outputs = outputTmpfs(dir, "out", Math.ceil((total / 2 ** 20) * 3) + 256);
  console.log(
    `push/pull bench: ${want.files} files, ${(total / 2 ** 20).toFixed(1)} MiB, ${RUNS} round(s), median reported`,
  );
  console.log(
    outputs.tmpfs
      ? "outputs: a tmpfs (both sides are on this machine; file creation costs the same for every tool)"
      : "outputs: a plain directory (not root: no tmpfs); file system noise is included",
  );
  for (const line of machineInfo(ssh)) console.log(line);
  let n = 0;
  const fresh = () => join(outputs.path, `out${n++}`);
  const check = (label, out) => {
    const got = measure(out);
    if (got.files !== want.files || got.bytes !== want.bytes)
      throw new Error(
        `${label}: got ${got.files} files / ${got.bytes} B, want ${want.files} / ${want.bytes}`,
      );
    rmSync(out, { recursive: true, force: true });
  };
  const tools = (host) => ({
    push: {
      jg: (out) => [NODE, [JUMPGATE, "push", "-q", "-F", config, src, `${host}:${out}`]],
      tar: (out) => [
        "sh",
        [
          "-c",
          `tar -C ${shq(src)} -c . | ${shq(ssh)} -F ${shq(config)} ${host} ${shq(`mkdir -p ${shq(out)} && tar -x -C ${shq(out)}`)}`,
        ],
      ],
      scp: (out) => [scp, ["-q", "-r", "-F", config, src, `${host}:${out}`]],
    },
    pull: {
      jg: (out) => [NODE, [JUMPGATE, "pull", "-q", "-F", config, `${host}:${src}`, out]],
      tar: (out) => [
        "sh",
        [
          "-c",
          `mkdir -p ${shq(out)} && ${shq(ssh)} -F ${shq(config)} ${host} ${shq(`tar -C ${shq(src)} -c .`)} | tar -x -C ${shq(out)}`,
        ],
      ],
      scp: (out) => [scp, ["-q", "-r", "-F", config, `${host}:${src}`, out]],
    },
  });
  const rows = [];
  for (const host of ["direct", "mcgonagall"]) {
    const route = host === "direct" ? "direct" : "through jaguar";
    for (const op of ["push", "pull"]) {
      const times = { jg: [], tar: [], scp: [] };
      const cpu = { jg: [], tar: [], scp: [] };
      // Rounds alternate the tools, so that a slow moment of the VM is shared rather than pinned
      // on one tool; the median of the rounds is reported.
      for (let r = 0; r < RUNS; r++) {
        for (const tool of ["jg", "tar", "scp"]) {
          const out = fresh();
          const [command, args] = tools(host)[op][tool](out);
          const t = timed(`${op} ${tool}`, command, args);
          times[tool].push(t.seconds);
          cpu[tool].push(t.cpu);
          check(`${op} ${tool}`, out);
        }
      }
      rows.push({
        what: `${op}, ${route}`,
        jg: median(times.jg),
        tar: median(times.tar),
        scp: median(times.scp),
        cpu: { jg: median(cpu.jg), tar: median(cpu.tar), scp: median(cpu.scp) },
      });
    }
  }
  console.log("");
  console.log(
    "| transfer | jumpgate (s) | tar + ssh (s) | scp -r (s) | vs tar + ssh | vs scp -r | local CPU s: jumpgate / tar + ssh / scp |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(
      `| ${r.what} | ${r.jg.toFixed(2)} | ${r.tar.toFixed(2)} | ${r.scp.toFixed(2)} | ${(r.tar / r.jg).toFixed(2)}x | ${(r.scp / r.jg).toFixed(2)}x | ${r.cpu.jg.toFixed(2)} / ${r.cpu.tar.toFixed(2)} / ${r.cpu.scp.toFixed(2)} |`,
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
