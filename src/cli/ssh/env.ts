/**
 * Which environment variables a session sends: SetEnv's NAME=value pairs, then the local
 * variables whose names match a SendEnv pattern (the server's AcceptEnv decides what it keeps).
 */
import { matchPattern } from "../../util/patterns.js";

export function sessionEnvironment(
  setEnv: readonly string[],
  sendEnv: readonly string[],
  local: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of setEnv) {
    const eq = pair.indexOf("=");
    if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  for (const [name, value] of Object.entries(local)) {
    if (value === undefined || name in env) continue;
    if (sendEnv.some((pattern) => matchPattern(name, pattern))) env[name] = value;
  }
  return env;
}
