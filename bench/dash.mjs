#!/usr/bin/env node
// Benchmark: what one live update of `jumpgate dash` costs. OpenSSH has no dashboard to compare
// with, so the comparison is with the naive way: repainting the whole screen each time.
//  1. CPU: model reduce + text render of one stats snapshot, for 1 / 20 / 200 tunnels, at 80x24
//     and 200x50 (median over many snapshots whose counters all change).
//  2. Terminal bytes: the real blessed view (smartCSR) writing to a fake 80x24 TTY: the first
//     draw, an update where one tunnel's counters changed, an update where nothing visible changed,
//     against the bytes of a full repaint.
// Runs the BUILT code (dist/): build first (npx tsc -p tsconfig.build.json).
// Usage: node bench/dash.mjs [--snapshots 400]
import { cpus } from "node:os";
import { PassThrough } from "node:stream";

const { initialState, reduce } = await import("../dist/dashboard/model.js");
const { renderMain } = await import("../dist/dashboard/render.js");

const snapshots = Number(process.argv[process.argv.indexOf("--snapshots") + 1]) || 400;
const T0 = 1_700_000_000_000;

function tunnels(n, step) {
  return Array.from({ length: n }, (_, i) => ({
    id: String(i + 1),
    kind: "local",
    spec: `${20000 + i}:localhost:12345`,
    state: "listening",
    active: i % 3,
    total: 10 + step,
    bytesIn: step * 40_000 * (i + 1),
    bytesOut: step * 900,
    lastError: i % 7 === 0 ? "connect to 10.0.0.9:80 refused" : null,
    destination: "mcgonagall",
    hops: ["jaguar", "mcgonagall"],
  }));
}

function snapshotAt(step, n) {
  return {
    type: "snapshot",
    snapshot: {
      at: T0 + step * 500,
      connections: [
        {
          route: "a",
          hops: ["jaguar"],
          state: "ready",
          since: T0 - 60_000,
          refs: 1,
          channels: 1,
          authMethod: "publickey",
          rttMs: 0.4,
        },
        {
          route: "b",
          hops: ["jaguar", "mcgonagall"],
          state: "ready",
          since: T0 - 60_000,
          refs: 1,
          channels: 2,
          authMethod: "publickey",
          rttMs: 1.1,
        },
      ],
      tunnels: tunnels(n, step),
      transfers: [],
    },
  };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

console.log(`# jumpgate dash: cost of one live update`);
console.log(
  `node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? "?"}, ${new Date().toISOString()}`,
);
console.log("");
console.log("| tunnels | screen | reduce + render, median (µs) | p90 (µs) |");
console.log("|---:|---|---:|---:|");
for (const n of [1, 20, 200]) {
  for (const [width, height] of [
    [80, 24],
    [200, 50],
  ]) {
    let state = initialState(T0);
    const times = [];
    for (let step = 0; step < snapshots; step++) {
      const input = snapshotAt(step, n);
      const t = process.hrtime.bigint();
      state = reduce(state, input);
      renderMain(state, { width, height, tags: true, ascii: false });
      times.push(Number(process.hrtime.bigint() - t) / 1000);
    }
    times.splice(0, 20); // warm-up
    const sorted = [...times].sort((a, b) => a - b);
    console.log(
      `| ${n} | ${width}x${height} | ${median(times).toFixed(0)} | ${sorted[Math.floor(sorted.length * 0.9)].toFixed(0)} |`,
    );
  }
}

// --- terminal bytes through blessed -------------------------------------------------------------
const output = new PassThrough();
Object.assign(output, { isTTY: true, columns: 80, rows: 24, getWindowSize: () => [80, 24] });
const input = new PassThrough();
Object.assign(input, { isTTY: true, setRawMode: () => input });
let written = 0;
output.on("data", (chunk) => {
  written += chunk.length;
});
const blessed = (await import("blessed")).default;
const screen = blessed.screen({
  smartCSR: true,
  input,
  output,
  terminal: "xterm-256color",
  forceUnicode: true,
  warnings: false,
});
screen.program.tput.brokenACS = true;
const box = blessed.box({
  parent: screen,
  top: 0,
  left: 0,
  width: "100%",
  height: "100%",
  tags: true,
  wrap: false,
});
const draw = (state) => {
  box.setContent(renderMain(state, { width: 80, height: 24, tags: true, ascii: false }).join("\n"));
  screen.render();
};
const settle = () => new Promise((r) => setImmediate(r));
let state = initialState(T0);
state = reduce(state, snapshotAt(0, 5));
await settle();
written = 0;
draw(state);
await settle();
const first = written;
// One tunnel's counters move (the others stay), as when traffic passes through one tunnel.
const samples = [];
for (let step = 1; step <= 50; step++) {
  const snap = snapshotAt(0, 5);
  snap.snapshot.at = T0 + step * 500;
  snap.snapshot.tunnels[0].bytesIn = step * 100_000;
  snap.snapshot.tunnels[0].total = 10 + step;
  state = reduce(state, snap);
  written = 0;
  draw(state);
  await settle();
  samples.push(written);
}
// Nothing visible changes: the view's own check skips render() altogether; blessed alone would
// still diff the screen and write nothing.
written = 0;
draw(state);
await settle();
const unchanged = written;
// A full repaint: what clearing and writing the whole screen costs.
written = 0;
screen.clearRegion(0, 80, 0, 24);
screen.alloc();
screen.render();
await settle();
const full = written;
screen.destroy();
console.log("");
console.log("| 80x24, 5 tunnels | bytes to the terminal |");
console.log("|---|---:|");
console.log(`| first draw | ${first} |`);
console.log(`| update, one tunnel's counters changed (median of 50) | ${median(samples)} |`);
console.log(`| update, nothing visible changed | ${unchanged} |`);
console.log(`| full repaint of the same screen | ${full} |`);
process.exit(0);
