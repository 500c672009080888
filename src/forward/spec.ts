/**
 * A forward as the forward module sees it. The shape is config/forward.ts's `Forward` (what -L,
 * -R, -D and LocalForward/RemoteForward/DynamicForward parse into); it is restated here because
 * forward/ may not import config/ (ARCHITECTURE.md), and TypeScript's structural typing makes
 * one assignable to the other.
 */

/** A Unix-domain socket endpoint uses this port value (OpenSSH's PORT_STREAMLOCAL). */
export const STREAMLOCAL = -2;

export interface ForwardSpec {
  listenHost: string | null;
  listenPort: number;
  listenPath: string | null;
  /** "socks" for dynamic forwards, as in OpenSSH. */
  connectHost: string | null;
  connectPort: number;
  connectPath: string | null;
}

export type TunnelKind = "local" | "remote" | "dynamic";

/** Where a forwarded connection goes: host:port, or a Unix socket path. */
export type Target = { host: string; port: number } | { path: string };

function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

export function describeTarget(t: Target): string {
  return "path" in t ? t.path : hostPort(t.host, t.port);
}

/** The listen side as a user wrote it: `1111`, `127.0.0.1:1111`, `/tmp/sock`, `*:8080`. */
export function describeListen(spec: ForwardSpec): string {
  if (spec.listenPath !== null) return spec.listenPath;
  if (spec.listenHost === null) return String(spec.listenPort);
  return hostPort(spec.listenHost === "" ? "*" : spec.listenHost, spec.listenPort);
}

/** The connect side of a local or remote forward. */
export function connectTarget(spec: ForwardSpec): Target {
  if (spec.connectPath !== null) return { path: spec.connectPath };
  return { host: spec.connectHost ?? "localhost", port: spec.connectPort };
}

/** `-L 1111:localhost:12345`, `-R 0:localhost:80`, `-D 1080`: the spec in command-line form. */
export function describeSpec(kind: TunnelKind, spec: ForwardSpec): string {
  const flag = kind === "local" ? "-L" : kind === "remote" ? "-R" : "-D";
  if (kind === "dynamic") return `${flag} ${describeListen(spec)}`;
  return `${flag} ${describeListen(spec)}:${describeTarget(connectTarget(spec))}`;
}
