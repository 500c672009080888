/**
 * The local half of -L and -D: their listeners, bound by OpenSSH's rules (channels.c channel_fwd_bind_addr() as
 * the client applies it):
 *
 * - no bind address: loopback only (127.0.0.1 and ::1), or every interface with GatewayPorts yes;
 * - `localhost`: loopback only;
 * - empty or `*`: every interface (an explicit request; GatewayPorts is not needed for it);
 * - anything else: that address (a name binds every address it resolves to).
 *
 * Like OpenSSH, a listener is up when at least one address bound; the others are reported.
 * Unix socket listeners get StreamLocalBindMask (default 0177, i.e. 0600) applied while binding
 * and, with StreamLocalBindUnlink, replace an existing socket file.
 */
import { lookup } from "node:dns/promises";
import { lstatSync, unlinkSync } from "node:fs";
import { createServer, isIP, type Server, type Socket } from "node:net";
import { JumpgateError } from "../errors.js";

/** Stream buffer of each forwarded socket (see listen()). */
export const SOCKET_BUFFER = 256 * 1024;

export type BindPlan =
  | { kind: "loopback" }
  | { kind: "wildcard" }
  | { kind: "address"; host: string }
  | { kind: "path"; path: string };

export type AddressFamily = "any" | "inet" | "inet6";

export interface ListenOptions {
  /** GatewayPorts: a forward without a bind address listens on every interface. */
  gatewayPorts: boolean;
  addressFamily?: AddressFamily;
  /** StreamLocalBindMask, applied as a umask while a Unix socket is bound. */
  bindMask?: number;
  /** StreamLocalBindUnlink: remove an existing socket file before binding. */
  bindUnlink?: boolean;
}

export function bindPlan(
  spec: { listenHost: string | null; listenPath: string | null },
  gatewayPorts: boolean,
): BindPlan {
  if (spec.listenPath !== null) return { kind: "path", path: spec.listenPath };
  const host = spec.listenHost;
  if (host === null) return gatewayPorts ? { kind: "wildcard" } : { kind: "loopback" };
  if (host === "" || host === "*") return { kind: "wildcard" };
  if (host === "localhost") return { kind: "loopback" };
  return { kind: "address", host };
}

export interface Listener {
  /** What is bound, e.g. `127.0.0.1:1111`, `[::1]:1111`, `/tmp/x.sock`. */
  readonly addresses: string[];
  /** The port bound (the same on every address); -2 for a Unix socket. */
  readonly port: number;
  /** Problems with some addresses while others bound (OpenSSH prints them as warnings). */
  readonly warnings: string[];
  close(): Promise<void>;
}

function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

function bindOne(
  server: Server,
  options: { host?: string; port?: number; path?: string; ipv6Only?: boolean },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      server.off("listening", onListening);
      reject(error);
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen({ ...options, exclusive: true });
  });
}

async function addressesFor(plan: BindPlan, family: AddressFamily): Promise<string[]> {
  const v4 = family !== "inet6";
  const v6 = family !== "inet";
  switch (plan.kind) {
    case "loopback":
      return [...(v4 ? ["127.0.0.1"] : []), ...(v6 ? ["::1"] : [])];
    case "wildcard":
      // One dual-stack "::" socket covers IPv4 too (falls back to 0.0.0.0 below).
      return family === "inet" ? ["0.0.0.0"] : ["::"];
    case "address": {
      if (isIP(plan.host) !== 0) return [plan.host];
      const found = await lookup(plan.host, {
        all: true,
        family: family === "inet" ? 4 : family === "inet6" ? 6 : 0,
      });
      return found.map((a) => a.address);
    }
    default:
      return [];
  }
}

function errorText(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case "EADDRINUSE":
      return "Address already in use";
    case "EACCES":
      return "Permission denied";
    case "EADDRNOTAVAIL":
      return "Cannot assign requested address";
    default:
      return error.message;
  }
}

/**
 * Binds a listener for `plan` on `port` and hands every accepted connection to `onConnection`.
 * Sockets are created with allowHalfOpen, which the pipe needs to carry half-closes.
 */
