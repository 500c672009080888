/**
 * Config resolution for a CLI's request, done in the gate: the CLI sends its parsed ssh arguments,
 * its working directory and its environment, and the gate resolves exactly as that CLI would have
 * (same ~/.ssh/config, same ${VAR}s, same $SSH_AUTH_SOCK). Keeping resolution here keeps the CLI's
 * path free of the config modules (see bench/gate.mjs).
 */
import { isAbsolute, resolve as resolvePath } from "node:path";
import { type ConfigEnvironment, nodeEnvironment } from "../config/environment.js";
import {
  type CliItem,
  type ResolvedHop,
  type ResolvedHost,
  resolve,
  resolveHops,
} from "../config/resolve.js";
import { JumpgateError } from "../errors.js";

/** What the CLI sends with a session request (docs/gate-protocol.md, op "session"). */
export interface ClientRequestContext {
  items: CliItem[];
  configFile?: string;
  cwd: string;
  env: Record<string, string>;
}

export interface ClientResolution {
  resolved: ResolvedHost;
  hops: ResolvedHop[];
  env: ConfigEnvironment;
}

function absolute(cwd: string, path: string): string {
  // `~` and `%d` are expanded by the resolver; only a plain relative path is the cwd's.
  if (path === "none" || isAbsolute(path) || path.startsWith("~") || path.startsWith("%")) return path;
  return resolvePath(cwd, path);
}

/** The kinds of CliItem whose value is a string (forwardAgent's is a boolean). */
const ITEM_KINDS = new Set([
  "option",
  "user",
  "port",
  "jump",
  "local",
  "remote",
  "dynamic",
  "identity",
  "destination",
]);

export function checkContext(value: unknown): ClientRequestContext {
  const v = value as Partial<ClientRequestContext> | null;
  if (
    typeof v !== "object" ||
    v === null ||
    !Array.isArray(v.items) ||
    typeof v.cwd !== "string" ||
    !isAbsolute(v.cwd) ||
    typeof v.env !== "object" ||
    v.env === null ||
    (v.configFile !== undefined && typeof v.configFile !== "string")
  ) {
    throw new JumpgateError(
      "JG_GATE_PROTOCOL",
      "session request: items, cwd (absolute) and env are required.",
    );
  }
  for (const item of v.items) {
    const { kind, value } = (typeof item === "object" && item !== null ? item : {}) as {
      kind?: unknown;
      value?: unknown;
    };
    const ok =
      kind === "forwardAgent"
        ? typeof value === "boolean"
        : typeof kind === "string" && ITEM_KINDS.has(kind) && typeof value === "string";
    if (!ok) throw new JumpgateError("JG_GATE_PROTOCOL", "session request: malformed command-line item.");
  }
  const env: Record<string, string> = {};
  for (const [name, val] of Object.entries(v.env)) if (typeof val === "string") env[name] = val;
  return {
    items: v.items as CliItem[],
    ...(v.configFile === undefined ? {} : { configFile: v.configFile }),
    cwd: v.cwd,
    env,
  };
}

export function resolveForClient(ctx: ClientRequestContext): ClientResolution {
  const env = nodeEnvironment(ctx.env);
  const items = ctx.items.map(
    (item): CliItem =>
      item.kind === "identity" ? { kind: "identity", value: absolute(ctx.cwd, item.value) } : item,
  );
  const request = {
    items,
    ...(ctx.configFile === undefined ? {} : { configFile: absolute(ctx.cwd, ctx.configFile) }),
    env,
  };
  // `Match exec` commands run where the user ran jumpgate. Resolution is synchronous, so the
  // gate's working directory is the client's for exactly that long and nothing else runs meanwhile.
  const previous = process.cwd();
  let changed = false;
  try {
    process.chdir(ctx.cwd);
    changed = true;
  } catch {
    // A cwd that vanished: resolve from the gate's own directory (only `Match exec` can notice).
  }
  try {
    const resolved = resolve(request);
    const hops = resolveHops(request, resolved);
    for (const hop of [...hops.map((h) => h.resolved), resolved]) {
      const o = hop.options;
      o.identityFiles = o.identityFiles.map((file) => absolute(ctx.cwd, file));
      // Agent forwarding uses the client's agent, not whatever the gate was started with.
      if (o.forwardAgentSockPath === null && ctx.env.SSH_AUTH_SOCK)
        o.forwardAgentSockPath = ctx.env.SSH_AUTH_SOCK;
    }
    return { resolved, hops, env };
  } finally {
    if (changed) process.chdir(previous);
  }
}
