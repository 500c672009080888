/**
 * Everything the resolver needs from the machine, behind one interface so that the resolver stays
 * pure and tests can run it against a made-up world. nodeEnvironment() is the real one.
 *
 * OpenSSH takes the home directory and user name from the password database, never from $HOME;
 * os.userInfo() does the same, so `~` means what it means to `ssh`.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { hostname, userInfo } from "node:os";
import type { HomeLookup } from "./tokens.js";

export interface ConfigFileRead {
  text: string;
  /** Owner uid and permission bits, for OpenSSH's "Bad owner or permissions" check. */
  uid: number;
  mode: number;
}

export interface ConfigEnvironment extends HomeLookup {
  userName: string;
  uid: number;
  /** gethostname(): the full local host name (%l); %L is the part before the first dot. */
  localHostname: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Reads a config file; null when it does not exist (or is a directory, which OpenSSH reads as empty). */
  readConfigFile(path: string): ConfigFileRead | null;
  /** Lists a directory's entry names; empty when it cannot be read. */
  listDirectory(path: string): string[];
  isDirectory(path: string): boolean;
  /** Runs `cmd` with the user's shell (`Match exec`); returns the exit status, or -1 if it did not exit normally. */
  runShell(cmd: string): number;
}

export function nodeEnvironment(
  env: Readonly<Record<string, string | undefined>> = process.env,
): ConfigEnvironment {
  const me = userInfo();
  return {
    ownHome: me.homedir,
    userName: me.username,
    uid: me.uid,
    localHostname: hostname(),
    env,
    homeOf: (user) => lookupHome(user),
    readConfigFile(path) {
      try {
        const st = statSync(path);
        if (st.isDirectory()) return { text: "", uid: st.uid, mode: st.mode };
        return { text: readFileSync(path, "latin1"), uid: st.uid, mode: st.mode };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
        throw error;
      }
    },
    listDirectory(path) {
      try {
        return readdirSync(path);
      } catch {
        return [];
      }
    },
    isDirectory(path) {
      try {
        return statSync(path).isDirectory();
      } catch {
        return false;
      }
    },
    runShell(cmd) {
      const shell = env.SHELL ?? "/bin/sh";
      // OpenSSH gives the command /dev/null for stdin and stdout and lets stderr through.
      const result = spawnSync(shell, ["-c", cmd], {
        stdio: ["ignore", "ignore", "inherit"],
        env: { ...env },
      });
      if (result.error || result.status === null) return -1;
      return result.status;
    },
  };
}

/** getpwnam() by reading /etc/passwd: enough for `~user` in config paths. */
function lookupHome(user: string): string | null {
  try {
    for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
      const fields = line.split(":");
      if (fields[0] === user && fields[5] !== undefined) return fields[5];
    }
  } catch {
    // No passwd file: the user is unknown.
  }
  return null;
}
