#!/usr/bin/env node
// Benchmark: resolving a destination in an ssh_config of N Host blocks, in-process with jumpgate's
// resolver and with OpenSSH's `ssh -G` (a process per run, which is how scripts use it), side by
// side on the same file. Shows that the cost grows linearly with N.
// Usage: node bench/config-resolve.mjs [--runs 20]
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { dumpConfig } from "../dist/config/dump.js";
import { resolve } from "../dist/config/resolve.js";

const runs = Number(process.argv[process.argv.indexOf("--runs") + 1]) || 20;
const sizes = [1_000, 5_000, 10_000];
const dir = mkdtempSync(join(tmpdir(), "jg-bench-config-"));

function makeConfig(blocks) {
  const lines = [];
  for (let i = 0; i < blocks; i++) {
    lines.push(
      `Host host-${i} alias-${i}`,
      `    HostName 127.0.${(i >> 8) & 255}.${i & 255}`,
      `    Port ${2000 + (i % 1000)}`,
    );
    lines.push(`    User user${i % 7}`, `    LocalForward ${10000 + (i % 5000)} localhost:${i % 60000 || 1}`);
    if (i === 0) lines.push("    ProxyJump none");
  }
  lines.push("Host *", "    ServerAliveInterval 30", "    ProxyJump host-0");
  return `${lines.join("\n")}\n`;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function timeJumpgate(file, dest) {
  const samples = [];
  // The first run includes JIT warm-up (what a one-shot CLI pays); the median is the steady state.
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const resolved = resolve({ items: [{ kind: "destination", value: dest }], configFile: file });
    dumpConfig(resolved.options, resolved.hostname);
    samples.push(performance.now() - t0);
  }
  return { first: samples[0], median: median(samples) };
}

function timeOpenSsh(file, dest) {
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync("ssh", ["-G", "-F", file, dest], { encoding: "utf8" });
    samples.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(`ssh -G failed: ${r.stderr}`);
  }
  return median(samples);
}

const rows = [];
for (const size of sizes) {
  const file = join(dir, `config-${size}`);
  writeFileSync(file, makeConfig(size));
  const dest = `host-${size - 1}`;
  // Same answer first: the benchmark is only meaningful if both resolve identically.
  const ours = (() => {
    const r = resolve({ items: [{ kind: "destination", value: dest }], configFile: file });
    return dumpConfig(r.options, r.hostname);
  })();
  const theirs = spawnSync("ssh", ["-G", "-F", file, dest], { encoding: "utf8" }).stdout;
  const identical = ours === theirs;
  rows.push({ size, jumpgate: timeJumpgate(file, dest), openssh: timeOpenSsh(file, dest), identical });
}
rmSync(dir, { recursive: true, force: true });

console.log(`config resolution, median of ${runs} runs, destination = the last Host block`);
console.log(
  "| Host blocks | jumpgate in-process, first run (ms) | jumpgate in-process, median (ms) | ssh -G process, median (ms) | ssh -G / jumpgate (median) | same output |",
);
console.log("|---:|---:|---:|---:|---:|:---:|");
for (const r of rows) {
  console.log(
    `| ${r.size} | ${r.jumpgate.first.toFixed(1)} | ${r.jumpgate.median.toFixed(1)} | ${r.openssh.toFixed(1)} | ${(r.openssh / r.jumpgate.median).toFixed(2)} | ${r.identical ? "yes" : "NO"} |`,
  );
}
const perBlock = rows.map((r) => r.jumpgate.median / r.size);
console.log(
  `jumpgate cost per Host block: ${perBlock.map((v) => `${(v * 1000).toFixed(2)} µs`).join(", ")} (flat = linear)`,
);
if (rows.some((r) => !r.identical)) process.exitCode = 1;
