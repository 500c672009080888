/**
 * User authentication as OpenSSH's client does it (sshconnect2.c, 9.2p1), expressed as an ssh2
 * `authHandler`:
 *
 * - "none" first, to learn the server's methods; then the methods of PreferredAuthentications (by
 *   default every enabled one in ssh's order: publickey, keyboard-interactive, password), each only
 *   if the server lists it, moving on when one is exhausted and starting over when the server's list
 *   changes (authmethod_get()). gssapi-with-mic and hostbased are not supported and are skipped.
 * - publickey tries keys in pubkey_prepare()'s order: agent keys that match an IdentityFile, other
 *   agent keys (not with IdentitiesOnly), then the remaining identity files; PubkeyAcceptedAlgorithms
 *   filters them. The agent is IdentityAgent (`none` disables it) or $SSH_AUTH_SOCK.
 * - keyboard-interactive and password ask through the Prompter, NumberOfPasswordPrompts times each,
 *   never under BatchMode (ssh disables both methods there).
 *
 * Offering before decrypting: ssh sends the public key first and asks for the passphrase only when
 * the server says it would accept that key. ssh2 can do the same, but only for an agent: its
 * "publickey" method needs the decrypted key up front and signs synchronously. So every key is
 * offered through a one-key agent (OfferedKey) whose sign() runs only after the server's PK_OK and
 * may load, prompt and decrypt asynchronously. Two consequences of ssh2's agent path, which callers
 * must know:
 * - When such a key cannot be used after all (bad permissions, wrong passphrase, no passphrase),
 *   ssh2 emits an 'error' event (level "agent") and then goes on with the next method. classifyError()
 *   says "ignore" for those; the connection must not fail on them.
 * - After an agent-type request ssh2 passes neither the server's new method list nor its
 *   partial-success flag to the handler. A key that was signed and yet did not end authentication
 *   can only mean partial success (multi-factor servers, AuthenticationMethods), so the handler
 *   then sends one "none" request to learn the remaining methods. sshd counts that request against
 *   MaxAuthTries; ssh does not send it.
 * - Prompts happen while ssh2's readyTimeout runs: a connection that may prompt needs a long (or
 *   no) readyTimeout.
 */
import ssh2, {
  type AgentAuthMethod,
  type AnyAuthMethod,
  type AuthenticationType,
  type AuthHandlerMiddleware,
  type BaseAgent,
  type IdentityCallback,
  type KeyboardInteractiveAuthMethod,
  type KeyboardInteractiveCallback,
  type NextAuthHandler,
  type ParsedKey,
  type Prompt,
  type SignCallback,
  type SigningRequestOptions,
} from "ssh2";
import { type ConfigEnvironment, nodeEnvironment } from "../config/environment.js";
import type { Options } from "../config/options.js";
import { connectionTokens } from "../config/resolve.js";
import { expandTilde, expandTokens } from "../config/tokens.js";
import { type ErrorCode, JumpgateError } from "../errors.js";
import type { Logger } from "../util/log.js";
import { matchPatternList } from "../util/patterns.js";
import {
  fingerprint,
  type KeyLoadResult,
  keyTypeName,
  loadPublicIdentity,
  readIdentityFile,
  samePublicKey,
} from "./keys.js";
import { isPromptError, type Prompter } from "./prompt.js";

export type AuthMethodName = "none" | "publickey" | "keyboard-interactive" | "password";

export interface AuthHandlerParams {
  /** The destination's resolved options (fillDefaults() done; unset values get ssh's defaults). */
  options: Options;
  /** The remote user. */
  username: string;
  /** The host as ssh names it in messages (default options.hostname). */
  host?: string;
  prompter: Prompter;
  log: Logger;
  /** Overrides IdentityAgent/$SSH_AUTH_SOCK: a socket path, or null for no agent. */
  agentPath?: string | null;
  /** An agent object instead of a socket (e.g. jumpgate's own keyring); wins over agentPath. */
  agent?: BaseAgent;
  /** For `~`, `%` tokens and $SSH_AUTH_SOCK (default nodeEnvironment()). */
  env?: ConfigEnvironment;
  /** Whose key files get the permission check (default the process's uid). */
  uid?: number;
}

