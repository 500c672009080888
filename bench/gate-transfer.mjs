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
import { spawnSync } from "node:child_process";
import { accessSync, mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import {
  adoptMasterSockets,
  findProgram,
  installTeardownHooks,
  JUMPGATE,
  loginCounter,
  machineInfo,
  NODE,
  owned,
  routeTimer,
  setUpJumpLab,
  startGate,
  teardown,
  writeControlMasterConfig,
} from "./lib/lab.mjs";
import { median, ms, p90 } from "./lib/stats.mjs";

// ---------------------------------------------------------------------------------------------
// In-process probe

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
  const { config, jaguar, mcgonagall } = await setUpJumpLab("jg-bench-gate-transfer-");
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

  const cmConfig = writeControlMasterConfig(dir, config);
  const { runtime, gateEnv } = startGate(dir);
  const plainEnv = { ...process.env, JUMPGATE_NO_GATE: "1", XDG_RUNTIME_DIR: runtime };

  const logins = loginCounter([jaguar, mcgonagall]);
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
  const measure = routeTimer(logins);
  // Warm-up: the gate and the master open their connections (one login per hop each).
  await measure(cases.cpGate, [1, 1]);
  await measure(cases.scpMaster, [1, 1]);
  adoptMasterSockets(dir);
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

installTeardownHooks("gate-transfer bench");
try {
  await bench();
} finally {
  await teardown();
}
