/**
 * Identity files, loaded with OpenSSH's checks and messages (authfile.c and sshconnect2.c's
 * load_identity_file(), 9.2p1):
 *
 * - A missing file is skipped ("no such identity", INFO for a file the user named, DEBUG3 for the
 *   default ~/.ssh/id_* ones).
 * - A private key file of ours that group or others may read or write is refused with ssh's
 *   "UNPROTECTED PRIVATE KEY FILE" block. root is not exempt: the check is "owned by me and mode &
 *   077", nothing else.
 * - An encrypted key (OpenSSH format with bcrypt, or PEM with DEK-Info) is first tried without a
 *   passphrase, then `Enter passphrase for key '<path>': ` is asked up to NumberOfPasswordPrompts
 *   times. An empty answer means "skip this key". Under BatchMode nobody is asked.
 * - The public half is found without any passphrase: the file itself if it is a public key, else
 *   `<path>.pub`, else the unencrypted public section of an OpenSSH-format private key
 *   (sshkey_load_public()). That lets the auth handler offer a key before decrypting it.
 */
import { createHash } from "node:crypto";
import { open, readFile } from "node:fs/promises";
import ssh2, { type ParsedKey } from "ssh2";
import { JumpgateError } from "../errors.js";
import type { Logger } from "../util/log.js";
import { isPromptError, type Prompter } from "./prompt.js";

const { utils } = ssh2;

export interface KeyLoadOptions {
  prompter: Prompter;
  /** BatchMode: an encrypted key is skipped without asking. */
  batchMode: boolean;
  log: Logger;
  /** Passphrase attempts after the empty one (NumberOfPasswordPrompts, default 3). */
  tries?: number;
  /** Named by -i or IdentityFile (true) or one of ssh's defaults (false, the default). */
  userProvided?: boolean;
  /** Whose keys get the permission check (default: the process's uid). */
  uid?: number;
}

export interface PrivateIdentity {
  path: string;
  /** The decrypted private key (ssh2's parsed form). */
  key: ParsedKey;
  comment: string;
  encrypted: boolean;
}

/** Why a key was passed over without an error (OpenSSH's "try next key" cases). */
export type KeySkipReason = "batch-mode" | "no-passphrase" | "prompt-unavailable" | "no-prompts";

export type KeyLoadResult =
  | { status: "loaded"; identity: PrivateIdentity }
  | { status: "missing"; message: string }
  | { status: "skipped"; reason: KeySkipReason; message: string }
  | { status: "refused"; error: JumpgateError };

export interface PublicIdentity {
  path: string;
  key: ParsedKey;
  /** Where the public key came from. */
  source: "file" | "pub" | "private";
}

// ---------------------------------------------------------------------------------------------
// Small key helpers

/** sshkey_fingerprint(SHA256): base64 of the blob's hash without padding. */
export function fingerprint(key: ParsedKey): string {
  const digest = createHash("sha256").update(key.getPublicSSH()).digest("base64");
  return `SHA256:${digest.replace(/=+$/, "")}`;
}

/** sshkey_type(): the short upper-case names ssh prints ("ED25519", "RSA"...). */
export function keyTypeName(key: ParsedKey): string {
  const t: string = key.type;
  if (t === "ssh-ed25519") return "ED25519";
  if (t === "ssh-rsa") return "RSA";
  if (t === "ssh-dss") return "DSA";
  if (t.startsWith("ecdsa-sha2-")) return "ECDSA";
  if (t.startsWith("sk-ssh-ed25519")) return "ED25519-SK";
  if (t.startsWith("sk-ecdsa-")) return "ECDSA-SK";
  return t;
}

/** sshkey_equal_public(): same type and same public blob (ssh2's equals() compares private parts too). */
export function samePublicKey(a: ParsedKey, b: ParsedKey): boolean {
  return a.type === b.type && a.getPublicSSH().equals(b.getPublicSSH());
}

/** ssh2 returns an Error instead of throwing; its types pretend otherwise for sign(). */
function parse(data: Buffer | string, passphrase?: string): ParsedKey | Error {
  return utils.parseKey(data, passphrase);
}

// ---------------------------------------------------------------------------------------------
// Public halves

const OPENSSH_BEGIN = "-----BEGIN OPENSSH PRIVATE KEY-----";
const OPENSSH_END = "-----END OPENSSH PRIVATE KEY-----";
const OPENSSH_MAGIC = Buffer.from("openssh-key-v1\0", "latin1");

/**
 * The public key stored in clear at the start of an OpenSSH-format private key (PROTOCOL.key):
 * magic, cipher, kdf, kdf options, key count, then the first public key blob. Null for anything
 * else (PEM keys have no clear public part).
 */
