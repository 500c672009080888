/**
 * The direct path of cp, push and pull: a remote operand's host resolved through ssh_config (its
 * user and port first, then the command line's options, as scp orders them) and leased from one
 * connection manager, so two hosts behind jaguar share one jaguar connection. The config and
 * connection modules load on first use: a transfer through the gate never needs them.
 */
import type { CliItem } from "../config/resolve.js";
import type { ConnectionManager, Lease } from "../connection/manager.js";
import type { Logger } from "../util/log.js";

export interface RemoteHost {
  host: string;
  user: string | null;
  port: number | null;
}

export interface RemoteLeaser {
  acquire(remote: RemoteHost): Promise<Lease>;
  /** Closes every connection opened (after the caller released its leases). */
  close(): Promise<void>;
}

export function createRemoteLeaser(
  args: { items: CliItem[]; configFile?: string },
  log: Logger,
): RemoteLeaser {
  let manager: ConnectionManager | undefined;
  return {
    async acquire(remote) {
      const [{ resolve, resolveHops }, { ConnectionManager }, { createSecurity }] = await Promise.all([
        import("../config/resolve.js"),
        import("../connection/manager.js"),
        import("../connection/security.js"),
      ]);
      const items: CliItem[] = [
        ...(remote.user !== null ? [{ kind: "user" as const, value: remote.user }] : []),
        ...(remote.port !== null ? [{ kind: "port" as const, value: String(remote.port) }] : []),
        ...args.items,
        { kind: "destination" as const, value: remote.host },
      ];
      const request = { items, ...(args.configFile === undefined ? {} : { configFile: args.configFile }) };
      const resolved = resolve(request);
      for (const warning of resolved.warnings) log.error(warning);
      const hops = resolveHops(request, resolved);
      manager ??= new ConnectionManager({
        security: createSecurity({ log, batchMode: resolved.options.batchMode === 1 }),
        log,
        idleTimeout: 0,
      });
      return manager.acquire(hops);
    },
    async close() {
      await manager?.close();
    },
  };
}
