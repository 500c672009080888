/**
 * PermitRemoteOpen: which destinations a remote dynamic forward (`-R port`, the server's users
 * speaking SOCKS to this machine) may reach, as OpenSSH's client decides it (channels.c,
 * open_match): no directive or `any` allows all, `none` allows nothing, otherwise one of the
 * `host:port` entries must match, `*` standing for any host or any port. Names are compared as
 * written: no patterns, no address lookups.
 */
export function remoteOpenAllowed(permits: readonly string[], host: string, port: number): boolean {
  if (permits.length === 0) return true;
  const only = permits[0]?.toLowerCase();
  if (permits.length === 1 && only === "any") return true;
  if (permits.length === 1 && only === "none") return false;
  return permits.some((entry) => {
    const m = /^(\[[^\]]*\]|[^:/]*)(?::(.*))?$/.exec(entry);
    if (!m) return false;
    const allowedHost = (m[1] as string).replace(/^\[(.*)\]$/, "$1");
    const allowedPort = m[2];
    const hostOk = allowedHost === "*" || allowedHost === host;
    const portOk = allowedPort === "*" || Number(allowedPort) === port;
    return hostOk && portOk;
  });
}