/** One request the handler made, in order. */
export interface AuthAttempt {
  method: AuthMethodName;
  /** For publickey: the key as ssh's debug lines name it (path or agent comment, type, fingerprint). */
  key?: string;
  /** For publickey: whether the server said it would accept the key (PK_OK). */
  accepted?: boolean;
}

/** A key that could not be used, and why, for the final message. */
export interface KeyProblem {
  path: string;
  /** JG_KEY_PERMISSIONS, JG_KEY_PASSPHRASE, JG_KEY_UNREADABLE, or null for a silent skip. */
  code: ErrorCode | null;
  message: string;
}

export type ClientErrorKind = "ignore" | "failed" | "other";

export interface AuthHandler {
  /** Pass as ssh2's ConnectConfig.authHandler. */
  readonly authHandler: AuthHandlerMiddleware;
  /** The method of the last request; after the client's 'ready' it is the one that succeeded. */
  authenticatedMethod(): AuthMethodName | null;
  attempts(): readonly AuthAttempt[];
  problems(): readonly KeyProblem[];
  /** `<user>@<host>: Permission denied (<server's methods>).` plus one line per unusable key. */
  failureMessage(): string;
  /**
   * The error for a failed authentication: JG_KEY_PASSPHRASE when a key was refused for a wrong
   * passphrase, JG_AUTH_FAILED otherwise, or the prompt's own error when the user pressed Ctrl-C.
   */
  failure(): JumpgateError;
  /**
   * What an ssh2 Client 'error' event means while authenticating: "ignore" (a key that could not be
   * used; ssh2 carries on), "failed" (no method left: throw failure()), "other" (not ours).
   */
  classifyError(err: unknown): ClientErrorKind;
}

// ---------------------------------------------------------------------------------------------
// Identities

interface Identity {
  /** Path, or the agent's comment for agent-only keys (format_identity()'s filename). */
  name: string;
  /** The private key file, if any. */
  file: string | null;
  publicKey: ParsedKey | null;
  userProvided: boolean;
  /** The agent that holds this key, when it does. */
  agent: BaseAgent | null;
  tried: boolean;
  /** Already granted partial success: sshd never accepts the same key twice in one login. */
  used?: boolean;
  /** A private key file is loaded (and prompted for) at most once per connection. */
  load?: Promise<KeyLoadResult>;
}

/** format_identity(). */
function describeIdentity(id: Identity): string {
  const key = id.publicKey;
  return (
    `${id.name} ${key ? keyTypeName(key) : ""}${key ? " " : ""}${key ? fingerprint(key) : ""}` +
    `${id.userProvided ? " explicit" : ""}${id.agent ? " agent" : ""}`
  );
}

/** key_type_allowed_by_config(): the key's name, or an RSA SHA-2 signature name, is accepted. */
function keyTypeAllowed(key: ParsedKey, accepted: string): boolean {
  if (matchPatternList(key.type, accepted) === 1) return true;
  if (key.type === "ssh-rsa") {
    return (
      matchPatternList("rsa-sha2-512", accepted) === 1 || matchPatternList("rsa-sha2-256", accepted) === 1
    );
  }
  return false;
}

type Signer = (data: Buffer, hash: SigningRequestOptions["hash"]) => Promise<Buffer>;

/**
 * A one-key agent: ssh2 queries the server with its public key and calls sign() only after the
 * server accepted it, which is when ssh loads (and decrypts) a private key.
 */
class OfferedKey extends ssh2.BaseAgent<ParsedKey> {
  /** A signature went to the server: if authentication still goes on, that was partial success. */
  signed = false;

  constructor(
    private readonly publicKey: ParsedKey,
    private readonly record: AuthAttempt,
    private readonly signer: Signer,
    private readonly onFailure: (err: unknown) => Error,
  ) {
    super();
  }

  getIdentities(cb: IdentityCallback<ParsedKey>): void {
    cb(null, [this.publicKey]);
  }

