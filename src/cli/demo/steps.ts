/**
 * The demo's journey as a list of steps, shared by `jumpgate demo` (which narrates what the steps
 * found) and `jumpgate demo --check` (which prints one `ok` / `FAIL` line per step).
 *
 * A step is one small async function over the Journey: it does one thing, records what it found
 * for the narrative, and throws when the thing did not work. A step that depends on an earlier
 * one takes what it needs with need(), which turns a missing prerequisite into "not run: ...".
 * Adding a step (a tunnel, a push, the dashboard) is: write the function, add it to STEPS.
 */
import { existsSync } from "node:fs";
import { connect, createServer } from "node:net";
import { join } from "node:path";
import type { ClientChannel } from "ssh2";
import { type CliItem, type ResolvedHop, resolveHops } from "../../config/resolve.js";
import type { ConnectionEvent } from "../../connection/events.js";
import { ConnectionManager, type Lease } from "../../connection/manager.js";
import { createSecurity } from "../../connection/security.js";
import type { SshSession } from "../../connection/session.js";
import { type DemoLab, startDemoLab } from "../../demo/lab.js";
import { serviceReply } from "../../demo/service.js";
import { isJumpgateError } from "../../errors.js";
import { GateClient } from "../../gate/client.js";
import { GateServer } from "../../gate/server.js";
import { silentLogger } from "../../util/log.js";
import { formatRoute } from "../commands/config.js";
import { tunnelOps } from "../dash/ops.js";

/** How long an unused connection stays open in the demo (ControlPersist-like). */
const IDLE_TIMEOUT_MS = 60_000;
/** No step of the demo takes more than a fraction of a second; this only bounds a hang. */
const STEP_TIMEOUT_MS = 20_000;
/** What the demo sends to mcgonagall's localhost-only service. */
export const SERVICE_PAYLOAD = "hello from jumpgate, through jaguar\n";

/** What the steps share: the lab, the connections, and what each step found. */
export interface Journey {
  lab?: DemoLab;
  hops?: ResolvedHop[];
  /** `you -> jaguar (127.0.0.1:PORT) -> mcgonagall (mcgonagall:22)`. */
  route?: string;
  manager?: ConnectionManager;
  /** The lease taken by "connect through jaguar", held until the end. */
  lease?: Lease;
  /** Every event of the journey's manager, in order. */
  events: ConnectionEvent[];
  /** What `hostname` printed on mcgonagall. */
  hostname?: string;
  service?: { sent: string; reply: string; reused: boolean };
  /** Why connecting to mcgonagall without jaguar failed. */
  direct?: string;
  /** The lab's connection counts once both channels were served. */
  connections?: { jaguar: number; mcgonagall: number };
  /** A gate of the demo's own (its socket in the lab dir), and a client of it. */
  gate?: GateServer;
  gateClient?: GateClient;
  /** The tunnel the gate holds: 127.0.0.1:port here -> mcgonagall's localhost-only service. */
  tunnel?: { id: string; port: number; spec: string };
  /** What the service answered through the tunnel. */
  tunnelReply?: string;
  /** Registers cleanup for end(); run last-registered first (connections before the lab). */
  onEnd(cleanup: () => Promise<void> | void): void;
  /** Runs the cleanups; idempotent, never throws. */
  end(): Promise<void>;
}

export function newJourney(): Journey {
  const cleanups: Array<() => Promise<void> | void> = [];
  let ending: Promise<void> | undefined;
  return {
    events: [],
    onEnd: (cleanup) => {
      cleanups.push(cleanup);
    },
    end() {
      ending ??= (async () => {
        for (const cleanup of cleanups.reverse()) {
          try {
            await cleanup();
          } catch {
            // Cleanup is best effort; the step that cares (lab stops cleanly) reports failures.
          }
        }
      })();
      return ending;
    },
  };
}

export interface Step {
  title: string;
  run(j: Journey): Promise<void>;
}

export type StepResult =
  | { title: string; ok: true }
  | { title: string; ok: false; reason: string; error: unknown; notRun: boolean };

/** A prerequisite an earlier step did not produce: the step is reported as not run. */
class NotRun extends Error {}

function need<T>(value: T | undefined, why: string): T {
  if (value === undefined) throw new NotRun(`not run: ${why}`);
  return value;
}