export async function listen(
  plan: BindPlan,
  port: number,
  opts: ListenOptions,
  onConnection: (socket: Socket) => void,
): Promise<Listener> {
  const servers: Server[] = [];
  const addresses: string[] = [];
  const warnings: string[] = [];
  // A 256 KiB buffer per direction: with Node's 16 KiB default every 32 KiB SSH packet would
  // pause and resume the channel (measured: bench/forward.mjs, 50 concurrent streams).
  const make = () =>
    createServer(
      { allowHalfOpen: true, noDelay: true, pauseOnConnect: true, highWaterMark: SOCKET_BUFFER },
      onConnection,
    );
  // server.close() stops accepting at once but calls back only when every accepted connection
  // has ended; a cancelled forward (`~C -KL`) lets those carry on, so nobody waits for them here.
  const stopListening = (server: Server) => {
    server.close();
    server.unref();
  };
  const closeAll = async () => {
    for (const s of servers) stopListening(s);
  };

  if (plan.kind === "path") {
    const server = make();
    if (opts.bindUnlink) removeStaleSocket(plan.path);
    // The mask is a umask: only for the synchronous bind() inside listen(), then restored.
    const previous = process.umask(opts.bindMask ?? 0o177);
    let bound: Promise<void>;
    try {
      bound = bindOne(server, { path: plan.path });
    } finally {
      process.umask(previous);
    }
    try {
      await bound;
    } catch (error) {
      throw bindError(plan.path, error as NodeJS.ErrnoException);
    }
    return {
      addresses: [plan.path],
      port: -2,
      warnings,
      close: async () => {
        stopListening(server);
        // OpenSSH leaves the socket file behind; removing ours avoids a stale file on the next run.
        try {
          unlinkSync(plan.path);
        } catch {
          // Already gone.
        }
      },
    };
  }

  const family = opts.addressFamily ?? "any";
  let hosts: string[];
  try {
    hosts = await addressesFor(plan, family);
  } catch (error) {
    throw new JumpgateError(
      "JG_FORWARD_BIND",
      `cannot resolve the bind address '${plan.kind === "address" ? plan.host : ""}': ${(error as Error).message}`,
      { cause: error },
    );
  }
  let boundPort = port;
  let firstError: NodeJS.ErrnoException | null = null;
  for (const host of hosts) {
    const server = make();
    try {
      await bindOne(server, {
        host,
        port: boundPort,
        ...(host === "::" && family === "inet6" ? { ipv6Only: true } : {}),
      });
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      // A machine without IPv6: the wildcard falls back to IPv4, loopback to 127.0.0.1 alone.
      if (host === "::" && (e.code === "EAFNOSUPPORT" || e.code === "EADDRNOTAVAIL")) {
        hosts.push("0.0.0.0");
        continue;
      }
      firstError ??= e;
      warnings.push(`bind ${formatAddress(host, boundPort)}: ${errorText(e)}`);
      continue;
    }
    servers.push(server);
    const address = server.address();
    if (address !== null && typeof address === "object") {
      boundPort = address.port;
      addresses.push(formatAddress(address.address, address.port));
    }
  }
  if (servers.length === 0) {
    const where = formatAddress(hosts[0] ?? "127.0.0.1", port);
    throw bindError(where, firstError ?? (new Error("no address to bind") as NodeJS.ErrnoException));
  }
  return { addresses, port: boundPort, warnings, close: closeAll };
}

function bindError(where: string, error: NodeJS.ErrnoException): JumpgateError {
  const hint =
    error.code === "EADDRINUSE"
      ? " Another program (or another forward) has it: pick another port or stop that program."
      : error.code === "EACCES"
        ? " Ports below 1024 need privileges: pick a port above 1023."
        : "";
  return new JumpgateError("JG_FORWARD_BIND", `cannot listen on ${where}: ${errorText(error)}.${hint}`, {
    cause: error,
  });
}

/** StreamLocalBindUnlink: only a socket is removed, never a regular file someone pointed us at. */
function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // Nothing there.
  }
}