  sign(
    _pubKey: ParsedKey,
    data: Buffer,
    options: SigningRequestOptions | SignCallback,
    cb?: SignCallback,
  ): void {
    const done = typeof options === "function" ? options : cb;
    const hash = typeof options === "function" ? undefined : options?.hash;
    // ssh2 asks for a signature only after the server's PK_OK.
    this.record.accepted = true;
    this.signer(data, hash).then(
      (signature) => {
        this.signed = true;
        done?.(null, signature);
      },
      (err: unknown) => done?.(this.onFailure(err)),
    );
  }
}

function agentSign(agent: BaseAgent, key: ParsedKey): Signer {
  return (data, hash) =>
    new Promise((resolve, reject) => {
      agent.sign(key, data, { hash }, (err, signature) => {
        if (err) reject(err);
        else if (signature === undefined) reject(new Error("agent returned no signature"));
        else resolve(signature);
      });
    });
}

function localSign(key: ParsedKey, data: Buffer, hash: SigningRequestOptions["hash"]): Buffer {
  // ssh2 returns an Error object instead of throwing; its types only say Buffer.
  const signature: Buffer | Error = key.sign(data, hash);
  if (signature instanceof Error) throw signature;
  return signature;
}

/** What ssh2's AgentContext accepts from getIdentities(): anything parseKey() takes. */
function keyInput(k: unknown): string | Buffer | ParsedKey | null {
  if (typeof k === "string" || Buffer.isBuffer(k)) return k;
  if (typeof k === "object" && k !== null && "getPublicSSH" in k) return k as ParsedKey;
  return null;
}

