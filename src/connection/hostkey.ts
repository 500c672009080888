/**
 * The host key policy: OpenSSH 9.2's check_host_key() (sshconnect.c) over known_hosts
 * (knownhosts.ts), with StrictHostKeyChecking, HashKnownHosts, HostKeyAlias and BatchMode.
 *
 * ssh2 accepts every host key unless its hostVerifier says otherwise; session.ts calls
 * verifyHostKey() from that verifier and proceeds only when it resolves. Where OpenSSH would go on
 * with a suspicious key (a changed or revoked key under `StrictHostKeyChecking no`, with password
 * authentication and forwarding turned off), jumpgate refuses: it has no "degraded" connection
 * mode, and a tunnel tool that silently runs through a man in the middle is worse than one that
 * stops. docs/differences.md lists every such choice.
 */
import { BlockList, isIP } from "node:net";
import { nodeEnvironment } from "../config/environment.js";
import type { Options } from "../config/options.js";
import { FP_HASH, STRICT_HOSTKEY } from "../config/options.js";
import { expandTilde, type HomeLookup } from "../config/tokens.js";
import { JumpgateError } from "../errors.js";
import {
  appendKnownHost,
  checkHostKeyIn,
  findKeyUnderOtherNames,
  findRevokedKey,
  fingerprint,
  type HostKey,
  type HostKeyCheck,
  hostKeyLookupName,
  type KeyInfo,
  type KnownHostEntry,
  loadKnownHosts,
  orderHostKeyAlgorithms,
  presentedKey,
  putHostPort,
  tildeUnexpand,
} from "./knownhosts.js";

/** The resolved options this policy reads (ResolvedHost.options satisfies it). */
export type HostKeyOptions = Pick<
  Options,
  | "strictHostKeyChecking"
  | "hashKnownHosts"
  | "userHostfiles"
  | "systemHostfiles"
  | "hostKeyAlias"
  | "batchMode"
  | "fingerprintHash"
  | "noHostAuthenticationForLocalhost"
  | "revokedHostKeys"
>;

export interface HostKeyRequest {
  options: HostKeyOptions;
  /** The host name as connected (ResolvedHost.hostname / RouteHop.hostname), before any port. */
  hostname: string;
  port: number;
  /**
   * The numeric address the TCP connection reached, for the prompt's "(ip)" and the
   * NoHostAuthenticationForLocalhost check. Undefined through ProxyCommand or ProxyJump, where ssh
   * says "<no hostip for proxy command>".
   */
  address?: string;
  /** The key the server presented. */
  key: HostKey;
  /**
   * Asks the user one question on the terminal and resolves with the typed line. Undefined when
   * there is no terminal; a rejection counts as "no" (ssh treats a failed read_passphrase so).
   */
  prompt?: (question: string) => Promise<string>;
  /** stderr: OpenSSH's warnings, one message per call, without a trailing newline. */
  warn: (text: string) => void;
  /**
   * OpenSSH's INFO-level messages (its logit(): "Permanently added ..."), which LogLevel ERROR,
   * QUIET or -q silence. Defaults to `warn`.
   */
  info?: (text: string) => void;
  /** Optional debug sink (-v): skipped lines, unreadable files, how the key was found. */
  debug?: (text: string) => void;
  /** The hop's name for messages ("jaguar"); a route has several hops, each checked on its own. */
  displayName: string;
  /** Home directories for `~` in GlobalKnownHostsFile (resolve() expands only the user files). */
  homes?: HomeLookup;
}

/** How the key came to be trusted; the manager turns this into a `hostkey` event. */
export type HostKeyTrust =
  /** Found in known_hosts (possibly under the bare host name, for a non-default port). */
  | "known"
  /** Unknown and added by StrictHostKeyChecking accept-new or no. */
  | "added"
  /** Unknown; the user answered yes (or the fingerprint) and it was added. */
  | "confirmed"
  /** NoHostAuthenticationForLocalhost yes and a loopback address: not checked at all. */
  | "localhost";

