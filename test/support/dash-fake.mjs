#!/usr/bin/env node
/**
 * The dashboard on a scripted fake feed, for looking at the view in a real terminal (tmux) without
 * a gate: one connection, tunnels whose byte counters grow, an add that succeeds, a drop that works.
 * Runs the BUILT dashboard (dist/), like bin/jumpgate.js: build first (npx tsc -p tsconfig.build.json).
 */
import { startApp } from "../../dist/dashboard/app.js";
import { createView, utf8Locale } from "../../dist/dashboard/view.js";

const started = Date.now();
let tunnels = [
  {
    id: "1",
    kind: "local",
    spec: "1111:localhost:12345",
    state: "listening",
    active: 0,
    total: 0,
    bytesIn: 0,
    bytesOut: 0,
    lastError: null,
    destination: "mcgonagall",
    hops: ["jaguar", "mcgonagall"],
  },
  {
    id: "2",
    kind: "dynamic",
    spec: "1080",
    state: "reconnecting",
    active: 0,
    total: 3,
    bytesIn: 5000,
    bytesOut: 700,
    lastError: "connect to 10.0.0.9:80 refused",
    destination: "jaguar",
    hops: ["jaguar"],
  },
];
let next = 3;
let timer;
const feed = {
  start(dispatch) {
    timer = setInterval(() => {
      const t0 = tunnels.find((t) => t.id === "1");
      if (t0) {
        t0.bytesIn += 20000 + Math.floor(Math.random() * 60000);
        t0.bytesOut += 300;
        t0.total += 1;
      }
      dispatch({
        type: "snapshot",
        snapshot: {
          at: Date.now(),
          connections: [
            {
              route: "u@j:22",
              hops: ["jaguar"],
              state: "ready",
              since: started,
              refs: 2,
              channels: 1,
              authMethod: "publickey",
              rttMs: 0.4,
            },
            {
              route: "u@j:22 -> u@m:22",
              hops: ["jaguar", "mcgonagall"],
              state: "ready",
              since: started,
              refs: 1,
              channels: 2,
              authMethod: "publickey",
              rttMs: 1.2,
            },
          ],
          tunnels: tunnels.map((t) => ({ ...t })),
          transfers: [
            {
              id: "x",
              label: "report.pdf -> mcgonagall:/tmp/",
              bytesDone: (Date.now() - started) * 10,
              bytesTotal: 1_000_000,
            },
          ],
        },
      });
    }, 500);
    dispatch({
      type: "agent",
      keys: [
        {
          fingerprint: "SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
          comment: "me@laptop",
          type: "ED25519",
          bits: 256,
        },
      ],
    });
  },
  async addTunnel(r) {
    if (r.spec.startsWith("22:"))
      throw Object.assign(new Error("127.0.0.1:22 is in use: pick another port."), {
        code: "JG_FORWARD_BIND",
      });
    tunnels.push({
      id: String(next++),
      kind: r.kind,
      spec: r.spec,
      state: "listening",
      active: 0,
      total: 0,
      bytesIn: 0,
      bytesOut: 0,
      lastError: null,
      destination: r.destination,
    });
    return `tunnel ${next - 1} added`;
  },
  async removeTunnel(id) {
    tunnels = tunnels.filter((t) => t.id !== id);
    return `tunnel ${id} dropped`;
  },
  async reconnect(id) {
    return `tunnel ${id} reconnected`;
  },
  stop() {
    clearInterval(timer);
  },
};
const app = startApp({
  feed,
  deps: {
    validateForward: (kind, spec) =>
      /^\d+(:[\w.]+:\d+)?$/.test(spec) ? null : `Bad -${kind[0].toUpperCase()} specification "${spec}".`,
  },
  createView: (h) => createView({ onKey: h.onKey, ascii: !utf8Locale(process.env) }),
});
await app.done;
process.stdout.write("dash exited\n");
