/**
 * The forwards of one CLI run (`jumpgate ssh -L/-R/-D`, `jumpgate forward`, `~C`): starts them
 * with OpenSSH's failure rules, reports through the manager, cancels them by listen port, lists
 * their live connections for `~#`, and closes them all on exit.
 */
import { type Forward, parseForwardOf } from "../../config/forward.js";
import { ADDRESS_FAMILY, type Options } from "../../config/options.js";
import type { ConnectionManager } from "../../connection/manager.js";
import type { SshSession } from "../../connection/session.js";
import { isJumpgateError, JumpgateError } from "../../errors.js";
import type { ListenOptions } from "../../forward/local.js";
import { Tunnel, type TunnelKind } from "../../forward/tunnel.js";
import type { Logger } from "../../util/log.js";

export interface ForwardSetOptions {
  session(): SshSession;
  options: Options;
  log: Logger;
  manager?: ConnectionManager;
  /** Say what each forward listens on once it is up (`jumpgate forward`). */
  announce?: boolean;
  /** The destination's name, for the announcements. */
  via?: string;
}

/** The bind rules and socket options from ssh_config for local listeners. */
export function listenOptions(o: Options): ListenOptions {
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

/** Splits the config's forwards into tunnels to start: -L, then -D (both localForwards), then -R. */
export function forwardsOf(o: Options): Array<{ kind: TunnelKind; spec: Forward }> {
  const out: Array<{ kind: TunnelKind; spec: Forward }> = [];
  for (const spec of o.localForwards) {
    out.push({ kind: spec.connectHost === "socks" && spec.connectPath === null ? "dynamic" : "local", spec });
  }
  for (const spec of o.remoteForwards) out.push({ kind: "remote", spec });
  return out;
}

export class ForwardSet {
  private readonly tunnels: Tunnel[] = [];

  constructor(private readonly opts: ForwardSetOptions) {}

  list(): readonly Tunnel[] {
    return this.tunnels;
  }

  /**
   * Starts every forward of the configuration. A failure is fatal (JumpgateError, exit 255) with
   * ExitOnForwardFailure, otherwise a warning on stderr, as with ssh.
   */
  async startAll(): Promise<void> {
    const exitOnFailure = this.opts.options.exitOnForwardFailure === 1;
    for (const { kind, spec } of forwardsOf(this.opts.options)) {
      try {
        await this.add(kind, spec);
      } catch (error) {
        if (!isJumpgateError(error) || exitOnFailure) throw error;
        this.opts.log.error(`Warning: ${error.message}`);
      }
    }
  }

  /** Starts one forward; rejects with the tunnel's JumpgateError. */
  async add(kind: TunnelKind, spec: Forward): Promise<Tunnel> {
    const tunnel = new Tunnel({
      kind,
      spec,
      open: () => this.opts.session(),
      listen: listenOptions(this.opts.options),
      permitRemoteOpen: this.opts.options.permittedRemoteOpens,
      log: this.opts.log,
    });
    const manager = this.opts.manager;
    if (manager) tunnel.on((event) => manager.publishTunnel(event));
    await tunnel.start();
    this.tunnels.push(tunnel);
    if (kind === "remote" && spec.listenPath === null && spec.listenPort === 0) {
      // OpenSSH's words (logit at INFO), so scripts that parse them keep working.
      const to = spec.connectPath ?? `${spec.connectHost}:${spec.connectPort}`;
      this.opts.log.info(`Allocated port ${tunnel.allocatedPort} for remote forward to ${to}`);
    }
    const where = tunnel.stats().listening.join(", ");
    if (this.opts.announce)
      this.opts.log.info(
        `${announcement(kind, spec, where)}${this.opts.via ? ` (via ${this.opts.via})` : ""}`,
      );
    else this.opts.log.debug(`${tunnel.description}: listening on ${where}.`);
    return tunnel;
  }

  /**
   * `~C -KL/-KR/-KD [bind_address:]port`: stops listening; connections already open carry on,
   * as in OpenSSH. Returns false when no such forward exists.
   */
  async cancel(
    kind: TunnelKind,
    listenHost: string | null,
    port: number | null,
    path: string | null,
  ): Promise<boolean> {
    const found = this.tunnels.find((t) => {
      if (t.kind !== kind) return false;
      if (path !== null) return t.spec.listenPath === path;
      const portMatches = t.spec.listenPort === port || (kind === "remote" && t.allocatedPort === port);
      const hostMatches = listenHost === null || (t.spec.listenHost ?? "") === listenHost;
      return portMatches && hostMatches;
    });
    if (found === undefined) return false;
    this.tunnels.splice(this.tunnels.indexOf(found), 1);
    await found.close({ keepConnections: true });
    return true;
  }

  /** `~#`: one line per live forwarded connection. */
  describeConnections(): string[] {
    const lines: string[] = [];
    for (const t of this.tunnels) {
      for (const c of t.connections()) {
        lines.push(
          `  #${c.conn} ${t.description}: from ${c.from} to ${c.to}, in ${c.bytesIn} out ${c.bytesOut} bytes`,
        );
      }
    }
    return lines;
  }

  async closeAll(): Promise<void> {
    const all = this.tunnels.splice(0);
    await Promise.all(all.map((t) => t.close()));
  }
}

function announcement(kind: TunnelKind, spec: Forward, where: string): string {
  const to = spec.connectPath ?? `${spec.connectHost}:${spec.connectPort}`;
  if (kind === "dynamic") return `SOCKS proxy on ${where}`;
  if (kind === "local") return `Forwarding ${where} -> ${to}`;
  return `Forwarding ${where} (on the server) -> ${to} here`;
}

/** The `~C` command line: `-L spec`, `-R spec`, `-D spec`, `-KL/-KR/-KD [bind:]port`, `?`. */
export async function runEscapeCommand(line: string, forwards: ForwardSet): Promise<string> {
  const text = line.trim();
  if (text === "") return "";
  if (text === "?" || text === "-h" || text === "help") return ESCAPE_COMMAND_HELP;
  const m = /^-(K?)([LRD])\s*(.*)$/.exec(text);
  if (m === null) return "Invalid command.";
  const cancel = m[1] === "K";
  const kind: TunnelKind = m[2] === "L" ? "local" : m[2] === "R" ? "remote" : "dynamic";
  const arg = (m[3] ?? "").trim();
  if (cancel) {
    const spec = parseCancelSpec(arg);
    if (spec === null) return "Bad forwarding close specification.";
    const ok = await forwards.cancel(kind, spec.host, spec.port, spec.path);
    return ok ? "Canceled forwarding." : "Unknown port forwarding.";
  }
  const spec = parseForwardOf(kind, arg, (s) => s);
  if (spec === null) return "Bad forwarding specification.";
  try {
    await forwards.add(kind, spec);
  } catch (error) {
    const message = error instanceof JumpgateError ? error.message : String(error);
    return `Port forwarding failed: ${message}`;
  }
  return "Forwarding port.";
}

/** `-KL 1111`, `-KL 127.0.0.1:1111`, `-KR /tmp/sock`. */
function parseCancelSpec(
  arg: string,
): { host: string | null; port: number | null; path: string | null } | null {
  if (arg === "") return null;
  if (arg.includes("/")) return { host: null, port: null, path: arg };
  const m = /^(?:\[([^\]]*)\]:|([^:]*):)?(\d+)$/.exec(arg);
  if (m === null) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  const host = m[1] ?? m[2] ?? null;
  return { host, port, path: null };
}

export const ESCAPE_COMMAND_HELP = [
  "Commands:",
  "      -L[bind_address:]port:host:hostport    Request local forward",
  "      -R[bind_address:]port:host:hostport    Request remote forward",
  "      -D[bind_address:]port                  Request dynamic forward",
  "      -KL[bind_address:]port                 Cancel local forward",
  "      -KR[bind_address:]port                 Cancel remote forward",
  "      -KD[bind_address:]port                 Cancel dynamic forward",
].join("\r\n");