export interface HostKeyVerdict {
  accepted: true;
  trust: HostKeyTrust;
  /** The name the key is known (or was recorded) under: host, `[host]:port` or the alias. */
  hostName: string;
  /** sshkey_type(): ED25519, RSA, ECDSA... */
  keyType: string;
  fingerprint: string;
  /** The known_hosts line that vouched for the key (trust "known"). */
  entry?: { file: string; line: number };
  /** Where the key was recorded (trust "added"/"confirmed"); absent if writing failed (warned). */
  recorded?: { file: string };
}

/** Unusable answers after which the question stops and the key is refused (ssh asks forever). */
const MAX_PROMPTS = 10;

/**
 * Decides whether to trust `req.key` for this hop. Resolves with a verdict when the connection may
 * proceed; rejects with a JumpgateError otherwise (JG_HOSTKEY_MISMATCH, JG_HOSTKEY_REVOKED,
 * JG_HOSTKEY_UNKNOWN, JG_HOSTKEY_REFUSED), after printing OpenSSH's warning text through `warn`.
 */
export async function verifyHostKey(req: HostKeyRequest): Promise<HostKeyVerdict> {
  const o = req.options;
  const key = presentedKey(req.key);
  const fp = fingerprint(key.canonical, o.fingerprintHash === FP_HASH.md5 ? "md5" : "sha256");
  const hostName = hostKeyLookupName({
    hostname: req.hostname,
    port: req.port,
    hostKeyAlias: o.hostKeyAlias,
  });
  const base = { accepted: true as const, hostName, keyType: key.display, fingerprint: fp };
  const debug = req.debug ?? (() => {});

  // verify_host_key(): RevokedHostKeys is consulted before known_hosts, and wins over it.
  if (o.revokedHostKeys !== null) {
    const line = findRevokedKey(o.revokedHostKeys, key);
    if (line !== undefined) {
      throw new JumpgateError(
        "JG_HOSTKEY_REVOKED",
        `Host key verification failed for ${req.displayName}: host key ${key.display} ${fp} is revoked by ` +
          `RevokedHostKeys ${o.revokedHostKeys}:${line}. Ask the host's administrator for its new key.`,
      );
    }
  }

  // NoHostAuthenticationForLocalhost: NFS-shared homes see a different "localhost" per machine.
  if (
    o.noHostAuthenticationForLocalhost === 1 &&
    o.hostKeyAlias === null &&
    req.address !== undefined &&
    isLoopback(req.address)
  ) {
    debug("Forcing accepting of host key for loopback/localhost.");
    return { ...base, trust: "localhost" };
  }

  const userFiles = [...o.userHostfiles];
  const systemFiles = o.systemHostfiles.map((f) => expandSystemFile(f, req.homes));
  const db = loadKnownHosts([...userFiles, ...systemFiles]);
  for (const bad of db.invalid)
    debug(`${bad.file}:${bad.line}: parse error in hostkeys file (${bad.reason})`);
  for (const u of db.unreadable) debug(`cannot read ${u.file}: ${u.reason}`);

  let result = checkHostKeyIn(db.entries, hostName, key);
  if (result.status === "unknown" && o.hostKeyAlias === null && req.port !== 0 && req.port !== 22) {
    // check_host_key(): "checking without port identifier". A key recorded under the bare name
    // is good for any port; only a match counts (the retry is read-only and quiet).
    const bare = checkHostKeyIn(db.entries, req.hostname.toLowerCase(), key);
    if (bare.status === "match") {
      debug(`found matching key w/out port in ${bare.entry.file}:${bare.entry.line}`);
      result = bare;
    }
  }

  const who = `Host key verification failed for ${req.displayName}`;
  switch (result.status) {
    case "match":
      debug(`Host '${hostName}' is known and matches the ${key.display} host key.`);
      debug(`Found key in ${result.entry.file}:${result.entry.line}`);
      return { ...base, trust: "known", entry: { file: result.entry.file, line: result.entry.line } };
    case "revoked":
      return refuseRevoked(req, hostName, key, result.entry, who);
    case "changed":
      return refuseChanged(req, hostName, key, fp, result, userFiles, systemFiles, who);
    case "unknown":
      return handleUnknown(req, {
        hostName,
        key,
        fp,
        base,
        result,
        db: db.entries,
        userFiles,
        systemFiles,
        who,
      });
  }
}

