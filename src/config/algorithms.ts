/**
 * Algorithm name lists as the installed OpenSSH (9.2p1, OpenSSL build) knows them, and
 * kex_assemble_names(): `+list` appends to the default, `-list` removes, `^list` prepends, and a
 * plain list replaces; wildcards are expanded against everything the client supports.
 *
 * These lists are data, not behaviour: the differential tests compare them with the real `ssh -G`,
 * so a drift in the installed OpenSSH shows up as a failing test rather than a silent difference.
 */
import { filterList } from "../util/patterns.js";

export const ALL_CIPHERS = [
  "3des-cbc",
  "aes128-cbc",
  "aes192-cbc",
  "aes256-cbc",
  "aes128-ctr",
  "aes192-ctr",
  "aes256-ctr",
  "aes128-gcm@openssh.com",
  "aes256-gcm@openssh.com",
  "chacha20-poly1305@openssh.com",
].join(",");

export const ALL_MACS = [
  "hmac-sha1",
  "hmac-sha1-96",
  "hmac-sha2-256",
  "hmac-sha2-512",
  "hmac-md5",
  "hmac-md5-96",
  "umac-64@openssh.com",
  "umac-128@openssh.com",
  "hmac-sha1-etm@openssh.com",
  "hmac-sha1-96-etm@openssh.com",
  "hmac-sha2-256-etm@openssh.com",
  "hmac-sha2-512-etm@openssh.com",
  "hmac-md5-etm@openssh.com",
  "hmac-md5-96-etm@openssh.com",
  "umac-64-etm@openssh.com",
  "umac-128-etm@openssh.com",
].join(",");

export const ALL_KEX = [
  "diffie-hellman-group1-sha1",
  "diffie-hellman-group14-sha1",
  "diffie-hellman-group14-sha256",
  "diffie-hellman-group16-sha512",
  "diffie-hellman-group18-sha512",
  "diffie-hellman-group-exchange-sha1",
  "diffie-hellman-group-exchange-sha256",
  "ecdh-sha2-nistp256",
  "ecdh-sha2-nistp384",
  "ecdh-sha2-nistp521",
  "curve25519-sha256",
  "curve25519-sha256@libssh.org",
  "sntrup761x25519-sha512",
  "sntrup761x25519-sha512@openssh.com",
].join(",");

/** sshkey_alg_list(0, 0, 1): every key and signature algorithm, certificates included. */
export const ALL_KEY_ALGS = [
  "ssh-ed25519",
  "ssh-ed25519-cert-v01@openssh.com",
  "sk-ssh-ed25519@openssh.com",
  "sk-ssh-ed25519-cert-v01@openssh.com",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp256-cert-v01@openssh.com",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp384-cert-v01@openssh.com",
  "ecdsa-sha2-nistp521",
  "ecdsa-sha2-nistp521-cert-v01@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
  "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
  "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
  "ssh-dss",
  "ssh-dss-cert-v01@openssh.com",
  "ssh-rsa",
  "ssh-rsa-cert-v01@openssh.com",
  "rsa-sha2-256",
  "rsa-sha2-256-cert-v01@openssh.com",
  "rsa-sha2-512",
  "rsa-sha2-512-cert-v01@openssh.com",
].join(",");

/** sshkey_alg_list(0, 1, 1): plain (non-certificate) signature algorithms. */
export const ALL_SIG_ALGS = [
  "ssh-ed25519",
  "sk-ssh-ed25519@openssh.com",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ecdsa-sha2-nistp256@openssh.com",
  "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
  "ssh-dss",
  "ssh-rsa",
  "rsa-sha2-256",
  "rsa-sha2-512",
].join(",");

export const DEFAULT_CIPHERS =
  "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com";

export const DEFAULT_MACS =
  "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com," +
  "hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1";

export const DEFAULT_KEX =
  "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org," +
  "ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256," +
  "diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256";

