/**
 * Everything the resolver needs from the machine, behind one interface so that the resolver stays
 * pure and tests can run it against a made-up world. nodeEnvironment() is the real one.
 *
 * OpenSSH takes the home directory and user name from the password database, never from $HOME;
 * os.userInfo() does the same, so `~` means what it means to `ssh`.
 */

import { isUtf8 } from "node:buffer";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { hostname, userInfo } from "node:os";
import type { HomeLookup } from "./tokens.js";

export interface ConfigFileRead {
  text: string;
  /** Owner, group and permission bits, for OpenSSH's "Bad owner or permissions" check. */
  uid: number;
  gid: number;
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
  /**
   * Debian's user-group-modes rule: a group-writable file is still safe when its group is the
   * owner's private group (exactly one member, the owner).
   */
  groupIsPrivateTo(gid: number, uid: number): boolean;
  /** Whether a path exists (ForwardAgent socket paths are checked, as ssh does). */
  pathExists(path: string): boolean;
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
        if (st.isDirectory()) return { text: "", uid: st.uid, gid: st.gid, mode: st.mode };
        return { text: decodeConfigText(readFileSync(path)), uid: st.uid, gid: st.gid, mode: st.mode };
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
    groupIsPrivateTo: (gid, uid) => privateGroup(gid, uid),
    pathExists(path) {
      try {
        statSync(path);
        return true;
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

/**
 * OpenSSH compares bytes. Command-line arguments reach Node as UTF-8, so a UTF-8 file is decoded as
 * UTF-8 to compare like for like; anything else is kept byte for byte as latin1.
 */
function decodeConfigText(bytes: Buffer): string {
  return isUtf8(bytes) ? bytes.toString("utf8") : bytes.toString("latin1");
}

function readDatabase(path: string): string[][] {
  try {
    return readFileSync(path, "utf8")
      .split("\n")
      .filter((line) => line !== "" && !line.startsWith("#"))
      .map((line) => line.split(":"));
  } catch {
    return [];
  }
}

/** getpwnam() by reading /etc/passwd: enough for `~user` in config paths. */
function lookupHome(user: string): string | null {
  const entry = readDatabase("/etc/passwd").find((fields) => fields[0] === user);
  return entry?.[5] ?? null;
}

/**
 * Debian's secure_permissions(): the group has exactly one member, the file's owner, counting
 * both users whose primary group it is and the group's listed members.
 */
function privateGroup(gid: number, uid: number): boolean {
  const group = readDatabase("/etc/group").find((fields) => Number(fields[2]) === gid);
  if (group === undefined) return false;
  let members = 0;
  for (const user of readDatabase("/etc/passwd")) {
    if (Number(user[3]) === gid) {
      members++;
      if (Number(user[2]) !== uid) return false;
    }
  }
  const owner = readDatabase("/etc/passwd").find((fields) => Number(fields[2]) === uid);
  if (owner === undefined) return false;
  const listed = (group[3] ?? "").split(",").filter((name) => name !== "");
  if (listed.length > 0) {
    members++;
    if (listed[0] !== owner[0] || listed.length > 1) return false;
  }
  return members > 0;
}
