/**
 * One vocabulary of user-visible failures.
 *
 * Every expected failure is a JumpgateError with a stable `code` (scripts may match on it), a
 * message that tells the user what to do, and an exit code. The CLI prints `jumpgate: CODE: message`
 * and exits with `exitCode`; it never prints a stack trace for these.
 */

/** Exit codes. 255 mirrors OpenSSH's "ssh failed" status so wrappers that test for it keep working. */
export const EXIT = {
  ok: 0,
  /** Bad command line (commander's own usage errors use this too). */
  usage: 2,
  /** Anything ssh itself would report with 255: config, connection, authentication, host keys. */
  ssh: 255,
} as const;

/** The stable codes. Adding one is fine; renaming one breaks users' scripts. */
export const ERROR_CODES = {
  JG_USAGE: EXIT.usage,
  JG_CONFIG_SYNTAX: EXIT.ssh,
  JG_CONFIG_UNKNOWN_KEYWORD: EXIT.ssh,
  JG_CONFIG_BAD_VALUE: EXIT.ssh,
  JG_CONFIG_INCLUDE: EXIT.ssh,
  JG_CONFIG_MATCH: EXIT.ssh,
  JG_CONFIG_FILE: EXIT.ssh,
  JG_CONFIG_TOKEN: EXIT.ssh,
  JG_FORWARD_SPEC: EXIT.ssh,
  JG_DESTINATION: EXIT.ssh,
  JG_JUMP_LOOP: EXIT.ssh,
  // Connecting (connection/dial.ts, manager.ts)
  JG_CONNECT_TIMEOUT: EXIT.ssh,
  JG_CONNECT_REFUSED: EXIT.ssh,
  JG_HOP_UNREACHABLE: EXIT.ssh,
  JG_PROXYCOMMAND: EXIT.ssh,
  JG_ALGORITHM_UNSUPPORTED: EXIT.ssh,
  JG_CONNECTION_LOST: EXIT.ssh,
  JG_CHANNEL_OPEN: EXIT.ssh,
  // Host keys (connection/knownhosts.ts, hostkey.ts)
  JG_HOSTKEY_MISMATCH: EXIT.ssh,
  JG_HOSTKEY_UNKNOWN: EXIT.ssh,
  JG_HOSTKEY_REVOKED: EXIT.ssh,
  JG_HOSTKEY_REFUSED: EXIT.ssh,
  // Authentication (connection/auth.ts, prompt.ts)
  JG_KEY_PERMISSIONS: EXIT.ssh,
  JG_KEY_PASSPHRASE: EXIT.ssh,
  JG_KEY_UNREADABLE: EXIT.ssh,
  JG_AUTH_FAILED: EXIT.ssh,
  JG_PROMPT_UNAVAILABLE: EXIT.ssh,
  // The demo (`jumpgate demo --check`)
  JG_DEMO_CHECK_FAILED: 1,
  JG_INTERNAL: 1,
  // The agent (agent/protocol.ts, keyring.ts, server.ts)
  JG_AGENT_PROTOCOL: 1,
  JG_AGENT_FRAME_TOO_LARGE: 1,
  JG_AGENT_UNSUPPORTED_KEY: 1,
  JG_AGENT_KEY_NOT_FOUND: 1,
  JG_AGENT_LOCKED: 1,
  JG_AGENT_CONFIRM_REFUSED: 1,
  JG_AGENT_SOCKET: 1,
  // Destination constraints (agent/protocol.ts, destination.ts; `jumpgate add -h`: 255 as ssh-add)
  JG_AGENT_CONSTRAINT: 1,
  JG_AGENT_DESTINATION: 255,
  // Talking to an agent (agent/client.ts, `jumpgate add`); 2 as ssh-add when there is no agent.
  JG_AGENT_UNAVAILABLE: 2,
  JG_AGENT_REFUSED: 1,
  // Port forwarding (forward/*, connection/session.ts forwardIn, `jumpgate forward`, `ssh -L/-R/-D`)
  JG_FORWARD_BIND: EXIT.ssh,
  JG_FORWARD_REMOTE: EXIT.ssh,
  JG_FORWARD_SOCKS: EXIT.ssh,
  JG_FORWARD_DENIED: EXIT.ssh,
  // The gate (gate/*, `jumpgate gate`, `jumpgate status`)
  JG_GATE_DIR_UNSAFE: 1,
  JG_GATE_NOT_RUNNING: 1,
  JG_GATE_START: 1,
  JG_GATE_VERSION: 1,
  JG_GATE_PROTOCOL: 1,
  /** The gate's answer when a session must run on the CLI's own connection (never shown). */
  JG_GATE_DIRECT: 1,
  JG_GATE_LOST: EXIT.ssh,
  JG_TUNNEL_NOT_FOUND: 1,
  // scp-like copies over SFTP (transfer/copy.ts, remotepath.ts, glob.ts, sftp.ts; `jumpgate cp`); 1 as scp
  JG_CP_PATH: EXIT.usage,
  JG_CP_NOT_FOUND: 1,
  JG_CP_IS_DIRECTORY: 1,
  JG_CP_NOT_DIRECTORY: 1,
  JG_CP_NOT_REGULAR: 1,
  JG_CP_UNSAFE_NAME: 1,
  JG_CP_GLOB: 1,
  JG_CP_PERMISSION: 1,
  JG_CP_NO_SPACE: 1,
  JG_CP_IO: 1,
  JG_CP_FAILED: 1,
  JG_CP_INTERRUPTED: 130,
  // tar over SSH (transfer/tar.ts, pack.ts, extract.ts, remote-tar.ts; `jumpgate push`, `jumpgate pull`)
  JG_TAR_SOURCE: 1,
  JG_TAR_NO_REMOTE_TAR: 1,
  JG_TAR_REMOTE_FAILED: 1,
  JG_TAR_NO_SPACE: 1,
  JG_TAR_PERMISSION: 1,
  JG_TAR_UNSAFE_ENTRY: 1,
  JG_TAR_LIMIT: 1,
  JG_TAR_BAD_ARCHIVE: 1,
  JG_TAR_COMPRESS: 1,
  JG_TAR_INCOMPLETE: 1,
  JG_TAR_INTERRUPTED: 130,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface JumpgateErrorOptions {
  cause?: unknown;
  /** Overrides the exit code the code normally maps to. */
  exitCode?: number;
}

export class JumpgateError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string, options: JumpgateErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "JumpgateError";
    this.code = code;
    this.exitCode = options.exitCode ?? ERROR_CODES[code];
  }
}

/** Where in a config file something went wrong; OpenSSH says `file line N`. */
export interface ConfigLocation {
  file: string;
  line: number;
}

/** A config problem always names the file and line, like OpenSSH's "file line N: ..." messages. */
export class ConfigError extends JumpgateError {
  readonly location: ConfigLocation | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    location?: ConfigLocation,
    options: JumpgateErrorOptions = {},
  ) {
    super(code, location ? `${location.file} line ${location.line}: ${message}` : message, options);
    this.name = "ConfigError";
    this.location = location;
  }
}

export function isJumpgateError(value: unknown): value is JumpgateError {
  return value instanceof JumpgateError;
}
