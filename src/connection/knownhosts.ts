/**
 * known_hosts, as OpenSSH 9.2 reads and writes it (hostfile.c, sshconnect.c, sshkey.c).
 *
 * - Parsing follows hostkeys_foreach_file(): leading blanks, `#` comments, at most one marker
 *   (`@revoked` / `@cert-authority`), a host field (a pattern list, or one `|1|salt|hmac` hash),
 *   the key (type word + base64 blob, which must agree as sshkey_read() insists), then a comment.
 *   Lines that do not parse are skipped, as OpenSSH skips them, and reported in `invalid`.
 * - Lookup follows check_hostkeys_by_key_or_type(): a plain (non-marker) entry equal to the
 *   presented key is a match; if none is equal but the host has other plain entries the key has
 *   CHANGED, whatever their type (see `HostKeyCheck`).
 * - Keys compare by their public parts (sshkey_equal_public), through a canonical re-encoding of
 *   the blob, so an over-long mpint or a compressed EC point in a hand-edited file still compares
 *   equal. Fingerprints hash that canonical blob, as sshkey_fingerprint() does.
 *
 * No ssh2 here: this module is pure logic plus small synchronous file I/O (known_hosts files are
 * read once per new connection, as OpenSSH reads them; parsed files are cached by content).
 */
import { createHash, createHmac, ECDH, randomBytes } from "node:crypto";
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, writeSync } from "node:fs";
import { homedir } from "node:os";
import { dirname } from "node:path";
import { JumpgateError } from "../errors.js";
import { matchHostname } from "../util/patterns.js";

// ---------------------------------------------------------------------------------------------
// Keys

/** A host key as the server presented it. `blob` is authoritative; `type` is only cross-checked. */
export interface HostKey {
  /** The key or signature algorithm name (ssh-ed25519, rsa-sha2-512...), if the caller knows it. */
  type?: string;
  /** The public key blob (RFC 4253 6.6 encoding), as ssh2's hostVerifier receives it. */
  blob: Buffer;
}

/** What a parsed public key is: OpenSSH's names for it and the canonical blob used to compare it. */
export interface KeyInfo {
  /** The plain key type name written in known_hosts (sshkey_ssh_name): ssh-ed25519, ssh-rsa, ... */
  name: string;
  /** sshkey_type(): ED25519, RSA, ECDSA, DSA, ECDSA-SK, ED25519-SK; ssh prints it in its prompts. */
  display: string;
  /** sshkey_size(): modulus bits for RSA/DSA, curve bits for ECDSA, 256 for Ed25519. */
  bits: number;
  /** The blob re-encoded as OpenSSH would write it (minimal mpints, uncompressed EC points). */
  canonical: Buffer;
}

interface KeyFamily {
  display: string;
  /** Curve name in the blob and Node's name for it (ECDSA only). */
  curve?: { ssh: string; node: string; bits: number };
  /** `validate`: check what is costly to check (EC points); always true for presented keys. */
  parse(r: WireReader, family: KeyFamily, validate: boolean): { parts: Buffer[]; bits: number };
}

const ECDSA_CURVES = {
  nistp256: { ssh: "nistp256", node: "prime256v1", bits: 256 },
  nistp384: { ssh: "nistp384", node: "secp384r1", bits: 384 },
  nistp521: { ssh: "nistp521", node: "secp521r1", bits: 521 },
} as const;

/** sshkey_check_rsa_length(): OpenSSH refuses to even load RSA keys below 1024 bits. */
const RSA_MIN_BITS = 1024;

const parseRsa: KeyFamily["parse"] = (r) => {
  const e = r.mpint();
  const n = r.mpint();
  const bits = bitLength(n);
  if (bits < RSA_MIN_BITS) throw new KeyFormatError(`RSA key of ${bits} bits is too small`);
  return { parts: [mpintBytes(e), mpintBytes(n)], bits };
};

const parseDsa: KeyFamily["parse"] = (r) => {
  const p = r.mpint();
  const rest = [r.mpint(), r.mpint(), r.mpint()];
  return { parts: [mpintBytes(p), ...rest.map(mpintBytes)], bits: bitLength(p) };
};

