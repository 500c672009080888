/**
 * Tunnels held by the gate: they outlive the CLI that asked for them, keep their local listeners
 * when a hop drops (state "reconnecting"), and come back with backoff. Each tunnel holds a lease
 * on its route, so the connection it uses never idles out under it.
 */
import { type Forward, parseForwardOf } from "../config/forward.js";
import { ADDRESS_FAMILY, type Options } from "../config/options.js";
import type { ResolvedHop } from "../config/resolve.js";
import type { TunnelStats } from "../connection/events.js";
import type { ConnectionManager, Lease } from "../connection/manager.js";
import { createBatchModePrompter } from "../connection/prompt.js";
import type { SshSession } from "../connection/session.js";
import { JumpgateError } from "../errors.js";
import type { ListenOptions } from "../forward/local.js";
import { Tunnel, type TunnelKind } from "../forward/tunnel.js";
import type { Logger } from "../util/log.js";
import { checkContext, resolveForClient } from "./resolve.js";
import type { GateSecurity, RequestContext } from "./security.js";

/** One row of `tunnels ls` / status: the tunnel's stats plus where it goes. */
export interface TunnelRow extends TunnelStats {
  destination: string;
  route: string;
  hops: string[];
}

/** Backoff between reconnection attempts after a failure: 1 s, doubling, at most 30 s. */
const BACKOFF_START_MS = 1000;
const BACKOFF_MAX_MS = 30_000;

interface Held {
  tunnel: Tunnel;
  destination: string;
  hops: ResolvedHop[];
  lease: Lease | null;
  retry: NodeJS.Timeout | null;
  backoff: number;
  removed: boolean;
}

function listenOptions(o: Options): ListenOptions {
  return {
    gatewayPorts: o.gatewayPorts === 1,
    addressFamily:
      o.addressFamily === ADDRESS_FAMILY.inet
        ? "inet"
        : o.addressFamily === ADDRESS_FAMILY.inet6
          ? "inet6"
          : "any",
    bindMask: o.streamlocalBindMask >= 0 ? o.streamlocalBindMask : 0o177,
    bindUnlink: o.streamlocalBindUnlink === 1,
  };
}

/** The config's forwards of a destination, as `ssh` would start them: -L, -D, then -R. */
function configForwards(o: Options): Array<{ kind: TunnelKind; spec: Forward }> {
  const out: Array<{ kind: TunnelKind; spec: Forward }> = [];
  for (const spec of o.localForwards) {
    out.push({ kind: spec.connectHost === "socks" && spec.connectPath === null ? "dynamic" : "local", spec });
  }
  for (const spec of o.remoteForwards) out.push({ kind: "remote", spec });
  return out;
}

export class GateTunnels {
  private readonly held = new Map<string, Held>();

  constructor(
    private readonly manager: ConnectionManager,
    private readonly security: GateSecurity,
    private readonly log: Logger,
  ) {}

  /**
   * `tunnels add`: args as the session request's (items with the destination, configFile, cwd,
   * env) plus `kind` and `spec` (`8080:localhost:80`). Resolves with the new tunnel's row.
   */
  async add(raw: unknown, context: RequestContext): Promise<TunnelRow> {
    const args = checkContext(raw);
    const { kind, spec } = raw as { kind?: unknown; spec?: unknown };
    if ((kind !== "local" && kind !== "remote" && kind !== "dynamic") || typeof spec !== "string") {
      throw new JumpgateError(
        "JG_GATE_PROTOCOL",
        "tunnels.add needs kind (local, remote, dynamic) and spec.",
      );
    }
    const forward = parseForwardOf(kind, spec, (s) => s);
    if (forward === null) {
      const flag = kind === "local" ? "-L" : kind === "remote" ? "-R" : "-D";
      throw new JumpgateError("JG_FORWARD_SPEC", `Bad ${flag} specification '${spec}'.`);
    }
    // The forward is the one given here, not the config's LocalForward lines (`tunnels up` does those).
    const items = args.items.filter((i) => i.kind !== "local" && i.kind !== "remote" && i.kind !== "dynamic");
    const { resolved, hops } = resolveForClient({ ...args, items });
    return this.start(kind, forward, resolved.options, hops, resolved.hostArg, context);
  }

