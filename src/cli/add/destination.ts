/**
 * `jumpgate add -h [user@]host` and `-h "from>[user@]to"`: destination constraints as ssh-add
 * (9.2p1) builds them, host keys looked up by name in known_hosts files (-H, or ssh-add's four
 * defaults). The agent then lets the key be used only along the hops listed (docs/agent.md).
 */
import { homedir } from "node:os";
import type { DestConstraint, DestHop } from "../../agent/protocol.js";
import { entriesForHost, loadKnownHosts } from "../../connection/knownhosts.js";
import { JumpgateError } from "../../errors.js";

/** ssh-add's default host key files, in its order. */
export function defaultHostKeyFiles(home: string = homedir()): string[] {
  return [
    `${home}/.ssh/known_hosts`,
    `${home}/.ssh/known_hosts2`,
    "/etc/ssh/ssh_known_hosts",
    "/etc/ssh/ssh_known_hosts2",
  ];
}

/** tilde_expand_filename() for "~/..." (other users' "~name" are left as written). */
function expandTilde(path: string, home: string): string {
  return path === "~" || path.startsWith("~/") ? `${home}${path.slice(1)}` : path;
}

/** ssh-add ends with fatal() on a bad -h: the message alone, exit 255. */
function fatal(message: string): JumpgateError {
  return new JumpgateError("JG_AGENT_DESTINATION", message, { exitCode: 255 });
}

/** cleanhostname(): "[host]" -> "host". */
function cleanHostname(host: string): string {
  return host.length >= 2 && host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/** parse_dest_constraint_hop() of ssh-add. */
function parseHop(spec: string, files: readonly string[], home: string): DestHop {
  const at = spec.indexOf("@");
  const user = at >= 0 ? spec.slice(0, at) : undefined;
  const host = cleanHostname(at >= 0 ? spec.slice(at + 1) : spec);
  if (host === "") {
    if (user === undefined) {
      throw fatal(`Invalid key destination constraint "${spec}": does not specify user or host`);
    }
    return { user, keys: [] }; // "user@": that user on any host (the agent refuses it: no host keys)
  }
  const db = loadKnownHosts(files.map((f) => expandTilde(f, home)));
  const keys = entriesForHost(db.entries, host)
    .filter((e) => e.marker !== "revoked")
    .map((e) => ({ blob: e.key.canonical, isCa: e.marker === "cert-authority" }));
  if (keys.length === 0) {
    throw fatal(
      `No host keys found for destination "${host}" (add it to known_hosts, e.g. by logging in once, or name a file with -H)`,
    );
  }
  return { ...(user !== undefined ? { user } : {}), hostname: host, keys };
}

/** parse_dest_constraint() of ssh-add: one -h argument. */
export function parseDestinationSpec(
  spec: string,
  files: readonly string[],
  home: string = homedir(),
): DestConstraint {
  const gt = spec.indexOf(">");
  if (gt < 0) return { from: { keys: [] }, to: parseHop(spec, files, home) };
  const fromSpec = spec.slice(0, gt);
  const from = parseHop(fromSpec, files, home);
  const to = parseHop(spec.slice(gt + 1), files, home);
  if (from.user !== undefined)
    throw fatal(`Invalid key constraint ${fromSpec}: cannot specify user on 'from' host`);
  return { from, to };
}