const parseEcdsa: KeyFamily["parse"] = (r, family, validate) => {
  const curve = family.curve as NonNullable<KeyFamily["curve"]>;
  const named = r.string().toString("latin1");
  // sshkey_from_blob: the curve in the blob must be the one the type name promises.
  if (named !== curve.ssh) throw new KeyFormatError(`curve ${named} does not match ${curve.ssh}`);
  const point = r.string();
  const coord = Math.ceil(curve.bits / 8);
  if (!validate && point.length === 1 + 2 * coord && point[0] === 0x04) {
    // Lines in known_hosts: an uncompressed point is taken as written. Validating it costs ~30us
    // a line (long files have thousands), and a point off the curve can never equal the
    // presented key, which is validated: such a line reads as a different key (CHANGED) where
    // ssh would skip it, the safer side.
    return { parts: [Buffer.from(curve.ssh, "latin1"), point], bits: curve.bits };
  }
  let uncompressed: Buffer;
  try {
    // Validates that the point is on the curve (sshkey_ec_validate_public) and normalises the
    // encoding, so comparing canonical blobs is EC_POINT_cmp()'s comparison.
    uncompressed = ECDH.convertKey(point, curve.node, undefined, undefined, "uncompressed") as Buffer;
  } catch {
    throw new KeyFormatError("invalid EC public point");
  }
  return { parts: [Buffer.from(curve.ssh, "latin1"), uncompressed], bits: curve.bits };
};

const parseEd25519: KeyFamily["parse"] = (r) => {
  const pk = r.string();
  if (pk.length !== 32) throw new KeyFormatError("Ed25519 public key is not 32 bytes");
  return { parts: [pk], bits: 256 };
};

/** Security keys: the application string is part of the public key (sshkey_equal_public). */
const withApplication =
  (inner: KeyFamily["parse"]): KeyFamily["parse"] =>
  (r, family, validate) => {
    const { parts, bits } = inner(r, family, validate);
    return { parts: [...parts, r.string()], bits };
  };

/** The plain key types OpenSSH 9.2 (Debian build, no XMSS) accepts in known_hosts. */
const FAMILIES: Readonly<Record<string, KeyFamily>> = {
  "ssh-rsa": { display: "RSA", parse: parseRsa },
  "ssh-dss": { display: "DSA", parse: parseDsa },
  "ecdsa-sha2-nistp256": { display: "ECDSA", curve: ECDSA_CURVES.nistp256, parse: parseEcdsa },
  "ecdsa-sha2-nistp384": { display: "ECDSA", curve: ECDSA_CURVES.nistp384, parse: parseEcdsa },
  "ecdsa-sha2-nistp521": { display: "ECDSA", curve: ECDSA_CURVES.nistp521, parse: parseEcdsa },
  "ssh-ed25519": { display: "ED25519", parse: parseEd25519 },
  "sk-ecdsa-sha2-nistp256@openssh.com": {
    display: "ECDSA-SK",
    curve: ECDSA_CURVES.nistp256,
    parse: withApplication(parseEcdsa),
  },
  "sk-ssh-ed25519@openssh.com": { display: "ED25519-SK", parse: withApplication(parseEd25519) },
};

/**
 * The plain key type an algorithm or key type word names, or undefined. Covers the signature
 * algorithms (rsa-sha2-256/512 name RSA keys; sshkey.c lists them as key names too) and the
 * certificate algorithms (whose plain type is what order_hostkeyalgs() looks for).
 */
export function plainKeyName(algorithm: string): string | undefined {
  const CERT_SUFFIX = "-cert-v01@openssh.com";
  const base = algorithm.endsWith(CERT_SUFFIX) ? algorithm.slice(0, -CERT_SUFFIX.length) : algorithm;
  if (FAMILIES[base] !== undefined) return base;
  if (base === "rsa-sha2-256" || base === "rsa-sha2-512") return "ssh-rsa";
  // sk-ssh-ed25519-cert-v01@openssh.com -> sk-ssh-ed25519 -> sk-ssh-ed25519@openssh.com
  const vendor = `${base}@openssh.com`;
  if (FAMILIES[vendor] !== undefined) return vendor;
  return undefined;
}

class KeyFormatError extends Error {}

/**
 * Parses a public key blob (sshkey_from_blob) and re-encodes it canonically. Throws a
 * JumpgateError (JG_HOSTKEY_REFUSED) for anything OpenSSH would not load: an unknown type, a
 * truncated or over-long blob, a bad curve point, an RSA modulus under 1024 bits.
 */