  /** `tunnels up destination`: the destination's LocalForward/RemoteForward/DynamicForward lines. */
  async up(raw: unknown, context: RequestContext): Promise<TunnelRow[]> {
    const args = checkContext(raw);
    const { resolved, hops } = resolveForClient(args);
    const forwards = configForwards(resolved.options);
    if (forwards.length === 0) {
      throw new JumpgateError(
        "JG_FORWARD_SPEC",
        `${resolved.hostArg} has no LocalForward, RemoteForward or DynamicForward in the configuration.`,
      );
    }
    const rows: TunnelRow[] = [];
    for (const { kind, spec } of forwards) {
      rows.push(await this.start(kind, spec, resolved.options, hops, resolved.hostArg, context));
    }
    return rows;
  }

  private async start(
    kind: TunnelKind,
    spec: Forward,
    options: Options,
    hops: ResolvedHop[],
    destination: string,
    context: RequestContext,
  ): Promise<TunnelRow> {
    this.security.tag(hops, context);
    const entry: Held = {
      tunnel: null as unknown as Tunnel,
      destination,
      hops,
      lease: null,
      retry: null,
      backoff: BACKOFF_START_MS,
      removed: false,
    };
    const open = async (): Promise<SshSession> => {
      entry.lease?.release();
      entry.lease = null;
      const lease = await this.manager.acquire(hops);
      if (entry.removed) {
        lease.release();
        throw new JumpgateError("JG_CONNECTION_LOST", "the tunnel was removed.");
      }
      entry.lease = lease;
      return lease.session;
    };
    const tunnel = new Tunnel({
      kind,
      spec,
      open,
      listen: listenOptions(options),
      permitRemoteOpen: options.permittedRemoteOpens,
      reconnect: true,
      log: this.log,
    });
    entry.tunnel = tunnel;
    tunnel.on((event) => {
      this.manager.publishTunnel(event);
      if (event.kind !== "tunnel-state") return;
      if (event.state === "listening") entry.backoff = BACKOFF_START_MS;
      if (event.state === "failed" && !entry.removed && this.held.get(tunnel.id) === entry)
        this.scheduleRetry(entry);
    });
    await tunnel.start();
    // Reconnections happen with nobody at a terminal: they must not wait for an answer.
    this.security.tag(hops, {
      prompter: createBatchModePrompter(),
      warn: (text) => this.log.info(`gate: tunnel ${tunnel.id}: ${text}`),
      env: context.env,
    });
    this.held.set(tunnel.id, entry);
    this.log.info(`gate: tunnel ${tunnel.id} ${tunnel.description} via ${destination}`);
    return this.row(entry);
  }

  private scheduleRetry(entry: Held): void {
    if (entry.retry !== null) return;
    const delay = entry.backoff;
    entry.backoff = Math.min(entry.backoff * 2, BACKOFF_MAX_MS);
    this.log.info(`gate: tunnel ${entry.tunnel.id}: reconnecting in ${Math.round(delay / 1000)}s`);
    entry.retry = setTimeout(() => {
      entry.retry = null;
      if (!entry.removed) void entry.tunnel.reattach();
    }, delay);
  }

  private row(entry: Held): TunnelRow {
    return {
      ...entry.tunnel.stats(),
      destination: entry.destination,
      route: entry.lease?.route ?? "",
      hops: entry.hops.map((h) => h.hop.name),
    };
  }

  list(): TunnelRow[] {
    return [...this.held.values()].map((e) => this.row(e));
  }

  private find(id: unknown): Held {
    const entry = typeof id === "string" ? this.held.get(id) : undefined;
    if (entry === undefined) {
      throw new JumpgateError(
        "JG_TUNNEL_NOT_FOUND",
        `No tunnel '${String(id)}' in the gate: see 'jumpgate tunnels ls'.`,
      );
    }
    return entry;
  }

  async remove(id: unknown): Promise<TunnelRow> {
    const entry = this.find(id);
    entry.removed = true;
    if (entry.retry) clearTimeout(entry.retry);
    this.held.delete(entry.tunnel.id);
    await entry.tunnel.close();
    entry.lease?.release();
    entry.lease = null;
    this.log.info(`gate: tunnel ${entry.tunnel.id} removed`);
    return this.row(entry);
  }

  /** Reconnect now (the dashboard's `r`), skipping any backoff wait. */
  async reconnect(id: unknown): Promise<TunnelRow> {
    const entry = this.find(id);
    if (entry.retry) clearTimeout(entry.retry);
    entry.retry = null;
    entry.backoff = BACKOFF_START_MS;
    await entry.tunnel.reattach();
    return this.row(entry);
  }

  async closeAll(): Promise<void> {
    for (const id of [...this.held.keys()]) await this.remove(id).catch(() => undefined);
  }
}
