#!/usr/bin/env node
// Benchmark: ten sequential `jumpgate ssh mcgonagall true` through the bastion jaguar with the gate
// warm, against ten `ssh mcgonagall true` (OpenSSH, a new connection each time) and ten with
// OpenSSH's ControlMaster/ControlPersist warm, side by side in one run, on the same two real sshd
// servers and the same ssh_config (the setup is bench/ssh-cold.mjs's). The sshd logs prove the
// routes: the gate and the ControlMaster runs must cause no login at all, plain ssh one per hop.
// Also: Node's bare start-up and what the gate client's path loads (the budget the goal is about).
// Usage: node bench/gate.mjs [--runs 10]   (needs dist/: npx tsc -p tsconfig.build.json)
import os from "node:os";
import { performance } from "node:perf_hooks";
import {
  adoptMasterSockets,
  CRYPTO,
  DIST,
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
  timeRun,
  writeControlMasterConfig,
} from "./lib/lab.mjs";
import { median, ms, p90 } from "./lib/stats.mjs";

// ---------------------------------------------------------------------------------------------
// In-process probes

/**
 * What the gate client's path costs inside Node: the modules `jumpgate ssh` loads when a gate runs
 * (main.js, the ssh argument parser, the gate client and codec, the terminal helpers), timed in a
 * fresh process from its first line.
 */
async function probe(dist) {
  const t0 = performance.now();
  await import(`${dist}cli/main.js`);
  await import(`${dist}cli/commands/ssh.js`);
  await import(`${dist}gate/client.js`);
  await import(`${dist}cli/gate/ssh.js`);
  const t1 = performance.now();
  process.stdout.write(`${JSON.stringify({ startup: t0, load: t1 - t0 })}\n`);
}
const PROBE_SOURCE = `await (${probe.toString()})(process.argv[1]);`;

/**
 * Inside one CLI process, where a gate run's time goes: connect + hello, the session request
 * (the gate resolves the config, opens the exec channel on its warm connection), and the command
 * until its EXIT frame.
 */
async function gatePhases(dist, configFile, dest = "mcgonagall") {
  const { performance: perf } = await import("node:perf_hooks");
  const { connectIfRunning } = await import(`${dist}gate/client.js`);
  const t0 = perf.now();
  const { client } = await connectIfRunning();
  const t1 = perf.now();
  let t3 = 0;
  const exited = new Promise((r) => {
    client.onStreamFrame = (f) => {
      if (f.type === "exit") {
        t3 = perf.now();
        r();
      }
    };
  });
  const env = Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined));
  const args = { items: [{ kind: "destination", value: dest }], configFile, cwd: process.cwd(), env };
  await client.request("session", { ...args, command: ["true"], tty: "no", stdinIsTTY: false });
  const t2 = perf.now();
  await exited;
  client.close();
  process.stdout.write(`${JSON.stringify({ connect: t1 - t0, session: t2 - t1, exit: t3 - t2 })}\n`);
}
const PHASES_SOURCE = `await (${gatePhases.toString()})(process.argv[1], process.argv[2], process.argv[3]);`;

// ---------------------------------------------------------------------------------------------
// The benchmark