export function describeKey(blob: Buffer): KeyInfo {
  try {
    return parseKeyBlob(blob, true);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new JumpgateError("JG_HOSTKEY_REFUSED", `The host key cannot be parsed (${reason}).`, {
      cause: err,
    });
  }
}

function parseKeyBlob(blob: Buffer, validate: boolean): KeyInfo {
  const r = new WireReader(blob);
  const name = r.string().toString("latin1");
  const family = FAMILIES[name];
  if (family === undefined) throw new KeyFormatError(`unsupported key type ${JSON.stringify(name)}`);
  const { parts, bits } = family.parse(r, family, validate);
  if (!r.atEnd()) throw new KeyFormatError("trailing data after the key");
  const w = new WireWriter();
  w.string(Buffer.from(name, "latin1"));
  if (family.parse === parseRsa || family.parse === parseDsa) {
    for (const part of parts) w.mpint(part);
  } else {
    for (const part of parts) w.string(part);
  }
  return { name, display: family.display, bits, canonical: w.done() };
}

/** sshkey_equal(): same plain type and same public parts. */
function sameKey(a: KeyInfo, b: KeyInfo): boolean {
  return a.canonical.equals(b.canonical);
}

/** `SHA256:<base64 without padding>`, exactly as `ssh-keygen -l` and ssh's prompts print it. */
export function fingerprintSha256(blob: Buffer): string {
  return fingerprint(blob, "sha256");
}

/**
 * sshkey_fingerprint() with FingerprintHash sha256 (default) or md5 (`MD5:aa:bb:...`). Hashes the
 * canonical blob, as OpenSSH hashes its own re-serialisation of the key.
 */
export function fingerprint(blob: Buffer, hash: "sha256" | "md5" = "sha256"): string {
  const canonical = parseKeyOrRaw(blob);
  if (hash === "md5") {
    const hex = createHash("md5").update(canonical).digest("hex");
    return `MD5:${hex.match(/../g)?.join(":") ?? ""}`;
  }
  return `SHA256:${createHash("sha256").update(canonical).digest("base64").replace(/=+$/, "")}`;
}

function parseKeyOrRaw(blob: Buffer): Buffer {
  // A fingerprint is also wanted for keys jumpgate cannot parse (to show the user what arrived).
  try {
    return parseKeyBlob(blob, true).canonical;
  } catch {
    return blob;
  }
}

// ---------------------------------------------------------------------------------------------
// Host names

/** put_host_port(): the bare host for port 22 (or 0), `[host]:port` otherwise. */
export function putHostPort(host: string, port: number): string {
  return port === 0 || port === 22 ? host : `[${host}]:${port}`;
}

/**
 * The name ssh looks a host up by and records it under (get_hostfile_hostname_ipaddr()):
 * HostKeyAlias verbatim when set (OpenSSH appends no port to an alias: the alias is meant to name
 * one server, whatever port it answers on), else `put_host_port(hostname, port)`. Lowercased, as
 * ssh_login() lowercases the host and write_host_entry() lowercases what it writes.
 */
export function hostKeyLookupName(args: {
  hostname: string;
  port: number;
  hostKeyAlias?: string | null;
}): string {
  if (args.hostKeyAlias !== undefined && args.hostKeyAlias !== null) return args.hostKeyAlias.toLowerCase();
  return putHostPort(args.hostname.toLowerCase(), args.port);
}

const HASH_MAGIC = "|1|";
const SHA1_LEN = 20;

/** host_hash(): `|1|base64(salt)|base64(HMAC-SHA1(key=salt, data=host))`, a fresh 20-byte salt by default. */
export function hashHostName(host: string, salt: Buffer = randomBytes(SHA1_LEN)): string {
  const mac = createHmac("sha1", salt).update(host, "utf8").digest();
  return `${HASH_MAGIC}${salt.toString("base64")}|${mac.toString("base64")}`;
}

/**
 * extract_salt(): the salt of a `|1|salt|hmac` field, or undefined when the field is malformed
 * (OpenSSH then treats the whole line as a parse error, "bad host hash").
 */
function extractSalt(field: string): Buffer | undefined {
  if (!field.startsWith(HASH_MAGIC)) return undefined;
  const rest = field.slice(HASH_MAGIC.length);
  const end = rest.indexOf("|");
  if (end <= 0 || end > 1024) return undefined;
  const salt = decodeBase64(rest.slice(0, end));
  if (salt === undefined || salt.length !== SHA1_LEN) return undefined;
  return salt;
}