function refuseRevoked(
  req: HostKeyRequest,
  hostName: string,
  key: KeyInfo,
  entry: KnownHostEntry,
  who: string,
): never {
  req.warn(
    [
      "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
      "@       WARNING: REVOKED HOST KEY DETECTED!               @",
      "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
      `The ${key.display} host key for ${hostName} is marked as revoked.`,
      "This could mean that a stolen key is being used to",
      "impersonate this host.",
      `Revoked in ${entry.file}:${entry.line}`,
    ].join("\n"),
  );
  throw new JumpgateError(
    "JG_HOSTKEY_REVOKED",
    `${who}: the ${key.display} host key of ${hostName} is revoked by @revoked in ${entry.file}:${entry.line}. ` +
      "jumpgate never connects with a revoked key; ask the host's administrator for its new key.",
  );
}

function refuseChanged(
  req: HostKeyRequest,
  hostName: string,
  key: KeyInfo,
  fp: string,
  result: Extract<HostKeyCheck, { status: "changed" }>,
  userFiles: readonly string[],
  systemFiles: readonly string[],
  who: string,
): never {
  const lines = [
    "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
    "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @",
    "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
    "IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!",
    "Someone could be eavesdropping on you right now (man-in-the-middle attack)!",
    "It is also possible that a host key has just been changed.",
    `The fingerprint for the ${key.display} key sent by the remote host is`,
    `${fp}.`,
    "Please contact your system administrator.",
  ];
  const addTo = userFiles[0] ?? systemFiles[0];
  if (addTo !== undefined) lines.push(`Add correct host key in ${addTo} to get rid of this message.`);
  // ssh names one offending line (the last it saw); every one of them has to go, so name them all.
  const files: string[] = [];
  for (const e of result.entries) {
    lines.push(`Offending ${e.key.display} key in ${e.file}:${e.line}`);
    if (!files.includes(e.file)) files.push(e.file);
  }
  // Debian's ssh adds the command that removes the stale entries; so does jumpgate.
  lines.push("  remove with:");
  for (const f of files) lines.push(`  ${removeCommand(f, hostName)}`);
  if (!result.sameType) {
    lines.push(
      `The server sent a ${key.display} key, but only ${listTypes(result.entries)} key(s) are known for ${hostName}; ` +
        "OpenSSH treats that as a changed key too.",
    );
  }
  lines.push(
    req.options.strictHostKeyChecking === STRICT_HOSTKEY.off
      ? `Host key for ${hostName} has changed; jumpgate refuses changed host keys even with StrictHostKeyChecking no.`
      : `Host key for ${hostName} has changed and you have requested strict checking.`,
  );
  req.warn(lines.join("\n"));
  const first = result.entries[0] as KnownHostEntry;
  throw new JumpgateError(
    "JG_HOSTKEY_MISMATCH",
    `${who}: the ${key.display} host key of ${hostName} (${fp}) does not match the ` +
      `${first.key.display} key in ${first.file}:${first.line}. If you know the host's key changed, ` +
      `remove the old entry with \`${removeCommand(first.file, hostName)}\` and connect again.`,
  );
}

interface UnknownContext {
  hostName: string;
  key: KeyInfo;
  fp: string;
  base: Omit<HostKeyVerdict, "trust">;
  result: Extract<HostKeyCheck, { status: "unknown" }>;
  db: readonly KnownHostEntry[];
  userFiles: readonly string[];
  systemFiles: readonly string[];
  who: string;
}

