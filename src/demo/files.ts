/**
 * The files a demo lab writes, so that OpenSSH's own `ssh` (and jumpgate) can use the lab exactly
 * like a real bastion setup: keys, known_hosts and an ssh_config. Rendering is pure; lab.ts writes.
 */
import ssh2 from "ssh2";

// CommonJS package: `utils` is only reachable through the default import under Node's ESM loader.
const { utils } = ssh2;

export interface KeyPair {
  /** OpenSSH private key ("-----BEGIN OPENSSH PRIVATE KEY-----"), unencrypted. */
  privateKey: string;
  /** One-line public key, "ssh-ed25519 AAAA... comment". */
  publicKey: string;
}

/**
 * A fresh ed25519 key pair. ssh2 writes the private key in OpenSSH's own "openssh-key-v1" format,
 * which `ssh`, `ssh-keygen -y` and ssh2 itself all read (the e2e test checks `ssh-keygen -y`).
 */
export function generateEd25519(comment: string): KeyPair {
  // ssh2 1.17 occasionally (about 1 in 1000) writes an ed25519 key that its own parser rejects as
  // "Malformed OpenSSH private key"; such a key would fail the lab at random, so draw another.
  for (let attempt = 0; attempt < 10; attempt++) {
    const pair = utils.generateKeyPairSync("ed25519", { comment });
    if (!(utils.parseKey(pair.private) instanceof Error))
      return { privateKey: pair.private, publicKey: pair.public };
  }
  throw new Error("could not generate a usable ed25519 key with ssh2");
}

/** "type base64" without the comment: the form known_hosts and key comparisons want. */
export function publicKeyBody(publicKey: string): string {
  return publicKey.trim().split(/\s+/).slice(0, 2).join(" ");
}

/** How known_hosts names a host: bare for port 22, "[host]:port" otherwise (as ssh writes it). */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export interface KnownHost {
  host: string;
  port: number;
  publicKey: string;
}

export function renderKnownHosts(hosts: readonly KnownHost[]): string {
  return hosts.map((h) => `${knownHostsName(h.host, h.port)} ${publicKeyBody(h.publicKey)}\n`).join("");
}

/**
 * Characters a lab path may contain. OpenSSH (9.2 at least) turns `ProxyJump jaguar` into the
 * ProxyCommand `ssh -F <config path> -W '[%h]:%p' jaguar`, with the path neither quoted for the
 * shell that runs it nor escaped for the %-token expansion that precedes it. A blank, a quote, a
 * "%" or any other shell metacharacter in the path therefore breaks `ssh mcgonagall`, however the
 * ssh_config itself is written; the lab refuses such a dir up front instead.
 */
const SAFE_PATH = /^[A-Za-z0-9_.,:+=@/-]+$/;

export function isSafeLabPath(path: string): boolean {
  return SAFE_PATH.test(path);
}

export interface SshConfigParams {
  jaguarHost: string;
  jaguarPort: number;
  mcgonagallName: string;
  mcgonagallPort: number;
  user: string;
  /** Absolute paths made of SAFE_PATH characters only, so they need no quoting or escaping. */
  identityPath: string;
  knownHostsPath: string;
}

/**
 * The lab's ssh_config. `Host *` comes last because ssh_config takes the first value it finds for
 * each keyword: host blocks above it stay free to override. Every setting that would otherwise
 * reach outside the lab (the user's keys, agent, known_hosts) is pinned to the lab's own files.
 */
export function renderSshConfig(p: SshConfigParams): string {
  return [
    "# jumpgate demo lab: generated, and deleted again when the lab stops.",
    "# mcgonagall has no network address at all; only jaguar can reach it (ProxyJump).",
    "",
    "Host jaguar",
    `    HostName ${p.jaguarHost}`,
    `    Port ${p.jaguarPort}`,
    "",
    "Host mcgonagall",
    // OpenSSH's ProxyJump asks jaguar for "mcgonagall" port 22 (ssh -W [mcgonagall]:22 jaguar);
    // jaguar resolves that name itself, in-process.
    `    HostName ${p.mcgonagallName}`,
    `    Port ${p.mcgonagallPort}`,
    "    ProxyJump jaguar",
    "",
    "Host *",
    `    User ${p.user}`,
    `    IdentityFile ${p.identityPath}`,
    // Only the lab key: keys from ~/.ssh or an agent would be offered first and count against
    // the server's attempts, or succeed somewhere they should not.
    "    IdentitiesOnly yes",
    "    IdentityAgent none",
    `    UserKnownHostsFile ${p.knownHostsPath}`,
    "    GlobalKnownHostsFile /dev/null",
    // The lab knows both host keys in advance, so there is never a reason to ask or to learn one.
    "    StrictHostKeyChecking yes",
    "",
  ].join("\n");
}