/**
 * match_maybe_hashed(): a hashed field is compared in full against the hash of `host` under the
 * field's own salt (so a hash can never be part of a comma list); a plain field is an OpenSSH
 * hostname pattern list, where a matching `!pattern` makes the whole line not match.
 */
function hostFieldMatches(field: HostField, host: string): boolean {
  if (field.salt !== undefined) return hashHostName(host, field.salt) === field.text;
  return matchHostname(host, field.text) === 1;
}

interface HostField {
  text: string;
  /** Present for hashed fields. */
  salt?: Buffer;
}

// ---------------------------------------------------------------------------------------------
// Parsing

export type KnownHostsMarker = "revoked" | "cert-authority";

/** One usable known_hosts line. */
export interface KnownHostEntry {
  readonly file: string;
  /** 1-based, counting every line of the file (comments and blank lines too). */
  readonly line: number;
  readonly marker?: KnownHostsMarker;
  /** The host field as written: a comma-separated pattern list, or one `|1|salt|hmac` hash. */
  readonly hosts: string;
  readonly hashed: boolean;
  /** The key type word as written (normally equal to `key.name`; rsa-sha2-* also name RSA keys). */
  readonly keyType: string;
  readonly key: KeyInfo;
  /** Whatever follows the key (OpenSSH ignores it). */
  readonly comment: string;
  /** Present for hashed lines: the salt, so lookups do not decode it again. */
  readonly salt?: Buffer;
}

/** A line OpenSSH would skip ("parse error in hostkeys file"); reported for debugging only. */
export interface InvalidKnownHostsLine {
  file: string;
  line: number;
  reason: string;
}

export interface KnownHostsDb {
  entries: KnownHostEntry[];
  invalid: InvalidKnownHostsLine[];
  /** Files that exist but could not be read (missing files are normal and not listed). */
  unreadable: Array<{ file: string; reason: string }>;
}

const BLANK = /^[ \t]*/;

/** Parses one file's text. `file` is only a label for entries and messages. */
export function parseKnownHosts(text: string, file: string): Pick<KnownHostsDb, "entries" | "invalid"> {
  const entries: KnownHostEntry[] = [];
  const invalid: InvalidKnownHostsLine[] = [];
  // getline() splits on "\n" only; a trailing "\r" stays on the line (base64 decoding skips it).
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  lines.forEach((raw, index) => {
    const parsed = parseLine(raw, file, index + 1);
    if (parsed === null) return;
    if ("reason" in parsed) invalid.push(parsed);
    else entries.push(parsed);
  });
  return { entries, invalid };
}