function reasonOf(error: unknown): string {
  if (error instanceof NotRun) return error.message;
  if (isJumpgateError(error)) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no result after ${ms / 1000}s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Runs every step in order (a failure does not stop the later ones), reporting each result.
 * Once `signal` is aborted (Ctrl-C), no further step starts and nothing more is reported.
 */
export async function runSteps(
  j: Journey,
  steps: readonly Step[],
  report: (result: StepResult) => void = () => {},
  signal?: AbortSignal,
): Promise<StepResult[]> {
  const results: StepResult[] = [];
  for (const step of steps) {
    if (signal?.aborted) break;
    let result: StepResult;
    try {
      await withTimeout(step.run(j), STEP_TIMEOUT_MS);
      result = { title: step.title, ok: true };
    } catch (error) {
      result = {
        title: step.title,
        ok: false,
        reason: reasonOf(error),
        error,
        notRun: error instanceof NotRun,
      };
    }
    if (signal?.aborted) break;
    results.push(result);
    report(result);
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// The steps

const LAB_DOWN = "the lab did not start";
const NO_ROUTE = "the route did not resolve";
const NOT_CONNECTED = "no connection through jaguar";

/** The lab's own ssh_config, read with -F as `jumpgate ssh -F <dir>/ssh_config ...` would. */
function hopsFor(lab: DemoLab, items: CliItem[]): ResolvedHop[] {
  return resolveHops({ items, configFile: lab.configPath });
}

async function labStarts(j: Journey): Promise<void> {
  const starting = startDemoLab();
  // Even if this step times out, the lab it eventually starts is stopped (and its keys deleted).
  j.onEnd(() => starting.then((lab) => lab.stop()).catch(() => {}));
  j.lab = await starting;
}

async function routeResolves(j: Journey): Promise<void> {
  const lab = need(j.lab, LAB_DOWN);
  const hops = hopsFor(lab, [{ kind: "destination", value: lab.mcgonagall.name }]);
  const route = formatRoute(hops.map((h) => h.hop));
  const [first, last] = hops;
  const throughJaguar =
    hops.length === 2 &&
    first?.hop.name === "jaguar" &&
    first.hop.hostname === lab.jaguar.host &&
    first.hop.port === lab.jaguar.port &&
    first.hop.transport === "tcp" &&
    last?.hop.name === lab.mcgonagall.name &&
    last.hop.transport === "jump";
  if (!throughJaguar) throw new Error(`expected you -> jaguar -> mcgonagall, got ${route}`);
  j.hops = hops;
  j.route = route;
}

async function connectThroughJaguar(j: Journey): Promise<void> {
  const hops = need(j.hops, NO_ROUTE);
  // jumpgate's own connection manager, as `jumpgate ssh` uses it; BatchMode: never prompt.
  const manager = new ConnectionManager({
    security: createSecurity({ log: silentLogger, batchMode: true }),
    log: silentLogger,
    idleTimeout: IDLE_TIMEOUT_MS,
  });
  manager.on((event) => j.events.push(event));
  j.onEnd(() => manager.close("the demo ended"));
  j.manager = manager;
  j.lease = await manager.acquire(hops);
  for (const { hop } of hops) {
    const seen = j.events.filter((e) => e.hop === hop.name).map((e) => e.kind);
    const expected = ["connecting", "hostkey", "authenticated", "ready"];
    if (seen.join() !== expected.join())
      throw new Error(`${hop.name}: events ${seen.join(", ")}, expected ${expected.join(", ")}`);
  }
}

async function commandRunsOnMcgonagall(j: Journey): Promise<void> {
  const lease = need(j.lease, NOT_CONNECTED);
  const { stdout, stderr, code } = await execText(lease.session, "hostname");
  j.hostname = stdout.trim();
  if (code !== 0) throw new Error(`hostname exited with ${code}: ${stderr.trim()}`);
  if (j.hostname !== "mcgonagall") throw new Error(`hostname printed ${JSON.stringify(stdout)}`);
}

async function serviceReachable(j: Journey): Promise<void> {
  const lab = need(j.lab, LAB_DOWN);
  need(j.lease, NOT_CONNECTED);
  const manager = need(j.manager, NOT_CONNECTED);
  // A second lease on the same route: the manager hands out the live connection, no handshake.
  const lease = await manager.acquire(need(j.hops, NO_ROUTE));
  try {
    const channel = await lease.session.forwardOut(lab.service.host, lab.service.port);
    const payload = Buffer.from(SERVICE_PAYLOAD);
    const reply = await sendThenRead(channel, payload);
    j.service = { sent: SERVICE_PAYLOAD, reply, reused: lease.reused };
    if (reply !== serviceReply(payload))
      throw new Error(`unexpected reply ${JSON.stringify(reply)}, expected ${serviceReply(payload)}`);
  } finally {
    lease.release();
  }
}

async function notReachableDirectly(j: Journey): Promise<void> {
  const lab = need(j.lab, LAB_DOWN);
  const before = lab.stats().connections.mcgonagall;
  const hops = hopsFor(lab, [
    // As `ssh -o ProxyJump=none mcgonagall`. The name mcgonagall has no address outside the lab,
    // and looking it up would ask the system's DNS resolver (traffic off this machine), so the
    // direct attempt goes to loopback, where nothing of the lab's mcgonagall listens.
    { kind: "option", value: "ProxyJump=none" },
    { kind: "option", value: "HostName=127.0.0.1" },
    { kind: "option", value: "ConnectTimeout=5" },
    { kind: "destination", value: lab.mcgonagall.name },
  ]);
  if (hops.length !== 1)
    throw new Error(`ProxyJump=none still routes: ${formatRoute(hops.map((h) => h.hop))}`);
  // A manager of its own, so the journey's events stay about the route through jaguar.
  const manager = new ConnectionManager({
    security: createSecurity({ log: silentLogger, batchMode: true, warn: () => {} }),
    log: silentLogger,
  });
  let connected = false;
  try {
    const lease = await manager.acquire(hops);
    lease.release();
    connected = true;
  } catch (error) {
    j.direct = reasonOf(error);
  } finally {
    await manager.close();
  }
  if (connected) throw new Error("connected to mcgonagall without going through jaguar");
  if (lab.stats().connections.mcgonagall !== before)
    throw new Error("mcgonagall accepted a connection that did not come through jaguar");
}

async function oneJaguarConnection(j: Journey): Promise<void> {
  const lab = need(j.lab, LAB_DOWN);
  need(j.hostname, "the command did not run");
  need(j.service, "the service was not reached");
  const connections = lab.stats().connections;
  j.connections = connections;
  if (connections.jaguar !== 1 || connections.mcgonagall !== 1) {
    throw new Error(
      `the lab counted ${connections.jaguar} jaguar and ${connections.mcgonagall} mcgonagall connections, expected 1 each`,
    );
  }
}

const NO_GATE = "the gate did not start";
const NO_TUNNEL = "the tunnel was not added";
/** What the demo sends through the gate's tunnel. */
export const TUNNEL_PAYLOAD = "hello through the gate's tunnel\n";

async function gateStarts(j: Journey): Promise<void> {
  const lab = need(j.lab, LAB_DOWN);
  // The demo's own gate, in the lab dir (deleted with it): never the user's gate, if one runs.
  const gate = new GateServer({
    dir: join(lab.dir, "gate"),
    persistMs: IDLE_TIMEOUT_MS,
    idleExitMs: null,
    log: silentLogger,
    version: "demo",
  });
  await gate.listen();
  j.onEnd(() => gate.stop("the demo ended"));
  j.gate = gate;
  const { client } = await GateClient.connect(gate.socket);
  j.onEnd(() => client.close());
  j.gateClient = client;
}

/** The request context of a CLI in this process, with the lab's ssh_config as -F. */
export function demoOps(lab: DemoLab) {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (typeof v === "string") env[k] = v;
  return tunnelOps({ configFile: lab.configPath, cwd: process.cwd(), env });
}

async function tunnelAdded(j: Journey): Promise<void> {
  const lab = need(j.lab, LAB_DOWN);
  const client = need(j.gateClient, NO_GATE);
  const port = await freeLoopbackPort();
  const spec = `${port}:${lab.service.host}:${lab.service.port}`;
  const result = await demoOps(lab).add(client, { destination: lab.mcgonagall.name, kind: "local", spec });
  const id = (result as { id?: unknown } | undefined)?.id;
  if (typeof id !== "string" && typeof id !== "number") {
    throw new Error(`the gate added the tunnel but did not name it: ${JSON.stringify(result)}`);
  }
  j.tunnel = { id: String(id), port, spec };
}

async function tunnelServes(j: Journey): Promise<void> {
  const tunnel = need(j.tunnel, NO_TUNNEL);
  const payload = Buffer.from(TUNNEL_PAYLOAD);
  const reply = await sendThroughPort(tunnel.port, payload);
  j.tunnelReply = reply;
  if (reply !== serviceReply(payload))
    throw new Error(`unexpected reply ${JSON.stringify(reply)}, expected ${serviceReply(payload)}`);
}

async function gateCountsTunnel(j: Journey): Promise<void> {
  const tunnel = need(j.tunnel, NO_TUNNEL);
  const reply = need(j.tunnelReply, "nothing went through the tunnel");
  const client = need(j.gateClient, NO_GATE);
  const status = (await client.request("status")) as { tunnels?: unknown[] };
  const stats = (status.tunnels ?? []).find((t) => String((t as { id?: unknown }).id) === tunnel.id) as
    | { state?: string; total?: number; bytesIn?: number; bytesOut?: number }
    | undefined;
  if (stats === undefined) throw new Error(`the gate's status does not list tunnel ${tunnel.id}`);
  const expected = { state: "listening", total: 1, bytesOut: TUNNEL_PAYLOAD.length, bytesIn: reply.length };
  const seen = { state: stats.state, total: stats.total, bytesOut: stats.bytesOut, bytesIn: stats.bytesIn };
  if (JSON.stringify(seen) !== JSON.stringify(expected))
    throw new Error(`tunnel ${tunnel.id}: ${JSON.stringify(seen)}, expected ${JSON.stringify(expected)}`);
}

async function labStopsCleanly(j: Journey): Promise<void> {
  const lab = need(j.lab, LAB_DOWN);
  // Clients first, so that the lab sees clean SSH disconnects rather than cut sockets.
  j.gateClient?.close();
  await j.gate?.stop("the demo ended");
  j.lease?.release();
  await j.manager?.close("the demo ended");
  await lab.stop();
  if (existsSync(lab.dir)) throw new Error(`the lab dir ${lab.dir} (with its private key) is still there`);
  if (await accepts(lab.jaguar.host, lab.jaguar.port))
    throw new Error(`jaguar still accepts connections on ${lab.jaguar.host}:${lab.jaguar.port}`);
}

/** The journey, in order; `jumpgate demo` runs all but the last, then stays up until Ctrl-C. */
export const STEPS: readonly Step[] = [
  { title: "lab starts", run: labStarts },
  { title: "route resolves through jaguar", run: routeResolves },
  { title: "connect through jaguar", run: connectThroughJaguar },
  { title: "command runs on mcgonagall", run: commandRunsOnMcgonagall },
  { title: "localhost-only service reachable through mcgonagall", run: serviceReachable },
  { title: "mcgonagall not reachable directly", run: notReachableDirectly },
  { title: "one jaguar connection served both channels", run: oneJaguarConnection },
  { title: "gate starts", run: gateStarts },
  { title: "gate holds a tunnel to mcgonagall's service", run: tunnelAdded },
  { title: "service reachable through the tunnel", run: tunnelServes },
  { title: "gate counts the tunnel's connection and bytes", run: gateCountsTunnel },
  { title: "lab stops cleanly", run: labStopsCleanly },
];

/** The steps `jumpgate demo` runs before it shows the lab and waits (it stops the lab on Ctrl-C). */
export const TOUR_STEPS: readonly Step[] = STEPS.filter((s) => s.run !== labStopsCleanly);

// ---------------------------------------------------------------------------------------------
// Channel helpers

function execText(
  session: SshSession,
  command: string,
): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return session.exec(command).then(
    ({ channel, done }) =>
      new Promise((resolve, reject) => {
        let stdout = "";
        let stderr = "";
        // Output is buffered until these listeners attach; the outcome was captured at open.
        channel.on("data", (d: Buffer) => {
          stdout += d.toString();
        });
        channel.stderr.on("data", (d: Buffer) => {
          stderr += d.toString();
        });
        channel.once("error", reject);
        done.then(({ code }) => resolve({ stdout, stderr, code }));
      }),
  );
}

/** Writes `payload`, half-closes (EOF), and reads the reply until the other side closes. */
function sendThenRead(channel: ClientChannel, payload: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    let reply = "";
    channel.on("data", (d: Buffer) => {
      reply += d.toString();
    });
    channel.once("error", reject);
    channel.once("close", () => resolve(reply));
    channel.end(payload);
  });
}

/** A loopback port nobody listens on right now (the tunnel's local end). */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
    });
  });
}

/** Connects to 127.0.0.1:port, writes `payload`, half-closes, and reads until the other side closes. */
export function sendThroughPort(port: number, payload: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, allowHalfOpen: true });
    let reply = "";
    socket.on("data", (d: Buffer) => {
      reply += d.toString();
    });
    socket.once("error", reject);
    socket.once("end", () => {
      socket.end();
      resolve(reply);
    });
    socket.once("connect", () => socket.end(payload));
  });
}

/** Whether something accepts a TCP connection at host:port (false once a listener is gone). */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
