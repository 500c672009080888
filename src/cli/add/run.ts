/**
 * `jumpgate add`, OpenSSH's ssh-add (9.2p1) on agent/client.ts: the same options, the same
 * messages on the same streams, the same exit status (0 done, 1 failed, 2 no agent).
 *
 * Known differences: the passphrase question is ssh's ("Enter passphrase for key '<path>': ", from
 * connection/keys.ts) rather than ssh-add's; certificates, FIDO (-sk) and PKCS#11 keys are not added.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { AgentClient } from "../../agent/client.js";
import { agentKeyFromParsed, wipeAgentKey } from "../../agent/privatekey.js";
import type { DestConstraint, Identity } from "../../agent/protocol.js";
import { loadPublicIdentity, readIdentityFile } from "../../connection/keys.js";
import { createPrompter, isPromptError, type Prompter } from "../../connection/prompt.js";
import { isJumpgateError, JumpgateError } from "../../errors.js";
import { createLogger } from "../../util/log.js";
import { type ParsedArg, parseShortOptions } from "../sshargs.js";
import { defaultHostKeyFiles, parseDestinationSpec } from "./destination.js";

export interface AddIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Readonly<Record<string, string | undefined>>;
  /** Default: the terminal or SSH_ASKPASS, as ssh-add chooses. */
  prompter?: Prompter;
  /** Default: os.homedir(). */
  home?: string;
}

type Action = "add" | "list" | "listPublic" | "delete" | "deleteAll" | "lock" | "unlock" | "query";

export interface AddArgs {
  action: Action;
  files: string[];
  lifetime?: number;
  confirm: boolean;
  quiet: boolean;
  /** -h: destination constraints as written ("[user@]host" or "from>[user@]to"). */
  destinations: string[];
  /** -H: known_hosts files to find the destinations' host keys in (default: ssh-add's). */
  hostKeyFiles: string[];
}

/** ssh-add's default identities, in its order. */
export const DEFAULT_KEYS = ["id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk", "id_dsa"];

const MAX_LIFETIME = 2 ** 31 - 1;

/** OpenSSH's convtime(): "90", "1h30m", "2d", "1w"; -1 when malformed. */
export function convtime(text: string): number {
  if (text === "") return -1;
  const units: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  let total = 0;
  const re = /(\d+)([smhdwSMHDW]?)/y;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (m === null) return -1;
    const value = Number(m[1]) * (units[(m[2] ?? "").toLowerCase()] ?? 1);
    total += value;
    if (!Number.isSafeInteger(total) || total > MAX_LIFETIME) return -1;
    pos = re.lastIndex;
  }
  return total;
}

/** ssh-add exits 1 on a bad command line (2 would read as "no agent"). */
function usage(message: string): JumpgateError {
  return new JumpgateError("JG_USAGE", message, { exitCode: 1 });
}