function parseLine(raw: string, file: string, line: number): KnownHostEntry | InvalidKnownHostsLine | null {
  const bad = (reason: string): InvalidKnownHostsLine => ({ file, line, reason });
  let cp = raw.slice(BLANK.exec(raw)?.[0].length ?? 0);
  if (cp === "" || cp.startsWith("#")) return null;

  // check_markers(): one marker at most, ended by the first space (or, failing that, the first tab
  // anywhere in the line; OpenSSH's strchr order, kept so odd lines are judged alike).
  let marker: KnownHostsMarker | undefined;
  while (cp.startsWith("@")) {
    if (marker !== undefined) return bad("more than one marker");
    let sp = cp.indexOf(" ");
    if (sp < 0) sp = cp.indexOf("\t");
    if (sp < 0 || sp <= 1 || sp >= 32) return bad("invalid marker");
    const word = cp.slice(0, sp);
    if (word === "@cert-authority") marker = "cert-authority";
    else if (word === "@revoked") marker = "revoked";
    else return bad(`invalid marker ${word}`);
    cp = cp.slice(sp);
    cp = cp.slice(BLANK.exec(cp)?.[0].length ?? 0);
  }

  const hostEnd = cp.search(/[ \t]|$/);
  const hosts = cp.slice(0, hostEnd);
  const hashed = hosts.startsWith("|");
  let salt: Buffer | undefined;
  if (hashed) {
    salt = extractSalt(hosts);
    // A revoked key stays revoked even under a malformed hash: its host field is never consulted.
    if (salt === undefined && marker !== "revoked") return bad("bad host hash");
  }
  let rest = cp.slice(hostEnd);
  rest = rest.slice(BLANK.exec(rest)?.[0].length ?? 0);
  if (rest === "" || rest.startsWith("#")) return bad("truncated before key type");

  // sshkey_read(): type word, blanks, base64 blob, blanks, comment.
  const typeEnd = rest.search(/[ \t]/);
  if (typeEnd < 0) return bad("truncated after key type");
  const keyType = rest.slice(0, typeEnd);
  const typeName = plainKeyName(keyType);
  if (typeName === undefined || keyType.includes("-cert-v01@")) {
    // Certificates inside known_hosts lines are not supported (see docs/differences.md).
    return bad(`unsupported key type ${keyType}`);
  }
  rest = rest.slice(typeEnd);
  rest = rest.slice(BLANK.exec(rest)?.[0].length ?? 0);
  if (rest === "") return bad("truncated after key type");
  const blobEnd = rest.search(/[ \t]|$/);
  const blob = decodeBase64(rest.slice(0, blobEnd));
  if (blob === undefined) return bad("invalid base64 key");
  let key: KeyInfo;
  try {
    key = parseKeyBlob(blob, false);
  } catch (err) {
    return bad(err instanceof Error ? err.message : String(err));
  }
  // sshkey_read(): the blob's type must be the one the line names (ECDSA: the same curve too).
  if (key.name !== typeName) return bad(`key type mismatch: line says ${keyType}, key is ${key.name}`);
  let comment = rest.slice(blobEnd);
  comment = comment.slice(BLANK.exec(comment)?.[0].length ?? 0).replace(/\r$/, "");
  return {
    file,
    line,
    ...(marker === undefined ? {} : { marker }),
    hosts,
    hashed,
    keyType,
    key,
    comment,
    ...(salt === undefined ? {} : { salt }),
  };
}

/**
 * __b64_pton() as OpenSSH uses it: white space is skipped, padding must be right and unused
 * trailing bits must be zero (checked by re-encoding). Undefined when the text is not base64.
 */
function decodeBase64(text: string): Buffer | undefined {
  const compact = text.replace(/[ \t\n\v\f\r]/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(compact, "base64");
  return bytes.toString("base64") === compact ? bytes : undefined;
}

/**
 * Reads and parses known_hosts files in order (UserKnownHostsFile entries, then
 * GlobalKnownHostsFile entries, as check_host_key() loads them). Missing files are skipped
 * silently, as OpenSSH skips them; unreadable ones are reported in `unreadable`.
 */
export function loadKnownHosts(files: readonly string[]): KnownHostsDb {
  const db: KnownHostsDb = { entries: [], invalid: [], unreadable: [] };
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") {
        db.unreadable.push({ file, reason: (err as Error).message });
      }
      continue;
    }
    const parsed = parseCached(file, text);
    db.entries.push(...parsed.entries);
    db.invalid.push(...parsed.invalid);
  }
  return db;
}

/**
 * Parsed files by path, reused while the text is unchanged: a long-lived gate verifies a host key
 * for every new connection, and parsing costs ~20us a line (base64, key decoding) where reading
 * and comparing the text is nearly free. Keyed on the full text, never on mtime, so an edit is
 * always seen. Entries are treated as immutable by every caller.
 */
const parseCache = new Map<string, { text: string; parsed: Pick<KnownHostsDb, "entries" | "invalid"> }>();
const PARSE_CACHE_FILES = 16;

function parseCached(file: string, text: string): Pick<KnownHostsDb, "entries" | "invalid"> {
  const hit = parseCache.get(file);
  if (hit !== undefined && hit.text === text) return hit.parsed;
  const parsed = parseKnownHosts(text, file);
  parseCache.delete(file);
  if (parseCache.size >= PARSE_CACHE_FILES) {
    const oldest = parseCache.keys().next().value;
    if (oldest !== undefined) parseCache.delete(oldest);
  }
  parseCache.set(file, { text, parsed });
  return parsed;
}

// ---------------------------------------------------------------------------------------------
// Checking

