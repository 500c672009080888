/**
 * Transports: how the bytes of one SSH connection reach its server. dial.ts alone chooses; ssh2
 * only ever receives an already-connected Duplex (`sock`).
 * - tcp: a direct TCP connection (ConnectTimeout, ConnectionAttempts, AddressFamily, no-delay);
 * - proxycommand: a child process speaking SSH on its stdin/stdout, stderr passed to the user;
 * - jump: a direct-tcpip channel opened through the previous hop's connection.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { connect, type Socket } from "node:net";
import { Duplex } from "node:stream";
import { validHostname, validRemoteUser } from "../config/destination.js";
import { ADDRESS_FAMILY } from "../config/options.js";
import { expandTokens } from "../config/tokens.js";
import { JumpgateError } from "../errors.js";
import type { Logger } from "../util/log.js";

export interface TcpDialOptions {
  host: string;
  port: number;
  /** Seconds; -1 = the system's own timeout. */
  connectTimeout: number;
  attempts: number;
  addressFamily: number;
  log: Logger;
  /** Name of the hop for messages, e.g. "jaguar". */
  hopName: string;
}

function familyOf(addressFamily: number): 0 | 4 | 6 {
  if (addressFamily === ADDRESS_FAMILY.inet) return 4;
  if (addressFamily === ADDRESS_FAMILY.inet6) return 6;
  return 0;
}

function tcpOnce(opts: TcpDialOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: opts.host, port: opts.port, family: familyOf(opts.addressFamily) });
    let timer: NodeJS.Timeout | undefined;
    const fail = (error: JumpgateError) => {
      if (timer) clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    if (opts.connectTimeout > 0) {
      timer = setTimeout(
        () =>
          fail(
            new JumpgateError(
              "JG_CONNECT_TIMEOUT",
              `${opts.hopName}: connect to host ${opts.host} port ${opts.port}: Connection timed out after ${opts.connectTimeout}s (ConnectTimeout).`,
            ),
          ),
        opts.connectTimeout * 1000,
      );
    }
    socket.once("connect", () => {
      if (timer) clearTimeout(timer);
      // Interactive sessions and small forwarded requests must not wait for Nagle.
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => {
      const reason = error.code === "ECONNREFUSED" ? "Connection refused" : error.message;
      fail(
        new JumpgateError(
          error.code === "ECONNREFUSED" ? "JG_CONNECT_REFUSED" : "JG_HOP_UNREACHABLE",
          `${opts.hopName}: connect to host ${opts.host} port ${opts.port}: ${reason}. Check HostName/Port for ${opts.hopName} (jumpgate config --route ${opts.hopName}).`,
          { cause: error },
        ),
      );
    });
  });
}

/** Direct TCP with OpenSSH's retry rule: ConnectionAttempts tries, one second apart. */
export async function dialTcp(opts: TcpDialOptions): Promise<Socket> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= Math.max(1, opts.attempts); attempt++) {
    opts.log.debug(`Connecting to ${opts.host} port ${opts.port} (attempt ${attempt}).`);
    try {
      return await tcpOnce(opts);
    } catch (error) {
      lastError = error;
      if (attempt < opts.attempts) await new Promise((r) => setTimeout(r, 1000));
    }
  }
  throw lastError;
}

export interface ProxyCommandOptions {
  command: string;
  host: string;
  hostArg: string;
  port: number;
  user: string;
  hostKeyAlias: string | null;
  hopName: string;
  log: Logger;
  env?: NodeJS.ProcessEnv;
}

/**
 * The ProxyCommand line after token expansion (%h %k %n %p %r %%), prefixed with `exec` as
 * OpenSSH does. The values that come from names are checked first: a host or user with shell
 * metacharacters, blanks or a leading '-' would be interpreted by the shell, so it is refused.
 */
export function expandProxyCommand(opts: ProxyCommandOptions): string {
  for (const [what, value, valid] of [
    ["host name", opts.host, validHostname(opts.host)],
    ["host name", opts.hostArg, validHostname(opts.hostArg)],
    ["user name", opts.user, validRemoteUser(opts.user)],
    ["HostKeyAlias", opts.hostKeyAlias ?? "", opts.hostKeyAlias === null || validHostname(opts.hostKeyAlias)],
  ] as const) {
    if (!valid) {
      throw new JumpgateError(
        "JG_PROXYCOMMAND",
        `${opts.hopName}: refusing to run ProxyCommand: the ${what} '${value}' contains characters a shell would interpret (or starts with '-').`,
      );
    }
  }
  const expanded = expandTokens(
    `exec ${opts.command}`,
    {
      h: opts.host,
      k: opts.hostKeyAlias ?? opts.hostArg,
      n: opts.hostArg,
      p: String(opts.port),
      r: opts.user,
    },
    null,
  );
  if (!expanded.ok) {
    throw new JumpgateError(
      "JG_PROXYCOMMAND",
      `${opts.hopName}: ProxyCommand: ${expanded.reason} (ProxyCommand accepts %h %k %n %p %r %%).`,
    );
  }
  return expanded.value;
}

export interface ProxyCommandStream {
  stream: Duplex;
  child: ChildProcess;
}

/** Runs the ProxyCommand through the user's shell; its stdin/stdout carry SSH, its stderr is the user's. */
export function dialProxyCommand(opts: ProxyCommandOptions): Promise<ProxyCommandStream> {
  const line = expandProxyCommand(opts);
  const shell = process.env.SHELL || "/bin/sh";
  opts.log.debug(`Executing proxy command: ${line}`);
  return new Promise((resolve, reject) => {
    const child = spawn(shell, ["-c", line], {
      stdio: ["pipe", "pipe", "inherit"],
      env: opts.env ?? process.env,
    });
    child.once("error", (error) =>
      reject(
        new JumpgateError("JG_PROXYCOMMAND", `${opts.hopName}: cannot run ProxyCommand: ${error.message}`, {
          cause: error,
        }),
      ),
    );
    child.once("spawn", () => {
      const stream = Duplex.from({ readable: child.stdout!, writable: child.stdin! });
      // Tearing the pair down (destroy) reports an AbortError; the connection's own close already
      // says what happened, so it must not surface as an unhandled error.
      stream.on("error", (error) => opts.log.debug(`ProxyCommand stream: ${error.message}`));
      child.once("exit", (code, signal) => {
        opts.log.debug(`ProxyCommand exited with ${signal ?? `status ${code}`}.`);
        stream.destroy();
      });
      stream.once("close", () => {
        if (child.exitCode === null) child.kill("SIGHUP");
      });
      resolve({ stream, child });
    });
  });
}

/** Opens a channel through the previous hop to host:port (ProxyJump's `-W`). */
export interface ChannelOpener {
  forwardOut(host: string, port: number): Promise<Duplex>;
}

export async function dialJump(
  through: ChannelOpener,
  host: string,
  port: number,
  hopName: string,
  viaName: string,
): Promise<Duplex> {
  try {
    return await through.forwardOut(host, port);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new JumpgateError(
      "JG_HOP_UNREACHABLE",
      `${hopName}: ${viaName} could not open a channel to ${host} port ${port}: ${reason}. Check that ${viaName} can reach it (HostName/Port for ${hopName}).`,
      { cause: error },
    );
  }
}
