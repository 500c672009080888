/**
 * The gate requests behind the dashboard's a / d / r keys. The gate resolves the destination
 * exactly as this CLI would (same config file, cwd and environment: see gate/resolve.ts), so a
 * tunnel added from the dashboard is the tunnel `jumpgate tunnels add` would have made.
 */
import type { TunnelOps } from "../../dashboard/gate-feed.js";

export interface CliContext {
  configFile?: string;
  cwd: string;
  env: Record<string, string>;
}

export function tunnelOps(ctx: CliContext): TunnelOps {
  return {
    add: (client, request) =>
      client.request("tunnels.add", {
        items: [
          { kind: request.kind, value: request.spec },
          { kind: "destination", value: request.destination },
        ],
        ...(ctx.configFile === undefined ? {} : { configFile: ctx.configFile }),
        cwd: ctx.cwd,
        env: ctx.env,
        kind: request.kind,
        spec: request.spec,
      }),
    remove: (client, id) => client.request("tunnels.rm", { id }),
    reconnect: (client, id) => client.request("tunnels.reconnect", { id }),
  };
}
