/**
 * `jumpgate demo` on a terminal: after the journey's steps, the dashboard opens on the demo's own
 * gate, which holds a tunnel through jaguar to mcgonagall's localhost-only service. A small
 * request goes through that tunnel every second, so the counters, the rate and the sparkline move.
 * q (or Ctrl-C) closes the dashboard; the caller then stops the lab.
 */
import type { InputSource } from "../../dashboard/app.js";
import { startApp } from "../../dashboard/app.js";
import { gateFeed } from "../../dashboard/gate-feed.js";
import { GateClient } from "../../gate/client.js";
import { agentSource } from "../dash/agent.js";
import { validateForward } from "../dash/validate.js";
import { demoOps, type Journey, sendThroughPort } from "./steps.js";

/** The dashboard replaces the text tour only on a terminal that can draw it. */
export function dashboardWanted(isTTY: boolean, term: string | undefined): boolean {
  return isTTY && term !== undefined && term !== "" && term !== "dumb";
}

/** Every second, a request of a few KB through the tunnel (and its reply back). */
function trafficSource(port: number, intervalMs = 1000): InputSource {
  return () => {
    let n = 0;
    const timer = setInterval(() => {
      // Sizes that vary, so that the sparkline has a shape.
      const size = 4096 * (1 + ((n * 7) % 13));
      n++;
      sendThroughPort(port, Buffer.alloc(size, 0x61)).catch(() => {
        // The tunnel shows its own errors (last error, state); the traffic is only decoration.
      });
    }, intervalMs);
    return () => clearInterval(timer);
  };
}

function hintSource(text: string): InputSource {
  return (dispatch) => {
    dispatch({ type: "event", at: Date.now(), event: { kind: "demo", message: text } });
    return () => {};
  };
}

/**
 * Runs the dashboard until the user quits or `stop` resolves (SIGINT / SIGTERM). Returns false
 * when the journey has no gate or tunnel to show (the caller falls back to the text tour).
 */
export async function runDemoDashboard(j: Journey, stop: Promise<unknown>): Promise<boolean> {
  const lab = j.lab;
  const gate = j.gate;
  const tunnel = j.tunnel;
  if (lab === undefined || gate === undefined || tunnel === undefined) return false;
  const feed = gateFeed({
    connect: async () => (await GateClient.connect(gate.socket)).client,
    ops: demoOps(lab),
  });
  const { createView, utf8Locale } = await import("../../dashboard/view.js");
  const ascii = !utf8Locale(process.env);
  const app = startApp({
    feed,
    deps: { validateForward },
    sources: [
      agentSource(process.env.SSH_AUTH_SOCK),
      trafficSource(tunnel.port),
      // Shown as "demo: ..." in the footer until a newer event; fits in 80 columns.
      hintSource(`127.0.0.1:${tunnel.port} leads to mcgonagall's service · q stops the lab`),
    ],
    createView: ({ onKey }) => createView({ onKey, ascii }),
  });
  void stop.then(() => app.quit());
  await app.done;
  return true;
}