/**
 * The answer for one presented key.
 *
 * - `match`: a plain entry for the host holds exactly this key.
 * - `changed`: the host has plain entries but none holds this key. As in OpenSSH 9.2
 *   (check_hostkeys_by_key_or_type(): "A non-matching key exists"), this includes entries of
 *   *other* key types: known ED25519 + presented RSA is CHANGED, not "new", and `ssh` prints the
 *   REMOTE HOST IDENTIFICATION HAS CHANGED block for it (checked against the installed 9.2p1).
 *   OpenSSH's "but keys of different type are already known" prompt is unreachable since the
 *   hostkeys refactor; ssh avoids the situation by preferring known key types in the KEX proposal
 *   (order_hostkeyalgs(), see orderHostKeyAlgorithms()). `entries` lists every offending entry in
 *   load order; `sameType` says whether one of them has the presented key's type.
 * - `revoked`: an `@revoked` line holds this key. jumpgate honours such a line whatever its host
 *   field says (OpenSSH only honours it for hosts the field matches); see docs/differences.md.
 * - `unknown`: no plain entry for the host. `certAuthorities` lists `@cert-authority` lines that
 *   match the host: jumpgate cannot use them (no certificate support yet) but says so.
 */
export type HostKeyCheck =
  | { status: "match"; entry: KnownHostEntry }
  | { status: "changed"; entries: KnownHostEntry[]; sameType: boolean }
  | { status: "revoked"; entry: KnownHostEntry }
  | { status: "unknown"; certAuthorities: KnownHostEntry[] };

export interface CheckHostKeyRequest {
  /** known_hosts files in lookup order: user files, then system files. */
  files: readonly string[];
  /** The lookup name (hostKeyLookupName()): `host`, `[host]:port` or the HostKeyAlias. */
  hostName: string;
  key: HostKey;
}

/** Reads `files` and checks `key` for `hostName`. Throws JG_HOSTKEY_REFUSED for an unparseable key. */
export function checkHostKey(req: CheckHostKeyRequest): HostKeyCheck {
  return checkHostKeyIn(loadKnownHosts(req.files).entries, req.hostName, req.key);
}

/** checkHostKey() on entries already loaded. */
export function checkHostKeyIn(
  entries: readonly KnownHostEntry[],
  hostName: string,
  presented: HostKey | KeyInfo,
): HostKeyCheck {
  const key = "canonical" in presented ? presented : presentedKey(presented);
  const host = hostName.toLowerCase();
  const revoked = entries.find((e) => e.marker === "revoked" && sameKey(e.key, key));
  if (revoked !== undefined) return { status: "revoked", entry: revoked };

  const offending: KnownHostEntry[] = [];
  const certAuthorities: KnownHostEntry[] = [];
  for (const entry of entries) {
    if (entry.marker === "revoked" || !entryMatchesHost(entry, host)) continue;
    if (entry.marker === "cert-authority") {
      certAuthorities.push(entry);
      continue;
    }
    if (sameKey(entry.key, key)) return { status: "match", entry };
    offending.push(entry);
  }
  if (offending.length > 0) {
    return {
      status: "changed",
      entries: offending,
      sameType: offending.some((e) => e.key.name === key.name),
    };
  }
  return { status: "unknown", certAuthorities };
}

function entryMatchesHost(entry: KnownHostEntry, host: string): boolean {
  const field: HostField =
    entry.salt === undefined ? { text: entry.hosts } : { text: entry.hosts, salt: entry.salt };
  return hostFieldMatches(field, host);
}

/** Parses the presented key and checks the caller's type hint against the blob. */
export function presentedKey(key: HostKey): KeyInfo {
  const info = describeKey(key.blob);
  if (key.type !== undefined && plainKeyName(key.type) !== info.name) {
    throw new JumpgateError(
      "JG_HOSTKEY_REFUSED",
      `The server offered a ${key.type} host key but sent a ${info.name} key blob; refusing it.`,
    );
  }
  return info;
}

/**
 * other_hostkeys_message()'s search: plain entries holding `key` under names that do not match
 * `hostName`, so the prompt can say "This host key is known by the following other names".
 */
export function findKeyUnderOtherNames(
  entries: readonly KnownHostEntry[],
  hostName: string,
  key: KeyInfo,
): KnownHostEntry[] {
  const host = hostName.toLowerCase();
  return entries.filter((e) => e.marker === undefined && sameKey(e.key, key) && !entryMatchesHost(e, host));
}