export const DEFAULT_KEY_ALGS =
  "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com," +
  "ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com," +
  "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com," +
  "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com," +
  "sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256";

export const DEFAULT_CA_SIG_ALGS =
  "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com," +
  "sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256";

/** Debian's GSSAPI key exchange patch: the default GSSAPIKexAlgorithms. */
export const DEFAULT_GSS_KEX =
  "gss-group14-sha256-,gss-group16-sha512-,gss-nistp256-sha256-,gss-curve25519-sha256-,gss-group14-sha1-,gss-gex-sha1-";

/** Debian's kex_gss_names_valid(): the GSSAPI key exchange prefixes it knows. */
const GSS_KEX_NAMES = new Set([
  "gss-gex-sha1-",
  "gss-group1-sha1-",
  "gss-group14-sha1-",
  "gss-group14-sha256-",
  "gss-group16-sha512-",
  "gss-nistp256-sha256-",
  "gss-curve25519-sha256-",
]);

export type AlgorithmKind = "cipher" | "mac" | "kex" | "key" | "gsskex";

const ALL_BY_KIND: Record<AlgorithmKind, ReadonlySet<string>> = {
  cipher: new Set(ALL_CIPHERS.split(",")),
  mac: new Set(ALL_MACS.split(",")),
  kex: new Set(ALL_KEX.split(",")),
  key: new Set(ALL_KEY_ALGS.split(",")),
  gsskex: GSS_KEX_NAMES,
};

/** sshkey_type_from_name() also accepts the short names of plain key types, in any case. */
const KEY_SHORT_NAMES = new Set(["rsa", "dsa", "ecdsa", "ecdsa-sk", "ed25519", "ed25519-sk"]);

/**
 * Whether a config value names only known algorithms (ciphers_valid(), mac_valid(),
 * kex_names_valid(), sshkey_names_valid2()). A leading `-` is never checked, as in OpenSSH;
 * key type lists may use wildcards.
 */
export function algorithmListValid(kind: AlgorithmKind, value: string): boolean {
  if (kind !== "gsskex" && value.startsWith("-")) return true;
  const list = kind !== "gsskex" && (value.startsWith("+") || value.startsWith("^")) ? value.slice(1) : value;
  if (list === "") return false;
  const known = ALL_BY_KIND[kind];
  // The C validators walk the list with strsep() and stop at the first empty element, so
  // "a," and ",a" are accepted (the empty element then matches nothing when the list is built).
  for (const name of list.split(",")) {
    if (name === "") break;
    if (kind === "key" && /[*?]/.test(name)) {
      // sshkey_names_valid2() with wildcards: the pattern must match at least one known type.
      if (filterList([...known].join(","), name, "allow") === "") return false;
      continue;
    }
    if (known.has(name)) continue;
    if (kind === "key" && KEY_SHORT_NAMES.has(name.toLowerCase())) continue;
    return false;
  }
  return true;
}

/** kex_names_cat(): a followed by those of b not already in it. */
function namesCat(a: string, b: string): string {
  if (a === "") return b;
  if (b === "") return a;
  const out = a.split(",");
  for (const name of b.split(",")) {
    if (name === "") break;
    if (!out.includes(name)) out.push(name);
  }
  return out.join(",");
}

/** kex_assemble_names(); returns null when the result would be an empty list (OpenSSH fails then). */
export function assembleNames(value: string | undefined, defaults: string, all: string): string | null {
  if (value === undefined || value === "") return defaults;
  let list: string;
  if (value.startsWith("+")) list = namesCat(defaults, value.slice(1));
  else if (value.startsWith("-")) return filterList(defaults, value.slice(1), "deny");
  else if (value.startsWith("^")) list = namesCat(value.slice(1), defaults);
  else list = value;
  let result = "";
  for (const pattern of list.split(",")) {
    if (pattern.startsWith("!")) return null;
    result = namesCat(result, filterList(all, pattern, "allow"));
  }
  return result === "" ? null : result;
}
