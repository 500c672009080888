/**
 * `jumpgate demo` and `jumpgate demo --check`, loaded only when the demo runs (it pulls in ssh2).
 *
 * Both walk the same journey (steps.ts) on the embedded lab (src/demo): a bastion, jaguar, on
 * 127.0.0.1, and an internal host, mcgonagall, reachable only through it. The tour narrates what
 * the steps found, shows the bundled config-examples, and keeps the lab up for the user until
 * Ctrl-C; the check prints one line per step and exits 0 only when every step worked.
 */

import { existsSync } from "node:fs";
import type { ConnectionEvent } from "../../connection/events.js";
import { isJumpgateError, JumpgateError } from "../../errors.js";
import { dashboardWanted, runDemoDashboard } from "./dash.js";
import { type Journey, newJourney, runSteps, STEPS, type StepResult, TOUR_STEPS } from "./steps.js";
import { type Style, styleFor, WIDTH, wrap, wrapRoute } from "./text.js";
import { tourLines } from "./tour.js";

/** Exit status after an interrupted --check (128 + SIGINT, as shells report it). */
const INTERRUPTED = 130;
/** After cleanup, a handle nobody closed must not keep the process alive forever. */
const EXIT_GRACE_MS = 3_000;

/** `jumpgate demo --check`: one line per step; throws (non-zero exit) unless every step worked. */
export async function runDemoCheck(): Promise<number> {
  const out = process.stdout;
  const style = styleFor(out);
  const journey = newJourney();
  const signal = onSignal(journey);
  let results: StepResult[];
  try {
    const report = (r: StepResult) => out.write(`${resultLine(r, style)}\n`);
    const finished = runSteps(journey, STEPS, report, signal.aborted);
    const outcome = await Promise.race([finished, signal.received]);
    if (typeof outcome === "string") {
      out.write(`interrupted (${outcome}): stopping the lab\n`);
      return INTERRUPTED;
    }
    results = outcome;
  } finally {
    await journey.end();
    signal.dispose();
  }
  const failed = results.filter((r) => !r.ok);
  if (failed.length === 0) {
    out.write(`demo check: all ${results.length} steps ok\n`);
    return 0;
  }
  throw new JumpgateError(
    "JG_DEMO_CHECK_FAILED",
    `demo check: ${failed.length} of ${results.length} steps failed, first '${failed[0]?.title}' (see the FAIL lines). ` +
      "The lab is embedded, so unless a line above names a local cause, please report this output.",
  );
}

/**
 * `jumpgate demo`: the journey, then, on a terminal, the dashboard on the demo's gate and its live
 * tunnel until q; elsewhere (a pipe, TERM=dumb, --text) the narrated text, then the lab stays up
 * until SIGINT / SIGTERM.
 */
export async function runDemoTour(opts: { text?: boolean } = {}): Promise<number> {
  const out = process.stdout;
  const style = styleFor(out);
  const journey = newJourney();
  const signal = onSignal(journey);
  try {
    out.write(`${style.bold("jumpgate demo")}: a bastion and an internal host, in this process\n\n`);
    const outcome = await Promise.race([
      runSteps(journey, TOUR_STEPS, undefined, signal.aborted),
      signal.received,
    ]);
    if (typeof outcome === "string") {
      out.write(`Interrupted (${outcome}): stopping the lab.\n`);
      return 0;
    }
    const failure = firstFailure(outcome);
    if (failure !== undefined) throw failure;
    if (
      opts.text !== true &&
      dashboardWanted(out.isTTY === true && process.stdin.isTTY === true, process.env.TERM)
    ) {
      await runDemoDashboard(journey, signal.received);
    } else {
      out.write(`${narrative(journey, style).join("\n")}\n`);
      await signal.received;
    }
    const dir = journey.lab?.dir ?? "";
    out.write("\nStopping the lab...\n");
    await journey.end();
    out.write(
      existsSync(dir)
        ? `Lab stopped, but ${dir} is still there: delete it (it holds the lab's private key).\n`
        : `Lab stopped; ${dir} and the keys in it are deleted.\n`,
    );
    return 0;
  } finally {
    await journey.end();
    signal.dispose();
  }
}

/**
 * The error `jumpgate demo` fails with: the first failed step's own JumpgateError (a bad TMPDIR is
 * JG_USAGE, a changed host key JG_HOSTKEY_MISMATCH), or JG_DEMO_CHECK_FAILED naming the step. The steps
 * that worked before it go to stderr, so the user sees how far the demo got.
 */
function firstFailure(results: readonly StepResult[]): JumpgateError | undefined {
  const index = results.findIndex((r) => !r.ok);
  const failed = results[index];
  if (failed === undefined || failed.ok) return undefined;
  const style = styleFor(process.stderr);
  for (const r of results.slice(0, index)) process.stderr.write(`${resultLine(r, style)}\n`);
  if (isJumpgateError(failed.error)) return failed.error;
  return new JumpgateError(
    "JG_DEMO_CHECK_FAILED",
    `the demo failed at '${failed.title}': ${failed.reason}. 'jumpgate demo --check' lists every step.`,
  );
}

/**
 * SIGINT / SIGTERM: the first one resolves `received` (the caller stops the lab and returns); a
 * second one while stopping exits at once (the lab's exit hook still deletes its dir).
 */