/**
 * order_hostkeyalgs(): when the client's first-choice algorithm already has a known key for the
 * host, the list is used as is; otherwise algorithms whose key type is known (and certificate
 * algorithms, when an @cert-authority line matches) move to the front, keeping relative order.
 * Without this, a server that has both an ED25519 and an RSA key, known here only by the RSA one,
 * would show its ED25519 key and fail as CHANGED where `ssh` connects.
 */
export function orderHostKeyAlgorithms(
  entries: readonly KnownHostEntry[],
  hostName: string,
  algorithms: readonly string[],
): string[] {
  const host = hostName.toLowerCase();
  const forHost = entries.filter((e) => e.marker !== "revoked" && entryMatchesHost(e, host));
  const knownNames = new Set(forHost.filter((e) => e.marker === undefined).map((e) => e.key.name));
  const haveCa = forHost.some((e) => e.marker === "cert-authority");
  const known = (alg: string): boolean => {
    const plain = plainKeyName(alg);
    return plain !== undefined && knownNames.has(plain);
  };
  const best = algorithms[0];
  if (best === undefined || known(best)) return [...algorithms];
  const first: string[] = [];
  const last: string[] = [];
  for (const alg of algorithms) {
    const isCert = alg.includes("-cert-v01@");
    (known(alg) || (isCert && haveCa) ? first : last).push(alg);
  }
  return [...first, ...last];
}

// ---------------------------------------------------------------------------------------------
// RevokedHostKeys

/** The first bytes of an OpenSSH KRL (PROTOCOL.krl: "SSHKRL\n\0"). */
const KRL_MAGIC = Buffer.from("SSHKRL\n\0", "latin1");

/**
 * sshkey_check_revoked() for RevokedHostKeys: the line of `file` that lists `key`, or undefined.
 * The file is a flat list of public keys (`type base64 [comment]`, `#` comments). Like ssh, any
 * failure fails closed: a missing or unreadable file or a line that does not parse throws
 * JG_HOSTKEY_REFUSED (ssh: "Error checking host key ... in revoked keys file"). KRLs are not
 * supported yet and throw too, rather than be ignored.
 */
