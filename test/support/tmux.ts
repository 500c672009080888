/**
 * Driving a real terminal for the interactive e2e tests: tmux runs the program under test in a
 * detached session, and capture-pane reads back what it drew.
 */
import { spawnSync } from "node:child_process";

/** Runs one tmux command; its stdout, or an error naming the command and tmux's complaint. */
export function tmux(...args: string[]): string {
  const r = spawnSync("tmux", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`tmux ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** Polls the session's screen until `test` holds; the screen then, or an error showing the last one. */
export async function waitForScreen(
  session: string,
  test: RegExp | ((screen: string) => boolean),
  timeoutMs = 20_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let screen = "";
  while (Date.now() < deadline) {
    screen = tmux("capture-pane", "-p", "-t", session);
    if (typeof test === "function" ? test(screen) : test.test(screen)) return screen;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${String(test)} on the screen:\n${screen}`);
}
