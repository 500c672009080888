#!/usr/bin/env node
// Benchmark: a cold `jumpgate ssh mcgonagall true` through the bastion jaguar against OpenSSH's
// `ssh mcgonagall true`, side by side in one run, on the same two real sshd servers and the same
// ssh_config. "Cold" = a new client process per run, no shared connection (no ControlMaster, no
// jumpgate pool): what a script or a user typing the command pays every time.
// Also timed, to see where the time goes: the single hop `jaguar true`, bare start-up
// (`jumpgate --version`, `ssh -V`), time to first byte of `echo ok`, and jumpgate's phases measured
// inside the process (the probe below).
// Usage: node bench/ssh-cold.mjs [--runs 15]   (needs dist/: npx tsc -p tsconfig.build.json)
import os from "node:os";
import { performance } from "node:perf_hooks";
import {
  CRYPTO,
  DIST,
  findProgram,
  installTeardownHooks,
  JUMPGATE,
  loginCounter,
  machineInfo,
  NODE,
  setUpJumpLab,
  teardown,
  timeRun,
} from "./lib/lab.mjs";
import { median, ms, p90 } from "./lib/stats.mjs";

// ---------------------------------------------------------------------------------------------
// The probe: one `jumpgate ssh <dest> <command>` done in-process with dist/'s modules, timing each
// phase from the start of the Node process (performance.now() counts from the process's origin).
// It does what src/cli/ssh/main.ts does for a non-tty command, with the same manager and security.
// It runs as `node --input-type=module -e <its source>`, so that nothing of this file (its own
// imports) is loaded before its first line: the first phase is Node's own start-up.

async function probe(dist, configFile, dest, command) {
  const marks = [["Node start-up (to the first line of a script)", performance.now()]];
  const mark = (name) => marks.push([name, performance.now()]);
  await import(`${dist}cli/main.js`);
  mark("load CLI (commander, config)");
  const { resolve, resolveHops } = await import(`${dist}config/resolve.js`);
  await import(`${dist}cli/ssh/main.js`);
  const { ConnectionManager } = await import(`${dist}connection/manager.js`);
  const { createSecurity } = await import(`${dist}connection/security.js`);
  const { createLogger } = await import(`${dist}util/log.js`);
  mark("load ssh2 + connection layer");
  const request = { items: [{ kind: "destination", value: dest }], configFile };
  const resolved = resolve(request);
  const hops = resolveHops(request, resolved);
  mark("resolve config + route");
  const log = createLogger("ERROR");
  const manager = new ConnectionManager({
    security: createSecurity({ log, batchMode: resolved.options.batchMode === 1 }),
    log,
    idleTimeout: 0,
  });
  manager.on((event) => {
    if (event.kind === "ready") mark(`${event.hop}: connect + handshake + auth`);
  });
  try {
    const lease = await manager.acquire(hops);
    const opened = await lease.session.exec(command);
    // exec() resolves with the channel, or with { channel, done } once the outcome is captured early.
    const channel = opened.done instanceof Promise ? opened.channel : opened;
    mark("exec request accepted");
    channel.resume();
    channel.stderr.resume();
    await new Promise((done) => channel.on("close", done));
    mark("command done (channel closed)");
    lease.release();
  } finally {
    await manager.close();
  }
  mark("close requested");
  process.stdout.write(`${JSON.stringify({ marks })}\n`);
}

const PROBE_SOURCE = `await (${probe.toString()})(...process.argv.slice(1, 4), process.argv.slice(4).join(" "));`;

// ---------------------------------------------------------------------------------------------
// The benchmark

