/**
 * `jumpgate demo` (what `npm start` runs) on a real terminal: tmux runs it, and the dashboard opens
 * on the demo's own gate with its live tunnel through jaguar to mcgonagall's service; the demo's
 * traffic makes the counters move; q closes the dashboard, stops the lab (its dir deleted) and gives
 * the terminal back. The demo brings its own lab: no sshd needed.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tmux, waitForScreen } from "../support/tmux.js";

const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const bin = join(repo, "bin/jumpgate.js");
/** The demo starts a lab and a gate first: it may take longer to draw than the lab tests. */
const DEMO_SCREEN_MS = 30_000;

/** The TOTAL of the tunnel's CONNS column (active/total), from its row. */
function totalConnections(screen: string): number | null {
  const m = /-L \d+:127\.0\.0\.1:\d+\s+listening\s+\d+\/(\d+)\s/.exec(screen);
  return m ? Number(m[1]) : null;
}

describe("jumpgate demo on a terminal opens the dashboard", () => {
  const session = `jg-dash-demo-${process.pid}`;

  beforeAll(() => {
    if (spawnSync("tmux", ["-V"]).status !== 0) {
      throw new Error("tmux is needed for the terminal tests (Debian: apt-get install tmux)");
    }
  });

  afterAll(() => {
    spawnSync("tmux", ["kill-session", "-t", session]);
  });

  it("shows the gate's live tunnel to mcgonagall's service, and q stops the lab", async () => {
    const command = [
      `cd ${repo}`,
      `LANG=C.UTF-8 ${process.execPath} ${bin} demo`,
      'echo "EXIT=$?"',
      "stty -a | tr ' ' '\\n' | grep -x -e echo -e -echo -e icanon -e -icanon | tr '\\n' ' '",
      "echo",
      "sleep 120",
    ].join("; ");
    tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", command);
    let screen = await waitForScreen(session, /gate live · 2 connections · 1 tunnel/, DEMO_SCREEN_MS);
    expect(screen).toMatch(/you -> jaguar\s+ready/);
    expect(screen).toMatch(/you -> jaguar -> mcgonagall\s+ready/);
    expect(screen).toMatch(/^demo: 127\.0\.0\.1:\d+ leads to mcgonagall's service · q stops the lab\s*$/m);
    // The demo's traffic goes through the tunnel every second: its total keeps growing.
    const first = totalConnections(screen);
    expect(first).not.toBeNull();
    screen = await waitForScreen(
      session,
      (s) => (totalConnections(s) ?? 0) >= (first ?? 0) + 2,
      DEMO_SCREEN_MS,
    );
    expect(screen).toMatch(/listening\s+\d+\/\d+\s+\d[\d.]*[BKM]\s+\d[\d.]*[BKM]/);

    tmux("send-keys", "-t", session, "q");
    screen = await waitForScreen(session, /EXIT=\d+[\s\S]*(echo|-echo)/, DEMO_SCREEN_MS);
    expect(screen).toMatch(/EXIT=0/);
    const dir = /Lab stopped; (\S+) and the keys in it are deleted\./.exec(screen)?.[1];
    expect(dir).toBeDefined();
    expect(existsSync(dir as string)).toBe(false);
    const modes = (/EXIT=0\s*\n(.*)/.exec(screen)?.[1] ?? "").trim().split(/\s+/);
    expect(modes.sort()).toEqual(["echo", "icanon"]);
  }, 60_000);
});