export function publicKeyFromOpenSshPrivate(text: string): ParsedKey | null {
  const begin = text.indexOf(OPENSSH_BEGIN);
  const end = text.indexOf(OPENSSH_END);
  if (begin < 0 || end < begin) return null;
  const blob = Buffer.from(text.slice(begin + OPENSSH_BEGIN.length, end).replace(/\s+/g, ""), "base64");
  if (blob.length < OPENSSH_MAGIC.length || !blob.subarray(0, OPENSSH_MAGIC.length).equals(OPENSSH_MAGIC)) {
    return null;
  }
  let pos = OPENSSH_MAGIC.length;
  const readString = (): Buffer | null => {
    if (pos + 4 > blob.length) return null;
    const len = blob.readUInt32BE(pos);
    pos += 4;
    if (pos + len > blob.length) return null;
    const out = blob.subarray(pos, pos + len);
    pos += len;
    return out;
  };
  for (let i = 0; i < 3; i++) if (readString() === null) return null; // cipher, kdf, kdf options
  if (pos + 4 > blob.length || blob.readUInt32BE(pos) < 1) return null;
  pos += 4;
  const pub = readString();
  if (pub === null || pub.length < 4) return null;
  const typeLen = pub.readUInt32BE(0);
  if (4 + typeLen > pub.length) return null;
  const type = pub.subarray(4, 4 + typeLen).toString("latin1");
  const key = parse(`${type} ${pub.toString("base64")}`);
  return key instanceof Error ? null : key;
}

async function readPublicKeyFile(path: string): Promise<ParsedKey | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return null;
  }
  // A private key never counts as "the public key file", even an unencrypted one ssh2 could parse.
  if (text.includes("PRIVATE KEY-----")) return null;
  const key = parse(text);
  return key instanceof Error || key.isPrivateKey() ? null : key;
}

/**
 * sshkey_load_public(): the key itself if the file is a public key, then `<path>.pub`, then the
 * public section of an OpenSSH-format private key. Never prompts and never checks permissions
 * (ssh does neither for public halves). Null when none is found.
 */
