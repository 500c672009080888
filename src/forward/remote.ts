/**
 * The local half of -R: what the server's listener is asked to bind, and the connection to the
 * local target made for each forwarded connection. The server side (tcpip-forward and
 * streamlocal-forward@openssh.com requests) is in connection/session.ts.
 */
import { connect, type NetConnectOpts, type Socket } from "node:net";
import { SOCKET_BUFFER } from "./local.js";
import type { Target } from "./spec.js";

/**
 * channels.c channel_rfwd_bind_host(): no bind address asks for "localhost" (the server binds
 * loopback), empty or `*` asks for "" (every interface, if sshd's GatewayPorts allows it).
 */
export function remoteBindHost(listenHost: string | null): string {
  if (listenHost === null) return "localhost";
  if (listenHost === "" || listenHost === "*") return "";
  return listenHost;
}

/** Connects to the local target of a remote forward, half-close capable like every pipe side. */
export function connectLocal(target: Target): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // highWaterMark is a socket option since Node 18.17 that @types/node 20 does not list yet.
    const buffers = { allowHalfOpen: true, highWaterMark: SOCKET_BUFFER };
    const socket =
      "path" in target
        ? connect({ path: target.path, ...buffers } as NetConnectOpts)
        : connect({ host: target.host, port: target.port, noDelay: true, ...buffers } as NetConnectOpts);
    socket.pause();
    const onError = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.once("error", onError);
    socket.once("connect", () => {
      socket.off("error", onError);
      resolve(socket);
    });
  });
}