export function findRevokedKey(file: string, key: KeyInfo): number | undefined {
  const refuse = (why: string): never => {
    throw new JumpgateError(
      "JG_HOSTKEY_REFUSED",
      `Cannot check the host key against RevokedHostKeys ${file}: ${why}. Fix or remove RevokedHostKeys.`,
    );
  };
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (err) {
    return refuse((err as Error).message);
  }
  if (data.subarray(0, KRL_MAGIC.length).equals(KRL_MAGIC)) {
    return refuse("it is a KRL, which jumpgate cannot read yet (a list of public keys works)");
  }
  const lines = data.toString("utf8").split("\n");
  for (let i = 0; i < lines.length; i++) {
    let cp = lines[i] as string;
    cp = cp.slice(BLANK.exec(cp)?.[0].length ?? 0);
    if (cp === "" || cp.startsWith("#")) continue;
    const typeEnd = cp.search(/[ \t]/);
    const typeName = typeEnd < 0 ? undefined : plainKeyName(cp.slice(0, typeEnd));
    if (typeEnd < 0 || typeName === undefined) return refuse(`line ${i + 1} is not a public key`);
    const rest = cp.slice(typeEnd).replace(/^[ \t]+/, "");
    const blob = decodeBase64(rest.slice(0, rest.search(/[ \t]|$/)));
    if (blob === undefined) return refuse(`line ${i + 1} is not a public key`);
    let listed: KeyInfo;
    try {
      listed = parseKeyBlob(blob, false);
    } catch (err) {
      // sshkey_in_file() skips keys that are only too short (SSH_ERR_KEY_LENGTH).
      if (err instanceof KeyFormatError && /too small/.test(err.message)) continue;
      return refuse(`line ${i + 1}: ${(err as Error).message}`);
    }
    if (listed.name !== typeName) return refuse(`line ${i + 1}: key type mismatch`);
    if (sameKey(listed, key)) return i + 1;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Writing

/**
 * One known_hosts line as write_host_entry() writes it, without the newline: the lowercased host
 * (or its `|1|salt|hmac` hash), the plain key type name and the base64 key. No comment.
 */
export function formatKnownHostsLine(hostName: string, key: HostKey | KeyInfo, hashed: boolean): string {
  const info = "canonical" in key ? key : presentedKey(key);
  const host = hostName.toLowerCase();
  const field = hashed ? hashHostName(host) : host;
  return `${field} ${info.name} ${info.canonical.toString("base64")}`;
}

/**
 * Appends one entry to `file` (add_host_to_hostfile()). The directory is created 0700 and the file
 * 0600 when missing; existing lines are never rewritten. The line goes out in one O_APPEND write,
 * so concurrent writers interleave whole lines. Unlike OpenSSH, a file whose last line lacks its
 * newline gets one first, so the new entry does not merge into that line.
 */
export function appendKnownHost(
  file: string,
  hostName: string,
  key: HostKey | KeyInfo,
  hashed: boolean,
): { file: string; text: string } {
  const text = `${formatKnownHostsLine(hostName, key, hashed)}\n`;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const fd = openSync(file, "a", 0o600);
  try {
    const size = fstatSync(fd).size;
    let prefix = "";
    if (size > 0) {
      const last = Buffer.alloc(1);
      readLastByte(file, size, last);
      if (last[0] !== 0x0a) prefix = "\n";
    }
    const data = Buffer.from(prefix + text, "utf8");
    let written = 0;
    while (written < data.length) written += writeSync(fd, data, written, data.length - written);
  } finally {
    closeSync(fd);
  }
  return { file, text: text.slice(0, -1) };
}

function readLastByte(file: string, size: number, into: Buffer): void {
  // The append descriptor is write-only; a separate read-only one peeks at the last byte.
  let fd: number | undefined;
  try {
    fd = openSync(file, "r");
    readSync(fd, into, 0, 1, size - 1);
  } catch {
    into[0] = 0x0a; // Unreadable: do not guess, add nothing.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** try_tilde_unexpand(): `~/...` for paths under the home directory, for messages. */
export function tildeUnexpand(path: string, home: string = process.env.HOME ?? homedir()): string {
  if (!path.startsWith("/") || home === "") return path;
  if (!path.startsWith(home)) return path;
  if (!home.endsWith("/") && path[home.length] !== "/") return path;
  const rest = path.slice(home.length).replace(/^\//, "");
  return `~/${rest}`;
}

// ---------------------------------------------------------------------------------------------
// SSH wire format (RFC 4251 5): just what key blobs need.

class WireReader {
  private offset = 0;
  constructor(private readonly buf: Buffer) {}

  string(): Buffer {
    if (this.offset + 4 > this.buf.length) throw new KeyFormatError("truncated key blob");
    const len = this.buf.readUInt32BE(this.offset);
    const start = this.offset + 4;
    if (len > this.buf.length - start) throw new KeyFormatError("truncated key blob");
    this.offset = start + len;
    return this.buf.subarray(start, start + len);
  }

  /** A non-negative mpint (sshbuf_get_bignum2 refuses negative ones). */
  mpint(): Buffer {
    const raw = this.string();
    if (raw.length > 0 && (raw[0] as number) & 0x80) throw new KeyFormatError("negative mpint");
    return raw;
  }

  atEnd(): boolean {
    return this.offset === this.buf.length;
  }
}

class WireWriter {
  private readonly parts: Buffer[] = [];

  string(data: Buffer): void {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    this.parts.push(len, data);
  }

  /** Minimal two's-complement encoding of a non-negative integer given as magnitude bytes. */
  mpint(magnitude: Buffer): void {
    const m = mpintBytes(magnitude);
    this.string(m.length > 0 && (m[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), m]) : m);
  }

  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** The magnitude of an mpint without leading zero bytes (so encodings compare by value). */
function mpintBytes(raw: Buffer): Buffer {
  let i = 0;
  while (i < raw.length && raw[i] === 0) i++;
  return raw.subarray(i);
}

function bitLength(raw: Buffer): number {
  const m = mpintBytes(raw);
  if (m.length === 0) return 0;
  return (m.length - 1) * 8 + (32 - Math.clz32(m[0] as number));
}

/**
 * load_hostkeys() for one name: the entries (plain, @cert-authority and @revoked) whose host field
 * matches `hostName`, in load order. Used by `jumpgate add -h` to find a destination's host keys.
 */
export function entriesForHost(entries: readonly KnownHostEntry[], hostName: string): KnownHostEntry[] {
  const host = hostName.toLowerCase();
  return entries.filter((entry) => entryMatchesHost(entry, host));
}