function onSignal(journey: Journey): {
  received: Promise<NodeJS.Signals>;
  aborted: AbortSignal;
  dispose(): void;
} {
  let resolveReceived: (signal: NodeJS.Signals) => void = () => {};
  const received = new Promise<NodeJS.Signals>((r) => {
    resolveReceived = r;
  });
  const abort = new AbortController();
  let count = 0;
  const handler = (signal: NodeJS.Signals): void => {
    count++;
    if (count > 1) process.exit(INTERRUPTED);
    abort.abort();
    resolveReceived(signal);
    // Whoever waits for the signal cleans up; make sure the process then exits even if some
    // handle (a half-closed socket) lingers. Unreferenced: it never keeps the process alive.
    void journey
      .end()
      .then(() => setTimeout(() => process.exit(process.exitCode ?? 0), EXIT_GRACE_MS).unref());
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return {
    received,
    aborted: abort.signal,
    dispose() {
      process.off("SIGINT", handler);
      process.off("SIGTERM", handler);
    },
  };
}

function resultLine(r: StepResult, style: Style): string {
  return r.ok ? `${style.ok("ok")}  ${r.title}` : `${style.fail("FAIL")} ${r.title}: ${r.reason}`;
}

function section(title: string, style: Style): string[] {
  return ["", style.bold(title)];
}

/** What the journey found, for people; every line fits in 80 columns. */
function narrative(j: Journey, style: Style): string[] {
  const lab = j.lab;
  if (lab === undefined) return [];
  const jaguarAt = `${lab.jaguar.host}:${lab.jaguar.port}`;
  const service = `${lab.service.host}:${lab.service.port}`;
  const config = lab.configPath;
  const lines: string[] = [
    style.bold("Started (no root, no sshd, one loopback port):"),
    `  jaguar      the bastion, listening on ${jaguarAt}`,
    "  mcgonagall  an internal host with no address: only jaguar reaches it",
    `              it runs a service on its own ${service} only`,
    ...section("The route, resolved from the lab's ssh_config as ssh does:", style),
    ...wrapRoute(j.route ?? ""),
    ...section("Through jumpgate's connection manager:", style),
    `  $ hostname                 (run on mcgonagall)`,
    `  ${j.hostname ?? ""}`,
    ...serviceLines(j, service),
    ...wrap(
      `mcgonagall without jaguar (-o ProxyJump=none) fails, as it should: ${firstSentence(j.direct ?? "")}`,
      "  ",
      "    ",
    ),
    ...section("Connection events (host keys checked against the lab's known_hosts):", style),
    ...j.events.map((e) => eventLine(e, j)),
    ...wrap(
      `The lab counted ${j.connections?.jaguar ?? "?"} connection to jaguar and ` +
        `${j.connections?.mcgonagall ?? "?"} to mcgonagall: the command and the service channel ` +
        "shared them, and the second lease reused the live route without a handshake.",
      "  ",
      "  ",
    ),
    ...section("The bundled config-examples (how real configs reach mcgonagall):", style),
    ...tourLines(),
    ...section("Try it yourself while the lab runs (OpenSSH's ssh works too):", style),
    `  npx jumpgate ssh -F ${config} mcgonagall`,
    `  npx jumpgate ssh -F ${config} mcgonagall hostname`,
    `  ssh -F ${config} mcgonagall hostname`,
    `  npx jumpgate config -F ${config} --route mcgonagall`,
    ...wrap(
      "In a session: hostname, whoami, echo, exit. The lab wrote a real ssh_config, " +
        `known_hosts and key in ${lab.dir}.`,
      "  ",
      "  ",
    ),
    "",
    style.bold("Press Ctrl-C to stop the lab (it deletes its dir and keys)."),
  ];
  return lines;
}

/** "CODE: what failed. What to do about it." -> "CODE: what failed." (the check prints it all). */
function firstSentence(text: string): string {
  const end = text.indexOf(". ");
  return end < 0 ? text : text.slice(0, end + 1);
}

function serviceLines(j: Journey, service: string): string[] {
  const s = j.service;
  if (s === undefined) return [];
  const reply = s.reply.trimEnd();
  // "got N bytes sha256 <64 hex>" is wider than 80 columns with its label; the digest was
  // checked in full, so an abbreviated one is enough to show.
  const shown = reply.replace(/\b([0-9a-f]{12})[0-9a-f]{40,}([0-9a-f]{4})\b/, "$1...$2");
  return [
    `  -> ${service} on mcgonagall (a direct-tcpip channel), sent:`,
    `     ${JSON.stringify(s.sent)}, then EOF`,
    `  <- ${shown}   (checked)`,
  ];
}

function eventLine(e: ConnectionEvent, j: Journey): string {
  const head = `  ${e.hop.padEnd(10)}  ${e.kind.padEnd(13)}  `;
  let detail: string;
  switch (e.kind) {
    case "connecting": {
      const index = j.hops?.findIndex((h) => h.hop.name === e.hop) ?? -1;
      const parent = index > 0 ? j.hops?.[index - 1]?.hop.name : undefined;
      detail =
        e.transport === "jump" && parent !== undefined
          ? `channel through ${parent} to ${e.address}`
          : `${e.transport} ${e.address}`;
      break;
    }
    case "hostkey":
      detail = e.fingerprint;
      break;
    case "authenticated":
      detail = e.method;
      break;
    case "ready":
      detail = e.reused ? "reused: no new handshake" : "";
      break;
    case "closed":
      detail = e.reason;
      break;
  }
  return `${head}${detail}`.trimEnd().slice(0, WIDTH);
}
