/**
 * An in-memory ConfigEnvironment for unit tests: files are a map of absolute path -> text (or
 * text plus owner and mode), directories are implied by the paths, `Match exec` runs a scripted
 * function instead of a shell, and every command it was asked to run is recorded.
 */
import type { ConfigEnvironment, ConfigFileRead } from "../../../src/config/environment.js";

export interface FakeFile {
  text: string;
  /** Default 1000 (the fake user). */
  uid?: number;
  /** Default 1000, the fake user's private group. */
  gid?: number;
  /** Default 0o100644. */
  mode?: number;
}

export interface FakeEnvOptions {
  files?: Record<string, string | FakeFile>;
  env?: Record<string, string>;
  /** Exit status for a `Match exec` command; default: 0 for commands starting with "true", else 1. */
  shell?: (cmd: string) => number;
  homes?: Record<string, string>;
  /** Groups whose only member is the given uid (Debian's private groups); default { 1000: 1000, 0: 0 }. */
  privateGroups?: Record<number, number>;
  /** Extra paths that exist (sockets and the like) besides the files. */
  paths?: string[];
}

export interface FakeEnv extends ConfigEnvironment {
  /** Commands `Match exec` ran, in order. */
  readonly shellCalls: string[];
  /** Paths readConfigFile was asked for (existing or not), in order. */
  readonly reads: string[];
}

export const HOME = "/home/u";
export const USER_CONFIG = `${HOME}/.ssh/config`;

export function fakeEnv(options: FakeEnvOptions = {}): FakeEnv {
  const files = new Map<string, FakeFile>();
  for (const [path, value] of Object.entries(options.files ?? {})) {
    files.set(path, typeof value === "string" ? { text: value } : value);
  }
  const homes: Record<string, string> = { u: HOME, root: "/root", alice: "/home/alice", ...options.homes };
  const privateGroups: Record<number, number> = options.privateGroups ?? { 1000: 1000, 0: 0 };
  const paths = new Set(options.paths ?? []);
  const shellCalls: string[] = [];
  const reads: string[] = [];
  const shell = options.shell ?? ((cmd: string) => (cmd.startsWith("true") ? 0 : 1));
  const isDirectory = (path: string): boolean => {
    const prefix = path.endsWith("/") ? path : `${path}/`;
    for (const file of files.keys()) if (file.startsWith(prefix)) return true;
    return false;
  };
  return {
    ownHome: HOME,
    userName: "u",
    uid: 1000,
    localHostname: "box.example",
    env: { ...options.env },
    homeOf: (user) => homes[user] ?? null,
    shellCalls,
    reads,
    readConfigFile(path): ConfigFileRead | null {
      reads.push(path);
      const file = files.get(path);
      if (file !== undefined) {
        return { text: file.text, uid: file.uid ?? 1000, gid: file.gid ?? 1000, mode: file.mode ?? 0o100644 };
      }
      if (isDirectory(path)) return { text: "", uid: 1000, gid: 1000, mode: 0o40755 };
      return null;
    },
    listDirectory(path) {
      const prefix = path.endsWith("/") ? path : `${path}/`;
      const names = new Set<string>();
      for (const file of files.keys()) {
        if (!file.startsWith(prefix)) continue;
        const name = file.slice(prefix.length).split("/")[0];
        if (name) names.add(name);
      }
      return [...names];
    },
    isDirectory,
    groupIsPrivateTo: (gid, uid) => privateGroups[gid] === uid,
    pathExists: (path) => files.has(path) || isDirectory(path) || paths.has(path),
    runShell(cmd) {
      shellCalls.push(cmd);
      return shell(cmd);
    },
  };
}
