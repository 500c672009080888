/**
 * `~C` and `~#` in a real terminal (tmux drives jumpgate ssh, as test/e2e/ssh-interactive.test.ts
 * does): add a local forward from the escape command line, see its live connection, cancel it.
 */
import { spawnSync } from "node:child_process";
import type { Socket } from "node:net";
import { connect } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { accepts, bin, exchange, expectedReply, freePort } from "../support/forward-lab.js";
import { type BastionLab, describeE2E, startBastionLab } from "../support/lab.js";
import { tmux, waitForScreen } from "../support/tmux.js";

describeE2E("~C and ~# in a terminal", "netns", () => {
  let lab: BastionLab;
  const session = `jg-fwd-e2e-${process.pid}`;

  beforeAll(async () => {
    if (spawnSync("tmux", ["-V"]).status !== 0) {
      throw new Error("tmux is needed for the terminal tests (Debian: apt-get install tmux)");
    }
    lab = await startBastionLab();
  });

  afterAll(async () => {
    spawnSync("tmux", ["kill-session", "-t", session]);
    await lab?.stop();
  });

  it("~C -L adds a forward, ~# lists its live connection, ~C -KL cancels it", async () => {
    const port = await freePort();
    const command = `${process.execPath} ${bin} ssh -F ${lab.configPath} -o EnableEscapeCommandline=yes mcgonagall; echo "EXIT=$?"; sleep 60`;
    tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", command);
    await waitForScreen(session, /:~[#$]\s*$/m);
    // At the start of a line already: no Enter first (its prompt redraw would race ours).
    tmux("send-keys", "-t", session, "-l", "~C");
    await waitForScreen(session, /^ssh>\s*$/m);
    tmux("send-keys", "-t", session, "-l", "--", `-L ${port}:localhost:${lab.service.port}`);
    tmux("send-keys", "-t", session, "Enter");
    await waitForScreen(session, /Forwarding port\./);

    const payload = Buffer.from("added with ~C");
    expect((await exchange({ host: "127.0.0.1", port }, payload)).toString()).toBe(
      await expectedReply(payload),
    );

    // A connection kept open (no EOF yet) shows in ~#.
    const held: Socket = connect(port, "127.0.0.1");
    await new Promise((r) => held.once("connect", r));
    held.write("pending");
    await new Promise((r) => setTimeout(r, 300));
    // The Enter that ended the command line leaves us at the start of a line.
    tmux("send-keys", "-t", session, "-l", "~#");
    const listed = await waitForScreen(
      session,
      /#\d+ -L \d+:localhost:\d+: from 127\.0\.0\.1:\d+ to localhost:\d+/,
    );
    expect(listed).toMatch(
      new RegExp(`-L ${port}:localhost:${lab.service.port}: from 127\\.0\\.0\\.1:${held.localPort} `),
    );

    tmux("send-keys", "-t", session, "-l", "~C");
    await waitForScreen(session, /ssh>\s*$/);
    tmux("send-keys", "-t", session, "-l", "--", `-KL ${port}`);
    tmux("send-keys", "-t", session, "Enter");
    await waitForScreen(session, /Canceled forwarding\./);
    expect(await accepts({ host: "127.0.0.1", port })).toBe(false);
    // As in OpenSSH, the connection already open carries on after the cancel.
    const reply = await new Promise<string>((resolve) => {
      let text = "";
      held.on("data", (c: Buffer) => {
        text += c.toString();
      });
      held.once("close", () => resolve(text));
      held.end();
    });
    expect(reply).toBe(await expectedReply(Buffer.from("pending")));

    // The shell is still there.
    tmux("send-keys", "-t", session, "echo still=$JG_LAB_HOST", "Enter");
    await waitForScreen(session, /still=mcgonagall/);
    tmux("send-keys", "-t", session, "exit", "Enter");
    await waitForScreen(session, /EXIT=0/);
  }, 60_000);
});