async function bench() {
  const runsArg = process.argv.indexOf("--runs");
  const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 15;
  if (!Number.isInteger(runs) || runs < 1 || runs > 1000) throw new Error("--runs takes 1..1000");
  const ssh = findProgram("ssh");
  const info = machineInfo(ssh);
  const loadAtStart = os.loadavg()[0];
  const { config, jaguar, mcgonagall } = await setUpJumpLab("jg-bench-ssh-");

  const logins = loginCounter([jaguar, mcgonagall]);
  /** One client command; `route` = the logins it must cause on [jaguar, mcgonagall]. */
  const command = (client, dest, words, stdout) => ({
    client,
    label: `${client === "jumpgate" ? "jumpgate ssh" : "ssh"} ${dest} ${words.join(" ")}`,
    argv:
      client === "jumpgate"
        ? [NODE, [JUMPGATE, "ssh", "-F", config, dest, ...words]]
        : [ssh, ["-F", config, dest, ...words]],
    route: dest === "mcgonagall" ? [1, 1] : [1, 0],
    stdout,
  });
  const startup = (client) => ({
    client,
    label: client === "jumpgate" ? "jumpgate --version" : "ssh -V",
    argv: client === "jumpgate" ? [NODE, [JUMPGATE, "--version"]] : [ssh, ["-V"]],
    route: [0, 0],
    stdout: undefined,
  });

  /**
   * Runs and checks one case: the right output and the right logins (proof of the route: through
   * mcgonagall, jaguar sees a login too). Anything wrong stops the benchmark, except a wrong exit
   * status from jumpgate when all the work was done: that is counted and reported, as a wrong
   * answer, with the timings.
   */
  const wrongStatus = [];
  const runsOf = new Map();
  const measure = async (c) => {
    const before = logins();
    const r = await timeRun(...c.argv);
    const delta = logins().map((n, i) => n - before[i]);
    const routeOk = delta[0] === c.route[0] && delta[1] === c.route[1];
    const outputOk = c.stdout === undefined || r.stdout === c.stdout;
    if (!routeOk || !outputOk || r.signal !== null || (r.code !== 0 && c.client === "ssh")) {
      throw new Error(
        `${c.label}: exit ${r.code ?? r.signal}, stdout ${JSON.stringify(r.stdout)}, logins on jaguar/mcgonagall ${delta.join("/")} (expected ${c.route.join("/")})\n${r.stderr}`,
      );
    }
    runsOf.set(c.label, (runsOf.get(c.label) ?? 0) + 1);
    if (r.code !== 0) wrongStatus.push({ label: c.label, code: r.code, stderr: r.stderr.trim() });
    return r;
  };

  // Same answer first: both clients, both destinations, `echo ok`.
  const checks = [];
  for (const client of ["jumpgate", "ssh"]) {
    for (const dest of ["mcgonagall", "jaguar"]) {
      const c = command(client, dest, ["echo", "ok"], "ok\n");
      const r = await measure(c);
      checks.push(`${c.label}: "ok", exit ${r.code}, logins jaguar/mcgonagall ${c.route.join("/")}`);
    }
  }

  // The cases, in pairs (jumpgate, OpenSSH). Pairs alternate their order every round (ABBA), and
  // every case runs once per round, so drift and noise spread over both clients alike.
  const pairs = [
    { what: "`mcgonagall true` (via jaguar)", make: (cl) => command(cl, "mcgonagall", ["true"], "") },
    { what: "`jaguar true` (one hop)", make: (cl) => command(cl, "jaguar", ["true"], "") },
    { what: "start-up only (`jumpgate --version` / `ssh -V`)", make: startup },
    { what: "`mcgonagall echo ok`", make: (cl) => command(cl, "mcgonagall", ["echo", "ok"], "ok\n") },
  ].map((p) => ({
    ...p,
    jumpgate: p.make("jumpgate"),
    ssh: p.make("ssh"),
    samples: { jumpgate: [], ssh: [] },
    firstByte: { jumpgate: [], ssh: [] },
    exit0: { jumpgate: 0, ssh: 0 },
  }));
  const probes = [];
  for (let round = 0; round < runs; round++) {
    for (const pair of pairs) {
      for (const client of round % 2 === 0 ? ["jumpgate", "ssh"] : ["ssh", "jumpgate"]) {
        const r = await measure(pair[client]);
        pair.samples[client].push(r.total);
        if (r.firstByte !== null) pair.firstByte[client].push(r.firstByte);
        if (r.code === 0) pair.exit0[client]++;
      }
    }
    const r = await measure({
      client: "jumpgate",
      label: "probe",
      argv: [NODE, ["--input-type=module", "-e", PROBE_SOURCE, "--", DIST, config, "mcgonagall", "true"]],
      route: [1, 1],
      stdout: undefined,
    });
    probes.push([...JSON.parse(r.stdout).marks, ["process exit (seen by the parent)", r.total]]);
  }
  await teardown();

  const print = (line = "") => console.log(line);
  print(
    `cold \`ssh mcgonagall true\` through the bastion jaguar: jumpgate vs OpenSSH, ${runs} runs each, interleaved`,
  );
  for (const line of info) print(line);
  print(
    `load average (1 min): ${loadAtStart.toFixed(2)} at start, ${os.loadavg()[0].toFixed(2)} at end (anything else running on the machine shows here)`,
  );
  print(
    `servers: two OpenSSH sshd on loopback, jaguar 127.0.0.1:${jaguar.port} and mcgonagall 127.0.0.1:${mcgonagall.port}, ` +
      "lab settings (test/support/sshd-config.ts); no network namespaces (not needed to time, so the topology is not enforced)",
  );
  print(
    `crypto: clients and servers pinned to Ciphers ${CRYPTO.Ciphers}, KexAlgorithms ${CRYPTO.KexAlgorithms}, ` +
      `HostKeyAlgorithms ${CRYPTO.HostKeyAlgorithms}; ed25519 user key; both clients do the same crypto`,
  );
  print(
    "remote commands run without the user's ~/.bashrc (sshd SetEnv SHLVL=1: bash sources it only as a top-level shell)",
  );
  print(
    "OpenSSH's ProxyJump runs a second `ssh -W` process for the jaguar hop; jumpgate opens a direct-tcpip channel in-process.",
  );
  print(`checked first: ${checks.join("; ")}`);
  print();
  const med = (pair, client) => median(pair.samples[client]);
  const row = (pair) => {
    const [a, b] = [pair.samples.jumpgate, pair.samples.ssh];
    return `| ${pair.what} | ${ms(median(a))} | ${ms(p90(a))} | ${ms(median(b))} | ${ms(p90(b))} | ${(median(b) / median(a)).toFixed(2)} | ${pair.exit0.jumpgate}/${a.length} | ${pair.exit0.ssh}/${b.length} |`;
  };
  const derived = (what, jg, os) => `| ${what} | ${ms(jg)} | | ${ms(os)} | | ${(os / jg).toFixed(2)} | | |`;
  const [viaJaguar, oneHop, bare, echo] = pairs;
  print(
    "| command | jumpgate median (ms) | jumpgate p90 (ms) | ssh median (ms) | ssh p90 (ms) | ssh / jumpgate (median) | jumpgate exit 0 | ssh exit 0 |",
  );
  print("|---|---:|---:|---:|---:|---:|---:|---:|");
  for (const pair of [viaJaguar, oneHop, bare]) print(row(pair));
  print(
    derived(
      "second hop (mcgonagall - jaguar, medians)",
      med(viaJaguar, "jumpgate") - med(oneHop, "jumpgate"),
      med(viaJaguar, "ssh") - med(oneHop, "ssh"),
    ),
  );
  print(
    derived(
      "one hop without start-up (jaguar - start-up, medians)",
      med(oneHop, "jumpgate") - med(bare, "jumpgate"),
      med(oneHop, "ssh") - med(bare, "ssh"),
    ),
  );
  print();
  print("time to first byte: `mcgonagall echo ok` (via jaguar)");
  print(
    "| client | first byte median (ms) | first byte p90 (ms) | exit median (ms) | exit p90 (ms) | exit 0 |",
  );
  print("|---|---:|---:|---:|---:|---:|");
  for (const client of ["jumpgate", "ssh"]) {
    const [f, t] = [echo.firstByte[client], echo.samples[client]];
    print(
      `| ${client === "ssh" ? "ssh" : "jumpgate ssh"} | ${ms(median(f))} | ${ms(p90(f))} | ${ms(median(t))} | ${ms(p90(t))} | ${echo.exit0[client]}/${t.length} |`,
    );
  }
  print();
  print(
    "where jumpgate's time goes: `jumpgate ssh mcgonagall true` done in-process (the probe), ms since the Node process started",
  );
  print("| phase | ends at, median (ms) | phase alone, median (ms) | phase alone, p90 (ms) |");
  print("|---|---:|---:|---:|");
  for (const [k, [name]] of probes[0].entries()) {
    const at = probes.map((p) => p[k][1]);
    const alone = probes.map((p) => p[k][1] - (k === 0 ? 0 : p[k - 1][1]));
    print(`| ${name} | ${ms(median(at))} | ${ms(median(alone))} | ${ms(p90(alone))} |`);
  }
  if (wrongStatus.length > 0) {
    const byLabel = new Map();
    for (const w of wrongStatus) byLabel.set(w.label, [...(byLabel.get(w.label) ?? []), w]);
    print();
    for (const [label, ws] of byLabel) {
      const codes = [...new Set(ws.map((w) => w.code))].join(", ");
      const stderr = ws.find((w) => w.stderr !== "")?.stderr.split("\n")[0];
      print(
        `WRONG EXIT STATUS: \`${label}\` exited ${codes} in ${ws.length} of its ${runsOf.get(label)} runs although the remote command exited 0 and OpenSSH reported 0 (stderr: ${stderr === undefined ? "empty" : JSON.stringify(stderr)}).`,
      );
    }
    process.exitCode = 1;
  }
}

installTeardownHooks("ssh-cold");
try {
  await bench();
} finally {
  await teardown();
}