export function parseAddArgs(argv: readonly string[]): AddArgs {
  let parsed: ParsedArg[];
  try {
    parsed = parseShortOptions(argv, { withValue: "tHh", flags: "lLdDxXcqQ", longFlags: [] });
  } catch (err) {
    throw isJumpgateError(err) ? usage(err.message) : err;
  }
  const out: AddArgs = {
    action: "add",
    files: [],
    confirm: false,
    quiet: false,
    destinations: [],
    hostKeyFiles: [],
  };
  const setAction = (action: Action): void => {
    if (out.action !== "add" && out.action !== action) {
      throw usage("Choose one of -l, -L, -d, -D, -x, -X, -Q. Run 'jumpgate add --help'.");
    }
    out.action = action;
  };
  for (const { name, value } of parsed) {
    switch (name) {
      case "":
        out.files.push(value);
        break;
      case "l":
        setAction("list");
        break;
      case "L":
        setAction("listPublic");
        break;
      case "d":
        setAction("delete");
        break;
      case "D":
        setAction("deleteAll");
        break;
      case "x":
        setAction("lock");
        break;
      case "X":
        setAction("unlock");
        break;
      case "Q":
        setAction("query");
        break;
      case "c":
        out.confirm = true;
        break;
      case "q":
        out.quiet = true;
        break;
      case "h":
        out.destinations.push(value);
        break;
      case "H":
        out.hostKeyFiles.push(value);
        break;
      case "t": {
        const seconds = convtime(value);
        if (seconds < 0) {
          throw usage(`Invalid lifetime: ${value} (use seconds or e.g. 1h30m, 2d).`);
        }
        // As ssh-add: -t 0 means no lifetime at all.
        if (seconds > 0) out.lifetime = seconds;
        else delete out.lifetime;
        break;
      }
      default:
        throw usage(`jumpgate add does not support -${name}. Run 'jumpgate add --help'.`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// What ssh-add -l / -L print

function readString(buf: Buffer, pos: number): { value: Buffer; next: number } | null {
  if (pos + 4 > buf.length) return null;
  const len = buf.readUInt32BE(pos);
  if (pos + 4 + len > buf.length) return null;
  return { value: buf.subarray(pos + 4, pos + 4 + len), next: pos + 4 + len };
}

function bitLength(mpint: Buffer): number {
  let i = 0;
  while (i < mpint.length && mpint[i] === 0) i++;
  if (i === mpint.length) return 0;
  return (mpint.length - i - 1) * 8 + (32 - Math.clz32(mpint[i]!));
}

/** sshkey_size() and sshkey_type() from a public key blob. */
export function describeBlob(blob: Buffer): { keyType: string; bits: number; typeName: string } {
  const first = readString(blob, 0);
  const keyType = first ? first.value.toString("latin1") : "unknown";
  const next = first?.next ?? 0;
  switch (keyType) {
    case "ssh-ed25519":
      return { keyType, bits: 256, typeName: "ED25519" };
    case "sk-ssh-ed25519@openssh.com":
      return { keyType, bits: 256, typeName: "ED25519-SK" };
    case "sk-ecdsa-sha2-nistp256@openssh.com":
      return { keyType, bits: 256, typeName: "ECDSA-SK" };
    case "ecdsa-sha2-nistp256":
    case "ecdsa-sha2-nistp384":
    case "ecdsa-sha2-nistp521":
      return { keyType, bits: Number(keyType.slice(-3)), typeName: "ECDSA" };
    case "ssh-rsa": {
      const e = readString(blob, next);
      const n = e ? readString(blob, e.next) : null;
      return { keyType, bits: n ? bitLength(n.value) : 0, typeName: "RSA" };
    }
    case "ssh-dss": {
      const p = readString(blob, next);
      return { keyType, bits: p ? bitLength(p.value) : 0, typeName: "DSA" };
    }
    default:
      return { keyType, bits: 0, typeName: keyType };
  }
}

export function fingerprintOfBlob(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** One line of `ssh-add -l`. */
export function formatFingerprint(id: Identity): string {
  const { bits, typeName } = describeBlob(id.blob);
  return `${bits} ${fingerprintOfBlob(id.blob)} ${id.comment} (${typeName})`;
}

/** One line of `ssh-add -L`. */
export function formatPublicKey(id: Identity): string {
  return `${describeBlob(id.blob).keyType} ${id.blob.toString("base64")} ${id.comment}`;
}

// ---------------------------------------------------------------------------------------------
// The run

function defaultIo(): AddIo {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
  };
}

/** Runs `jumpgate add` and returns its exit status; usage errors and "no agent" throw JumpgateErrors. */
export async function runAdd(argv: readonly string[], io: AddIo = defaultIo()): Promise<number> {
  const args = parseAddArgs(argv);
  const client = await AgentClient.connect(io.env.SSH_AUTH_SOCK);
  try {
    // As ssh-add: once the agent is reached, every -h is resolved (or fatal) before anything else.
    const home = io.home ?? homedir();
    const files = args.hostKeyFiles.length > 0 ? args.hostKeyFiles : defaultHostKeyFiles(home);
    const destinations = args.destinations.map((spec) => parseDestinationSpec(spec, files, home));
    return await perform(client, args, io, destinations);
  } finally {
    client.close();
  }
}

function defaultFiles(io: AddIo): string[] {
  const home = io.home ?? homedir();
  return DEFAULT_KEYS.map((name) => join(home, ".ssh", name)).filter((path) => existsSync(path));
}

function reason(err: unknown): string {
  if (isJumpgateError(err)) return err.message;
  throw err;
}

async function perform(
  client: AgentClient,
  args: AddArgs,
  io: AddIo,
  destinations: DestConstraint[],
): Promise<number> {
  switch (args.action) {
    case "list":
    case "listPublic": {
      let ids: Identity[];
      try {
        ids = await client.list();
      } catch (err) {
        io.stderr(`error fetching identities: ${reason(err)}\n`);
        return 1;
      }
      if (ids.length === 0) {
        io.stdout("The agent has no identities.\n");
        return 1;
      }
      const format = args.action === "list" ? formatFingerprint : formatPublicKey;
      io.stdout(ids.map((id) => `${format(id)}\n`).join(""));
      return 0;
    }
    case "deleteAll":
      try {
        await client.removeAll();
      } catch (err) {
        io.stderr(`Failed to remove all identities: ${reason(err)}\n`);
        return 1;
      }
      say(args, io, "All identities removed.");
      return 0;
    case "lock":
    case "unlock":
      return lockOrUnlock(client, args, io);
    case "delete":
      return deleteKeys(client, args, io);
    case "query": {
      // The `query` extension (OpenSSH 10's ssh-add -Q): which extensions the agent supports.
      const names = await client.query().catch((err: unknown) => {
        io.stderr(`query failed: ${reason(err)}\n`);
        return undefined;
      });
      if (names === undefined) return 1;
      if (names === null) {
        io.stderr("The agent does not support the query extension.\n");
        return 1;
      }
      io.stdout(names.map((n) => `${n}\n`).join(""));
      return 0;
    }
    case "add":
      return addKeys(client, args, io, destinations);
  }
}

/** read_passphrase() gives "" when it cannot ask; Ctrl-C still ends the run. */
async function ask(prompter: Prompter, question: string): Promise<string> {
  try {
    return await prompter.ask(question, { echo: false });
  } catch (err) {
    if (isPromptError(err) && err.reason !== "interrupted") return "";
    throw err;
  }
}

function prompterFor(io: AddIo): Prompter {
  return io.prompter ?? createPrompter({ batchMode: false, env: io.env });
}

async function lockOrUnlock(client: AgentClient, args: AddArgs, io: AddIo): Promise<number> {
  const lock = args.action === "lock";
  const prompter = prompterFor(io);
  const pass = await ask(prompter, "Enter lock password: ");
  if (lock) {
    const again = await ask(prompter, "Again: ");
    if (pass !== again) {
      io.stderr("Passwords do not match.\n");
      return 1;
    }
  }
  try {
    if (lock) await client.lock(pass);
    else await client.unlock(pass);
  } catch (err) {
    io.stderr(`Failed to ${lock ? "" : "un"}lock agent: ${reason(err)}\n`);
    return 1;
  }
  if (!args.quiet) io.stderr(`Agent ${lock ? "" : "un"}locked.\n`);
  return 0;
}

async function deleteKeys(client: AgentClient, args: AddArgs, io: AddIo): Promise<number> {
  const files = args.files.length > 0 ? args.files : defaultFiles(io);
  if (files.length === 0) return 1;
  let status = 0;
  for (const path of files) {
    const pub = await loadPublicIdentity(path);
    if (pub === null) {
      io.stderr(
        `Bad key file ${path}: ${existsSync(path) ? "invalid format" : "No such file or directory"}\n`,
      );
      status = 1;
      continue;
    }
    const blob = pub.key.getPublicSSH();
    try {
      await client.remove(blob);
    } catch (err) {
      io.stderr(`Could not remove identity "${path}": ${reason(err)}\n`);
      status = 1;
      continue;
    }
    if (!args.quiet) {
      io.stderr(`Identity removed: ${path} ${describeBlob(blob).typeName} (${pub.key.comment})\n`);
    }
  }
  return status;
}

async function addKeys(
  client: AgentClient,
  args: AddArgs,
  io: AddIo,
  destinations: DestConstraint[],
): Promise<number> {
  const files = args.files.length > 0 ? args.files : defaultFiles(io);
  if (files.length === 0) return 1;
  const prompter = prompterFor(io);
  const log = createLogger(args.quiet ? "QUIET" : "INFO", (line) => io.stderr(line));
  let status = 0;
  for (const path of files) {
    // userProvided: false keeps keys.ts from logging "no such identity"; ssh-add has its own message.
    const result = await readIdentityFile(path, { prompter, batchMode: false, log, userProvided: false });
    if (result.status === "missing") {
      io.stderr(`${path}: No such file or directory\n`);
      status = 1;
      continue;
    }
    if (result.status === "skipped") {
      io.stderr(`${result.message}\n`);
      status = 1;
      continue;
    }
    if (result.status === "refused") {
      // Permissions and format problems were logged in ssh's words already.
      if (result.error.code === "JG_KEY_PASSPHRASE") io.stderr(`${result.error.message}\n`);
      status = 1;
      continue;
    }
    const { key, comment: keyComment } = result.identity;
    const comment = keyComment === "" ? path : keyComment;
    try {
      const agentKey = agentKeyFromParsed(key);
      try {
        await client.add(agentKey, comment, {
          ...(args.lifetime !== undefined ? { lifetime: args.lifetime } : {}),
          confirm: args.confirm,
          destinations,
        });
      } finally {
        wipeAgentKey(agentKey);
      }
    } catch (err) {
      io.stderr(`Could not add identity "${path}": ${reason(err)}\n`);
      status = 1;
      continue;
    }
    say(args, io, `Identity added: ${path} (${comment})`);
    if (args.lifetime !== undefined) say(args, io, `Lifetime set to ${args.lifetime} seconds`);
    if (args.confirm) say(args, io, "The user must confirm each use of the key");
  }
  return status;
}

function say(args: AddArgs, io: AddIo, text: string): void {
  if (!args.quiet) io.stderr(`${text}\n`);
}