export async function loadPublicIdentity(path: string): Promise<PublicIdentity | null> {
  const direct = await readPublicKeyFile(path);
  if (direct !== null) return { path, key: direct, source: "file" };
  const pub = await readPublicKeyFile(`${path}.pub`);
  if (pub !== null) return { path, key: pub, source: "pub" };
  try {
    const fromPrivate = publicKeyFromOpenSshPrivate(await readFile(path, "utf8"));
    if (fromPrivate !== null) return { path, key: fromPrivate, source: "private" };
  } catch {
    // Missing or unreadable: the private key load reports it, with ssh's wording.
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Private keys

/** sshkey_perm_ok()'s block, line for line; `mode` is st_mode. */
export function unprotectedKeyWarning(path: string, mode: number): string[] {
  const octal = (mode & 0o777).toString(8).padStart(3, "0");
  return [
    "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
    "@         WARNING: UNPROTECTED PRIVATE KEY FILE!          @",
    "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
    `Permissions 0${octal} for '${path}' are too open.`,
    "It is required that your private key files are NOT accessible by others.",
    "This private key will be ignored.",
  ];
}

/** ssh2's messages for "this key is encrypted and you gave no passphrase" (OpenSSH and PEM formats). */
const NEEDS_PASSPHRASE = /no passphrase given/i;

function errnoMessage(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case "ENOENT":
      return "No such file or directory";
    case "EACCES":
      return "Permission denied";
    case "EISDIR":
      return "Is a directory";
    default:
      return e.message;
  }
}

/**
 * load_identity_file() with its outcomes spelled out, for the auth handler to record:
 * "missing", "skipped" (ssh's silent "try next key"), "refused" (bad permissions, wrong passphrase,
 * unreadable) or "loaded". A prompt interrupted by Ctrl-C rejects with that PromptError: it ends
 * authentication rather than one key.
 */
export async function readIdentityFile(path: string, opts: KeyLoadOptions): Promise<KeyLoadResult> {
  const { log } = opts;
  let data: Buffer;
  let mode: number;
  let owner: number;
  try {
    // One open for both the permission check and the read, like sshkey_load_private_type().
    const handle = await open(path, "r");
    try {
      const st = await handle.stat();
      mode = st.mode;
      owner = st.uid;
      data = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (err) {
    const message = `no such identity: ${path}: ${errnoMessage(err)}`;
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      if (opts.userProvided) log.info(message);
      else log.debug(message, "DEBUG3");
      return { status: "missing", message };
    }
    const text = `Load key "${path}": ${errnoMessage(err)}`;
    log.error(text);
    return { status: "refused", error: new JumpgateError("JG_KEY_UNREADABLE", text, { cause: err }) };
  }

  try {
    const uid = opts.uid ?? process.getuid?.();
    if (uid !== undefined && owner === uid && (mode & 0o077) !== 0) {
      for (const line of unprotectedKeyWarning(path, mode)) log.error(line);
      log.error(`Load key "${path}": bad permissions`);
      const octal = `0${(mode & 0o777).toString(8).padStart(3, "0")}`;
      return {
        status: "refused",
        error: new JumpgateError(
          "JG_KEY_PERMISSIONS",
          `Load key "${path}": bad permissions (${octal} is too open; \`chmod 600 '${path}'\` makes ssh and jumpgate use it).`,
        ),
      };
    }

    // i == 0 in load_identity_file(): the empty passphrase, which opens unencrypted keys.
    const plain = parse(data);
    if (!(plain instanceof Error)) {
      if (!plain.isPrivateKey()) return invalidFormat(path, log, new Error("not a private key"));
      return { status: "loaded", identity: { path, key: plain, comment: plain.comment, encrypted: false } };
    }
    if (!NEEDS_PASSPHRASE.test(plain.message)) return invalidFormat(path, log, plain);

    if (opts.batchMode) {
      const message = `Key "${path}" is encrypted and BatchMode is on, so it was not tried (add it to ssh-agent first, or run without BatchMode).`;
      log.debug(`Load key "${path}": encrypted, and BatchMode forbids asking for its passphrase`);
      return { status: "skipped", reason: "batch-mode", message };
    }
    const tries = opts.tries ?? 3;
    if (tries <= 0) {
      const message = `Key "${path}" is encrypted and NumberOfPasswordPrompts is 0, so it was not tried.`;
      log.debug(message);
      return { status: "skipped", reason: "no-prompts", message };
    }
    const question = `Enter passphrase for key '${path.slice(0, 100)}': `;
    for (let i = 1; i <= tries; i++) {
      let passphrase: string;
      try {
        passphrase = await opts.prompter.ask(question, { echo: false });
      } catch (err) {
        if (!isPromptError(err) || err.reason === "interrupted") throw err;
        // read_passphrase() turns every failure into "", which ssh reads as "skip this key".
        log.debug(`${err.message}`);
        log.debug("no passphrase given, try next key", "DEBUG2");
        const reason: KeySkipReason = err.reason === "cancelled" ? "no-passphrase" : "prompt-unavailable";
        const message =
          reason === "no-passphrase"
            ? `Key "${path}" was skipped: no passphrase was given.`
            : `Key "${path}" needs a passphrase and there is no terminal or usable SSH_ASKPASS to ask for it.`;
        return { status: "skipped", reason, message };
      }
      if (passphrase === "") {
        log.debug("no passphrase given, try next key", "DEBUG2");
        return {
          status: "skipped",
          reason: "no-passphrase",
          message: `Key "${path}" was skipped: no passphrase was given.`,
        };
      }
      const key = parse(data, passphrase);
      if (!(key instanceof Error) && key.isPrivateKey()) {
        return { status: "loaded", identity: { path, key, comment: key.comment, encrypted: true } };
      }
      log.debug("bad passphrase given, try again...", "DEBUG2");
    }
    const text = `Load key "${path}": incorrect passphrase supplied to decrypt private key`;
    log.debug(text);
    return { status: "refused", error: new JumpgateError("JG_KEY_PASSPHRASE", text) };
  } finally {
    data.fill(0);
  }
}

function invalidFormat(path: string, log: Logger, cause: Error): KeyLoadResult {
  const text = `Load key "${path}": invalid format`;
  log.error(text);
  return {
    status: "refused",
    error: new JumpgateError("JG_KEY_UNREADABLE", `${text} (${cause.message}).`, { cause }),
  };
}

/**
 * The simple form: the key, or null when ssh would silently pass it over (missing file, BatchMode
 * with an encrypted key, no passphrase given). Refusals throw their JumpgateError
 * (JG_KEY_PERMISSIONS, JG_KEY_PASSPHRASE, JG_KEY_UNREADABLE) after the messages were logged.
 */
export async function loadIdentityFile(path: string, opts: KeyLoadOptions): Promise<PrivateIdentity | null> {
  const result = await readIdentityFile(path, opts);
  switch (result.status) {
    case "loaded":
      return result.identity;
    case "refused":
      throw result.error;
    default:
      return null;
  }
}