function listIdentities(agent: BaseAgent): Promise<ParsedKey[]> {
  return new Promise((resolve, reject) => {
    agent.getIdentities((err, keys) => {
      if (err) return reject(err);
      const out: ParsedKey[] = [];
      for (const k of keys ?? []) {
        // ssh2's AgentContext parses each entry and skips what does not parse; so does this.
        const input = keyInput(k);
        const parsed = input === null ? null : ssh2.utils.parseKey(input);
        if (parsed !== null && !(parsed instanceof Error)) out.push(parsed);
      }
      resolve(out);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Options

const on = (value: number, fallback: boolean): boolean => (value === -1 ? fallback : value !== 0);

/** authmethods[] of sshconnect2.c in its order; "batch" marks methods that need a human. */
const METHODS: ReadonlyArray<{ name: string; batch: boolean }> = [
  { name: "gssapi-with-mic", batch: false },
  { name: "hostbased", batch: false },
  { name: "publickey", batch: false },
  { name: "keyboard-interactive", batch: true },
  { name: "password", batch: true },
];

function methodFlag(options: Options, name: string): boolean {
  switch (name) {
    case "gssapi-with-mic":
      return on(options.gssAuthentication, false);
    case "hostbased":
      return on(options.hostbasedAuthentication, false);
    case "publickey":
      return on(options.pubkeyAuthentication, true);
    case "keyboard-interactive":
      return on(options.kbdInteractiveAuthentication, true);
    case "password":
      return on(options.passwordAuthentication, true);
    default:
      return false;
  }
}

interface FileSpec {
  path: string;
  userProvided: boolean;
}

/** load_public_identity_files()'s expansion: `~` with the user's home, then `%` tokens and ${VAR}. */
function expandIdentityFiles(
  options: Options,
  host: string,
  username: string,
  env: ConfigEnvironment,
): FileSpec[] {
  // %r is the user being logged in as, whether or not the options carry it.
  const tokens = { ...connectionTokens(options, host, env), r: username };
  return options.identityFiles.map((file, i) => {
    const tilded = expandTilde(file, env);
    if (tilded === null) {
      throw new JumpgateError("JG_CONFIG_TOKEN", `IdentityFile ${file}: no such user for '~'.`);
    }
    const expanded = expandTokens(tilded, tokens, env.env);
    if (!expanded.ok) {
      throw new JumpgateError("JG_CONFIG_TOKEN", `IdentityFile ${file}: ${expanded.reason}.`);
    }
    return { path: expanded.value, userProvided: options.identityFileUserProvided[i] ?? true };
  });
}

/**
 * ssh.c's IdentityAgent handling: "none" means no agent, "SSH_AUTH_SOCK" (or unset) the
 * environment's socket, "$NAME" that variable, anything else a path (already token-expanded by
 * the resolver; `~` is expanded here in case it was not).
 */
function agentSocket(params: AuthHandlerParams, env: ConfigEnvironment): string | null {
  if (params.agentPath !== undefined) return params.agentPath;
  const configured = params.options.identityAgent;
  const fromEnv = (name: string): string | null => {
    const value = env.env[name];
    return value === undefined || value === "" ? null : value;
  };
  if (configured === null || configured === "SSH_AUTH_SOCK") return fromEnv("SSH_AUTH_SOCK");
  if (configured === "none") return null;
  if (configured.startsWith("$") && configured[1] !== "{") return fromEnv(configured.slice(1));
  return expandTilde(configured, env) ?? configured;
}

// ---------------------------------------------------------------------------------------------
// The handler

/**
 * Builds the authHandler for one connection. Throws JG_CONFIG_TOKEN at once for an IdentityFile
 * that cannot be expanded (ssh stops there too), so nothing is sent for a broken configuration.
 */
export function createAuthHandler(params: AuthHandlerParams): AuthHandler {
  const { options, username, prompter, log } = params;
  const env = params.env ?? nodeEnvironment();
  const host = params.host ?? options.hostname ?? options.hostArg ?? "";
  const promptHost = options.hostKeyAlias ?? host;
  const batchMode = on(options.batchMode, false);
  const identitiesOnly = on(options.identitiesOnly, false);
  const passwordPrompts = options.numberOfPasswordPrompts === -1 ? 3 : options.numberOfPasswordPrompts;
  const files = expandIdentityFiles(options, host, username, env);

  const isEnabled = (name: string): boolean => {
    const m = METHODS.find((x) => x.name === name);
    return m !== undefined && methodFlag(options, name) && !(m.batch && batchMode);
  };
  // authmethods_get(): every enabled method, in ssh's order.
  const preferred = (
    options.preferredAuthentications ??
    METHODS.map((m) => m.name)
      .filter(isEnabled)
      .join(",")
  )
    .split(",")
    .filter((n) => n !== "");

  const attempts: AuthAttempt[] = [];
  const problems: KeyProblem[] = [];
  const ownErrors = new WeakSet<object>();
  let aborted: JumpgateError | null = null;
  let lastAttempt: {
    method: AuthMethodName;
    offered?: OfferedKey;
    identity?: Identity;
    record: AuthAttempt;
  } | null = null;
  let serverMethods: string[] | null = null;

  // authmethod_get()'s state.
  let supported: string | null = null;
  let preferredRest: string[] = [];
  let current: string | null = null;
  const disabled = new Set<string>();

  let queue: Identity[] | null = null;
  let passwordAttempts = 0;
  let kbdAttempts = 0;
  let kbdInfoSeen = false;
  let promptsImpossible = false;

  const usable = (name: string): boolean => isEnabled(name) && !disabled.has(name) && supportedHere(name);
  function supportedHere(name: string): boolean {
    if (name === "gssapi-with-mic" || name === "hostbased") {
      log.debug(`${name} authentication is not supported by jumpgate; skipping it`, "DEBUG2");
      return false;
    }
    return true;
  }

  function nextMethod(list: string[]): string | null {
    const key = list.join(",");
    if (supported === null || key !== supported) {
      log.debug(`start over, passed a different list ${key}`, "DEBUG3");
      supported = key;
      preferredRest = [...preferred];
      current = null;
    } else if (current !== null && usable(current)) {
      return current;
    }
    for (;;) {
      // match_list(): the first preferred name the server also offers.
      const index = preferredRest.findIndex((name) => list.includes(name));
      if (index < 0) {
        log.debug("No more authentication methods to try.");
        current = null;
        return null;
      }
      const name = preferredRest[index] as string;
      preferredRest = preferredRest.slice(index + 1);
      if (usable(name)) {
        log.debug(`Next authentication method: ${name}`);
        current = name;
        return name;
      }
    }
  }

  function recordProblem(path: string, result: KeyLoadResult): void {
    if (result.status === "refused") {
      problems.push({ path, code: result.error.code, message: result.error.message });
    } else if (result.status === "skipped") {
      problems.push({ path, code: null, message: result.message });
    } else if (result.status === "missing") {
      // Only a file the user named is worth a line; ssh's default id_* files usually do not exist.
      const id = queue?.find((i) => i.file === path);
      if (id?.userProvided) problems.push({ path, code: null, message: result.message });
    }
  }

  function loadPrivate(id: Identity): Promise<KeyLoadResult> {
    const file = id.file as string;
    id.load ??= readIdentityFile(file, {
      prompter,
      batchMode,
      log,
      tries: passwordPrompts,
      userProvided: id.userProvided,
      ...(params.uid === undefined ? {} : { uid: params.uid }),
    }).then(
      (result) => {
        recordProblem(file, result);
        return result;
      },
      (err: unknown) => {
        // Ctrl-C at the passphrase prompt ends authentication, as it ends ssh.
        if (isPromptError(err)) aborted ??= err;
        throw err;
      },
    );
    return id.load;
  }

  function signerFor(id: Identity, publicKey: ParsedKey): Signer {
    if (id.agent !== null) return agentSign(id.agent, publicKey);
    return async (data, hash) => {
      const result = await loadPrivate(id);
      if (result.status !== "loaded") {
        throw result.status === "refused" ? result.error : new Error(result.message);
      }
      const key = result.identity.key;
      if (!samePublicKey(key, publicKey)) {
        const message = `private key ${id.file} contents do not match public`;
        log.error(`identity_sign: ${message}`);
        problems.push({
          path: id.file as string,
          code: "JG_KEY_UNREADABLE",
          message: `Key "${id.file}": ${message}.`,
        });
        throw new JumpgateError("JG_KEY_UNREADABLE", message);
      }
      return localSign(key, data, hash);
    };
  }

  function offer(id: Identity, publicKey: ParsedKey): AgentAuthMethod {
    const record: AuthAttempt = { method: "publickey", key: describeIdentity(id), accepted: false };
    const offered = new OfferedKey(publicKey, record, signerFor(id, publicKey), (err) => {
      const error = err instanceof Error ? err : new Error(String(err));
      // ssh2 emits this as a client 'error' and moves on; classifyError() tells callers to ignore it.
      ownErrors.add(error);
      return error;
    });
    lastAttempt = { method: "publickey", offered, identity: id, record };
    attempts.push(record);
    return { type: "agent", username, agent: offered };
  }

  async function prepareIdentities(): Promise<Identity[]> {
    const fileIds: Identity[] = [];
    for (const spec of files) {
      const pub = await loadPublicIdentity(spec.path);
      fileIds.push({
        name: spec.path,
        file: spec.path,
        publicKey: pub?.key ?? null,
        userProvided: spec.userProvided,
        agent: null,
        tried: false,
      });
    }
    const preferredIds: Identity[] = [];
    const agentOnly: Identity[] = [];
    const socket = params.agent === undefined ? agentSocket(params, env) : null;
    const agent = params.agent ?? (socket === null ? null : new ssh2.OpenSSHAgent(socket));
    if (agent !== null) {
      try {
        const keys = await listIdentities(agent);
        log.debug(`get_agent_identities: agent returned ${keys.length} keys`);
        for (const key of keys) {
          const index = fileIds.findIndex((f) => f.publicKey !== null && samePublicKey(f.publicKey, key));
          const match = index < 0 ? undefined : fileIds.splice(index, 1)[0];
          if (match !== undefined) {
            // Agent keys from the config file are preferred, and signed by the agent (no passphrase).
            match.agent = agent;
            preferredIds.push(match);
          } else if (!identitiesOnly) {
            agentOnly.push({
              name: key.comment,
              file: null,
              publicKey: key,
              userProvided: false,
              agent,
              tried: false,
            });
          }
        }
      } catch (err) {
        log.debug(
          `get_agent_identities: ${socket === null ? "agent" : `agent at ${socket}`}: ${(err as Error).message}`,
        );
      }
    }
    const ordered = [...preferredIds, ...agentOnly, ...fileIds];
    const accepted = options.pubkeyAcceptedAlgos;
    const kept = ordered.filter((id) => {
      if (accepted === null || id.publicKey === null || keyTypeAllowed(id.publicKey, accepted)) return true;
      log.debug(
        `Skipping ${id.publicKey.type} key ${id.name} - corresponding algo not in PubkeyAcceptedAlgorithms`,
      );
      return false;
    });
    for (const id of kept) log.debug(`Will attempt key: ${describeIdentity(id)}`);
    return kept;
  }

  /** userauth_pubkey(): the next untried key, rotating the queue as ssh does. */
  async function tryPublickey(): Promise<AnyAuthMethod | null> {
    queue ??= await prepareIdentities();
    while (queue.length > 0) {
      const id = queue[0] as Identity;
      if (id.tried) return null;
      id.tried = true;
      queue.push(queue.shift() as Identity);
      if (id.used) continue;
      if (id.publicKey !== null) {
        log.debug(`Offering public key: ${describeIdentity(id)}`);
        return offer(id, id.publicKey);
      }
      // No public half anywhere (e.g. a PEM key without .pub): ssh must decrypt before offering.
      log.debug(`Trying private key: ${id.file}`);
      const result = await loadPrivate(id);
      if (aborted) return null;
      if (result.status === "loaded") return offer(id, result.identity.key);
    }
    return null;
  }

  function promptFailed(err: unknown, what: string): void {
    if (!isPromptError(err)) throw err;
    if (err.reason === "interrupted") aborted ??= err;
    else {
      if (err.reason !== "cancelled") promptsImpossible = true;
      log.debug(`${what}: ${err.message}`);
    }
  }

  /** userauth_passwd(). */
  async function tryPassword(): Promise<AnyAuthMethod | null> {
    if (promptsImpossible || passwordAttempts++ >= passwordPrompts) return null;
    if (passwordAttempts !== 1) log.error("Permission denied, please try again.");
    let password: string;
    try {
      password = await prompter.ask(`${username}@${promptHost}'s password: `, { echo: false });
    } catch (err) {
      // ssh would send the empty string read_passphrase() returns; there is no point in that.
      promptFailed(err, "password");
      return null;
    }
    const record: AuthAttempt = { method: "password" };
    lastAttempt = { method: "password", record };
    attempts.push(record);
    return { type: "password", username, password };
  }

  async function answerKbd(name: string, instructions: string, prompts: Prompt[]): Promise<string[]> {
    kbdInfoSeen = true;
    if (name !== "") log.info(name);
    if (instructions !== "") log.info(instructions);
    const answers: string[] = [];
    for (const p of prompts) {
      // The server's prompts are committed to: every one gets an answer, "" when none was given.
      if (aborted || promptsImpossible) {
        answers.push("");
        continue;
      }
      try {
        answers.push(
          await prompter.ask(`(${username}@${promptHost}) ${p.prompt}`, { echo: p.echo ?? false }),
        );
      } catch (err) {
        promptFailed(err, "keyboard-interactive");
        answers.push("");
      }
    }
    return answers;
  }

  /** userauth_kbdint(). */
  function tryKbdInt(): AnyAuthMethod | null {
    if (promptsImpossible || kbdAttempts++ >= passwordPrompts) return null;
    if (kbdAttempts > 1 && !kbdInfoSeen) {
      log.debug("userauth_kbdint: disable: no info_req_seen", "DEBUG3");
      return null;
    }
    log.debug("userauth_kbdint", "DEBUG2");
    const record: AuthAttempt = { method: "keyboard-interactive" };
    lastAttempt = { method: "keyboard-interactive", record };
    attempts.push(record);
    const method: KeyboardInteractiveAuthMethod = {
      type: "keyboard-interactive",
      username,
      prompt: (
        name: string,
        instructions: string,
        _lang: string,
        prompts: Prompt[],
        finish: KeyboardInteractiveCallback,
      ) => {
        void answerKbd(name, instructions, prompts).then(finish, () => finish(prompts.map(() => "")));
      },
    };
    return method;
  }

  async function tryMethod(name: string): Promise<AnyAuthMethod | null> {
    switch (name) {
      case "publickey":
        return tryPublickey();
      case "keyboard-interactive":
        return tryKbdInt();
      case "password":
        return tryPassword();
      default:
        return null;
    }
  }

  async function step(
    methodsLeft: string[] | null,
    partialSuccess: boolean | null,
  ): Promise<AnyAuthMethod | false> {
    const previous = lastAttempt;
    if (previous === null && methodsLeft === null) {
      // input_userauth_service_accept(): the initial "none" request.
      const record: AuthAttempt = { method: "none" };
      lastAttempt = { method: "none", record };
      attempts.push(record);
      return { type: "none", username };
    }
    if (aborted) return false;
    if (previous?.offered?.signed && previous.identity) {
      // The server took a valid signature and still wants more: partial success (AuthenticationMethods
      // on the server). ssh2 passes neither that flag nor the new method list after an agent-type
      // request, so ask with one "none" request, whose failure carries the list.
      log.verbose(`Authenticated using "publickey" with partial success.`);
      previous.identity.used = true;
      for (const id of queue ?? []) id.tried = false;
      const record: AuthAttempt = { method: "none" };
      lastAttempt = { method: "none", record };
      attempts.push(record);
      return { type: "none", username };
    }
    // ssh2 hands over a fresh list and partial flag only after non-agent requests.
    if (methodsLeft !== null && previous?.offered === undefined) {
      if (partialSuccess && previous !== null) {
        log.verbose(`Authenticated using "${previous.method}" with partial success.`);
        for (const id of queue ?? []) id.tried = false;
      }
      serverMethods = [...methodsLeft];
      log.debug(`Authentications that can continue: ${serverMethods.join(",")}`);
    }
    const list = serverMethods ?? preferred;
    for (;;) {
      const name = nextMethod(list);
      if (name === null) return false;
      const request = await tryMethod(name);
      if (aborted) return false;
      if (request !== null) {
        log.debug(`we sent a ${name} packet, wait for reply`, "DEBUG2");
        return request;
      }
      log.debug("we did not send a packet, disable method", "DEBUG2");
      disabled.add(name);
    }
  }

  // ssh2 calls this with nulls first; its type says arrays. `next(false)` ends authentication, which
  // ssh2's README documents but @types/ssh2's NextAuthHandler omits.
  const authHandler = (
    methodsLeft: AuthenticationType[] | null,
    partialSuccess: boolean | null,
    next: NextAuthHandler,
  ): void => {
    const finish = next as (auth: AnyAuthMethod | false) => void;
    step(methodsLeft, partialSuccess).then(finish, (err: unknown) => {
      aborted ??=
        err instanceof JumpgateError
          ? err
          : new JumpgateError(
              "JG_INTERNAL",
              `authentication failed unexpectedly: ${(err as Error).message}`,
              {
                cause: err,
              },
            );
      finish(false);
    });
  };

  function failureMessage(): string {
    const head = `${username}@${host}: Permission denied (${(serverMethods ?? []).join(",")}).`;
    return [head, ...problems.map((p) => p.message)].join("\n");
  }

  return {
    authHandler,
    authenticatedMethod: () => lastAttempt?.method ?? null,
    attempts: () => attempts,
    problems: () => problems,
    failureMessage,
    failure() {
      if (aborted) return aborted;
      const code: ErrorCode = problems.some((p) => p.code === "JG_KEY_PASSPHRASE")
        ? "JG_KEY_PASSPHRASE"
        : "JG_AUTH_FAILED";
      return new JumpgateError(code, failureMessage());
    },
    classifyError(err) {
      if (typeof err !== "object" || err === null) return "other";
      if (ownErrors.has(err)) return "ignore";
      const level = (err as { level?: unknown }).level;
      if (level === "client-authentication") return "failed";
      // ssh2 reports agent trouble (e.g. an agent that refuses to sign) and then tries the next key.
      if (level === "agent") return "ignore";
      return "other";
    },
  };
}