async function bench() {
  const runsArg = process.argv.indexOf("--runs");
  const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 10;
  if (!Number.isInteger(runs) || runs < 1 || runs > 1000) throw new Error("--runs takes 1..1000");
  const ssh = findProgram("ssh");
  owned.ssh = ssh;
  const info = machineInfo(ssh);
  const loadAtStart = os.loadavg()[0];
  const { config, jaguar, mcgonagall } = await setUpJumpLab("jg-bench-gate-");
  owned.config = config;
  const dir = owned.dir;

  // OpenSSH with connection sharing: the same config plus ControlMaster/ControlPersist.
  const cmConfig = writeControlMasterConfig(dir, config);
  // jumpgate's gate, in a runtime directory of its own.
  const { gateEnv } = startGate(dir);
  const plainEnv = { ...process.env, JUMPGATE_NO_GATE: "1" };

  const logins = loginCounter([jaguar, mcgonagall]);
  const cases = {
    gate: {
      label: "jumpgate ssh via the warm gate",
      argv: [NODE, [JUMPGATE, "ssh", "-F", config, "mcgonagall", "true"]],
      env: gateEnv,
      route: [0, 0],
    },
    plain: {
      label: "ssh (new connection each time)",
      argv: [ssh, ["-F", config, "mcgonagall", "true"]],
      env: plainEnv,
      route: [1, 1],
    },
    master: {
      label: "ssh with ControlMaster warm",
      argv: [ssh, ["-F", cmConfig, "mcgonagall", "true"]],
      env: plainEnv,
      route: [0, 0],
    },
  };
  const measure = routeTimer(logins);
  // Warm-up: the gate and the master open their connections (one login per hop each), and the
  // check that they really are shared afterwards is the `route` of every timed run.
  await measure(cases.gate, [1, 1]);
  await measure(cases.master, [1, 1]);
  adoptMasterSockets(dir);
  const samples = { gate: [], plain: [], master: [] };
  const orders = [
    ["gate", "master", "plain"],
    ["plain", "master", "gate"],
    ["master", "gate", "plain"],
  ];
  for (let round = 0; round < runs; round++) {
    for (const name of orders[round % orders.length]) samples[name].push(await measure(cases[name]));
  }
  // Node alone, and the gate client's module load, for the reading.
  const bare = [];
  const loads = [];
  for (let i = 0; i < runs; i++) {
    bare.push((await timeRun(NODE, ["-e", ""], process.env)).total);
    const p = await timeRun(NODE, ["--input-type=module", "-e", PROBE_SOURCE, DIST], process.env);
    loads.push(JSON.parse(p.stdout));
  }
  const phases = [];
  for (let i = 0; i < runs; i++) {
    const p = await timeRun(NODE, ["--input-type=module", "-e", PHASES_SOURCE, DIST, config], gateEnv);
    phases.push(JSON.parse(p.stdout));
  }
  const print = (line = "") => console.log(line);
  print(
    `\`ssh mcgonagall true\` through the bastion jaguar, ${runs} sequential runs per client, interleaved`,
  );
  for (const line of info) print(line);
  print(`load average (1 min): ${loadAtStart.toFixed(2)} at start, ${os.loadavg()[0].toFixed(2)} at end`);
  print(
    `servers: two OpenSSH sshd on loopback (jaguar 127.0.0.1:${jaguar.port}, mcgonagall 127.0.0.1:${mcgonagall.port}), pinned crypto ${Object.values(CRYPTO).join(", ")}`,
  );
  print(
    "checked: every timed gate and ControlMaster run caused 0 logins on both sshds; every plain ssh run 1 on each",
  );
  print();
  print(
    "| client | median (ms) | p90 (ms) | min (ms) | vs ControlMaster (median) | plain ssh / client (median) |",
  );
  print("|---|---:|---:|---:|---:|---:|");
  const m = (k) => median(samples[k]);
  for (const k of ["gate", "master", "plain"]) {
    const v = samples[k];
    print(
      `| ${cases[k].label} | ${ms(m(k))} | ${ms(p90(v))} | ${ms(Math.min(...v))} | ${(m(k) / m("master")).toFixed(2)}x | ${(m("plain") / m(k)).toFixed(2)}x |`,
    );
  }
  print();
  print("| Node.js cost | median (ms) | p90 (ms) |");
  print("|---|---:|---:|");
  print(`| \`node -e ""\` (process start to exit) | ${ms(median(bare))} | ${ms(p90(bare))} |`);
  print(
    `| Node start-up to a script's first line | ${ms(median(loads.map((l) => l.startup)))} | ${ms(p90(loads.map((l) => l.startup)))} |`,
  );
  print(
    `| loading the gate client's path (main, ssh args, gate client + codec, terminal) | ${ms(median(loads.map((l) => l.load)))} | ${ms(p90(loads.map((l) => l.load)))} |`,
  );
  print();
  print("inside one gate client (the probe): median ms");
  print(
    "| connect + hello | session request answered (gate resolves config, opens the exec channel) | command until EXIT |",
  );
  print("|---:|---:|---:|");
  const pm = (k) => ms(median(phases.map((p) => p[k])));
  print(`| ${pm("connect")} | ${pm("session")} | ${pm("exit")} |`);
  const goal1 = m("gate") <= 1.2 * m("master");
  const goal2 = m("plain") / m("gate") >= 4;
  print();
  print(
    `goal "within 1.2x of ControlMaster": ${goal1 ? "met" : "NOT met"} (${(m("gate") / m("master")).toFixed(2)}x); goal ">= 4x faster than plain ssh": ${goal2 ? "met" : "NOT met"} (${(m("plain") / m("gate")).toFixed(2)}x)`,
  );
}

installTeardownHooks("gate bench");
try {
  await bench();
} finally {
  await teardown();
}