async function handleUnknown(req: HostKeyRequest, c: UnknownContext): Promise<HostKeyVerdict> {
  const o = req.options;
  const { hostName, key, fp, who } = c;
  const ca = c.result.certAuthorities[0];
  if (ca !== undefined) {
    // OpenSSH would negotiate a host certificate here and check it against the CA. jumpgate cannot
    // yet, and a plain key must not slip in where the user set up certificate trust.
    throw new JumpgateError(
      "JG_HOSTKEY_UNKNOWN",
      `${who}: ${hostName} is trusted only through @cert-authority in ${ca.file}:${ca.line}, and jumpgate ` +
        `does not support host certificates yet. The server sent a plain ${key.display} key (${fp}); ` +
        `if it is genuine, add it with \`ssh-keyscan\` to ${c.userFiles[0] ?? "your UserKnownHostsFile"}.`,
    );
  }

  // check_host_key() opens the files read-only in these cases, and a new key then fails at once.
  const recordTo = c.userFiles[0];
  if (recordTo === undefined) {
    throw new JumpgateError(
      "JG_HOSTKEY_UNKNOWN",
      `${who}: no ${key.display} host key is known for ${hostName}, and UserKnownHostsFile is none, so ` +
        `none can be recorded (fingerprint ${fp}). Add the key to a known_hosts file you name in UserKnownHostsFile.`,
    );
  }
  if (/[@?*#[\]|'"\\]/.test(req.hostname)) {
    throw new JumpgateError(
      "JG_HOSTKEY_UNKNOWN",
      `${who}: no ${key.display} host key is known for ${hostName}, and the host name "${req.hostname}" ` +
        "contains characters that cannot be written to known_hosts, so jumpgate will not record it. " +
        "Set HostKeyAlias and add the verified key under that name yourself.",
    );
  }

  const strict = o.strictHostKeyChecking;
  let trust: HostKeyTrust = "added";
  if (strict === STRICT_HOSTKEY.yes) {
    throw new JumpgateError(
      "JG_HOSTKEY_UNKNOWN",
      `${who}: No ${key.display} host key is known for ${hostName} and you have requested strict checking. ` +
        `The server's key is ${fp}; once you have verified it, add it to ${recordTo} ` +
        "(for example with ssh-keyscan) or connect once with StrictHostKeyChecking accept-new.",
    );
  }
  if (strict !== STRICT_HOSTKEY.new && strict !== STRICT_HOSTKEY.off) {
    // "ask" (the default; any unset value is treated as ask, the strictest interactive mode).
    const cannotAsk =
      o.batchMode === 1
        ? "BatchMode is on"
        : req.prompt === undefined
          ? "there is no terminal to ask on"
          : null;
    if (cannotAsk !== null) {
      throw new JumpgateError(
        "JG_HOSTKEY_UNKNOWN",
        `${who}: no ${key.display} host key is known for ${hostName} and ${cannotAsk}, so jumpgate cannot ask ` +
          `whether to trust ${fp}. Verify the fingerprint and add the key to ${recordTo}, ` +
          "or use StrictHostKeyChecking accept-new.",
      );
    }
    const question = confirmationPrompt(req, c);
    const confirmed = await confirm(req.prompt as NonNullable<HostKeyRequest["prompt"]>, question, fp);
    if (!confirmed) {
      throw new JumpgateError(
        "JG_HOSTKEY_REFUSED",
        `${who}: you did not accept the ${key.display} host key of ${hostName} (${fp}).`,
      );
    }
    trust = "confirmed";
  }

  const verdict: HostKeyVerdict = { ...c.base, trust };
  try {
    const { file } = appendKnownHost(recordTo, hostName, key, o.hashKnownHosts === 1);
    verdict.recorded = { file };
    (req.info ?? req.warn)(
      `Warning: Permanently added '${hostName}' (${key.display}) to the list of known hosts.`,
    );
  } catch (err) {
    // As ssh: failing to record does not undo the decision to trust the key for this connection.
    req.warn(
      `Failed to add the host to the list of known hosts (${recordTo}): ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  return verdict;
}

/** OpenSSH's question, word for word (sshconnect.c, HOST_NEW with StrictHostKeyChecking ask). */
function confirmationPrompt(req: HostKeyRequest, c: UnknownContext): string {
  const ip = req.address === undefined ? "<no hostip for proxy command>" : putHostPort(req.address, req.port);
  const lines = [
    `The authenticity of host '${c.hostName} (${ip})' can't be established.`,
    `${c.key.display} key fingerprint is ${c.fp}.`,
  ];
  const others = findKeyUnderOtherNames(c.db, c.hostName, c.key);
  if (others.length === 0) {
    lines.push("This key is not known by any other names.");
  } else {
    lines.push("This host key is known by the following other names/addresses:");
    const MAX_OTHER_NAMES = 8;
    for (const e of others.slice(0, MAX_OTHER_NAMES)) {
      lines.push(`    ${tildeUnexpand(e.file)}:${e.line}: ${e.hashed ? "[hashed name]" : e.hosts}`);
    }
    if (others.length > MAX_OTHER_NAMES) {
      lines.push(`    (${others.length - MAX_OTHER_NAMES} additional names omitted)`);
    }
  }
  lines.push("Are you sure you want to continue connecting (yes/no/[fingerprint])? ");
  return lines.join("\n");
}

/**
 * confirm(): the first word of the answer decides. Empty or "no" (any case) refuses, "yes" (any
 * case) or the exact fingerprint accepts, anything else asks again with a shorter question. ssh
 * asks forever; jumpgate gives up after MAX_PROMPTS so a broken prompt cannot spin.
 */
async function confirm(
  prompt: (question: string) => Promise<string>,
  question: string,
  fp: string,
): Promise<boolean> {
  let message = question;
  for (let i = 0; i < MAX_PROMPTS; i++) {
    let answer: string;
    try {
      answer = await prompt(message);
    } catch {
      return false;
    }
    // The first word only, as ssh cuts at blanks; "\r" too, for prompts that leave it on the line.
    const word = answer.replace(/^[ \t]+/, "").split(/[ \t\r\n]/)[0] ?? "";
    if (word === "" || word.toLowerCase() === "no") return false;
    if (word.toLowerCase() === "yes" || word === fp) return true;
    message = "Please type 'yes', 'no' or the fingerprint: ";
  }
  return false;
}

/**
 * The HostKeyAlgorithms to offer, ordered as ssh_kex2() does: when the user did not set the list
 * (or only added or removed entries with +/-), algorithms whose key type known_hosts already holds
 * for this host go first (order_hostkeyalgs()). Session setup should pass its assembled list; the
 * verdict then lands on a known key instead of a false "changed".
 */
export function preferredHostKeyAlgorithms(req: {
  options: HostKeyOptions & Pick<Options, "hostKeyAlgorithms">;
  hostname: string;
  port: number;
  /** The full list that will be offered, in preference order. */
  algorithms: readonly string[];
  homes?: HomeLookup;
}): string[] {
  const written = req.options.hostKeyAlgorithms;
  if (written !== null && !written.startsWith("+") && !written.startsWith("-")) return [...req.algorithms];
  const o = req.options;
  const files = [...o.userHostfiles, ...o.systemHostfiles.map((f) => expandSystemFile(f, req.homes))];
  const hostName = hostKeyLookupName({
    hostname: req.hostname,
    port: req.port,
    hostKeyAlias: o.hostKeyAlias,
  });
  return orderHostKeyAlgorithms(loadKnownHosts(files).entries, hostName, req.algorithms);
}

function expandSystemFile(file: string, homes: HomeLookup | undefined): string {
  if (!file.startsWith("~")) return file;
  // ssh.c tilde-expands GlobalKnownHostsFile after `ssh -G` has printed it, so resolve() keeps `~`.
  const lookup = homes ?? defaultHomes();
  return expandTilde(file, lookup) ?? file;
}

let homesCache: HomeLookup | undefined;
function defaultHomes(): HomeLookup {
  // tilde_expand_filename() asks the password database, as nodeEnvironment() does (not $HOME).
  homesCache ??= nodeEnvironment();
  return homesCache;
}

function removeCommand(file: string, hostName: string): string {
  return `ssh-keygen -f "${file}" -R "${hostName}"`;
}

function listTypes(entries: readonly KnownHostEntry[]): string {
  return [...new Set(entries.map((e) => e.key.display))].join(", ");
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");
LOOPBACK.addSubnet("::ffff:127.0.0.0", 104, "ipv6");

/** sockaddr_is_local(): 127.0.0.0/8 or ::1 (an IPv4-mapped loopback address counts too). */
function isLoopback(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return LOOPBACK.check(address, family === 4 ? "ipv4" : "ipv6");
}
