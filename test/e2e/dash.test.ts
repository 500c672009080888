/**
 * `jumpgate dash` in a real terminal against the real lab: a gate, a tunnel added from the
 * dashboard's own form through jaguar to mcgonagall's 127.0.0.1:12345 service, its byte counter
 * growing on the screen when traffic passes, `d` dropping it, `q` giving the terminal back.
 * tmux runs the dashboard, send-keys types, capture-pane reads the screen (as in
 * ssh-interactive.test.ts). Plus the plain-text mode and the no-gate error.
 */
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { formatBytes } from "../../src/dashboard/format.js";
import { type BastionLab, describeE2E, requireNetns, startBastionLab } from "../support/lab.js";
import { tmux, waitForScreen } from "../support/tmux.js";

const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const bin = join(repo, "bin/jumpgate.js");

function jumpgate(runtime: string, args: string[], timeout = 60_000) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    env: { ...process.env, XDG_RUNTIME_DIR: runtime, JUMPGATE_NO_GATE: "" },
    encoding: "utf8",
    timeout,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A loopback port nobody listens on right now (for the tunnel's local end). */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** Sends `payload` through the tunnel, half-closes, and returns the service's answer. */
function exchange(port: number, payload: Buffer): Promise<string> {
  return new Promise((resolveReply, reject) => {
    const socket = connect({ host: "127.0.0.1", port, allowHalfOpen: true });
    let reply = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      reply += chunk;
    });
    socket.on("end", () => resolveReply(reply));
    socket.on("error", reject);
    socket.on("connect", () => socket.end(payload));
  });
}

/** The tunnel's row on the screen, e.g. `> 1  -L 40123:127.0.0.1:12345  listening  0/1  ...`. */
function tunnelRow(screen: string, spec: string): string | undefined {
  return screen.split("\n").find((line) => line.includes(spec) && /listening|reconnecting|failed/.test(line));
}

/** The IN and OUT byte counts of that row (the columns after CONNS). */
function rowBytes(row: string | undefined): [string, string] | null {
  const m = row === undefined ? null : /\s(\d+\/\d+)\s+(\S+)\s+(\S+)\s+\S+\/s/.exec(row);
  return m ? [m[2]!, m[3]!] : null;
}

describeE2E("jumpgate dash in a terminal, on the lab", "netns", () => {
  let lab: BastionLab;
  let runtime: string;
  let agentPid: string | undefined;
  const session = `jg-dash-${process.pid}`;

  beforeAll(async () => {
    if (spawnSync("tmux", ["-V"]).status !== 0) {
      throw new Error("tmux is needed for the terminal tests (Debian: apt-get install tmux)");
    }
    lab = await startBastionLab();
    runtime = mkdtempSync(join(tmpdir(), "jg-dash-rt-"));
    chmodSync(runtime, 0o700);
    const started = jumpgate(runtime, ["gate", "start"]);
    expect(started.stderr).toBe("");
    expect(started.code).toBe(0);
  }, 60_000);

  afterAll(async () => {
    spawnSync("tmux", ["kill-session", "-t", session]);
    if (agentPid) spawnSync("kill", [agentPid]);
    if (runtime) {
      jumpgate(runtime, ["gate", "stop"], 20_000);
      rmSync(runtime, { recursive: true, force: true });
    }
    await lab?.stop();
  });

  it("adds a tunnel from the form, counts its bytes live, drops it with d, and q restores the terminal", async () => {
    const port = await freePort();
    const spec = `-L ${port}:127.0.0.1:${lab.service.port}`;
    // jumpgate's agent holding the lab's key (added by OpenSSH's ssh-add), for the agent panel.
    const agentSocket = join(runtime, "agent.sock");
    const agent = spawnSync(process.execPath, [bin, "agent", "-a", agentSocket, "-s"], { encoding: "utf8" });
    expect(agent.status).toBe(0);
    agentPid = /SSH_AGENT_PID=(\d+)/.exec(agent.stdout)?.[1];
    const agentEnv = { ...process.env, SSH_AUTH_SOCK: agentSocket };
    expect(spawnSync("ssh-add", ["-q", lab.identityPath], { env: agentEnv }).status).toBe(0);
    const fingerprint = spawnSync("ssh-keygen", ["-lf", lab.identityPath], { encoding: "utf8" }).stdout.split(
      " ",
    )[1];
    expect(fingerprint).toMatch(/^SHA256:/);
    const command = [
      `SSH_AUTH_SOCK=${agentSocket} SSH_AGENT_PID=${agentPid} XDG_RUNTIME_DIR=${runtime} LANG=C.UTF-8 ${process.execPath} ${bin} dash -F ${lab.configPath}`,
      'echo "EXIT=$?"',
      "stty -a | tr ' ' '\\n' | grep -x -e echo -e -echo -e icanon -e -icanon | tr '\\n' ' '",
      "echo",
      "sleep 120",
    ].join("; ");
    tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", command);
    await waitForScreen(session, /gate live · 0 connections · 0 tunnels/);
    // jumpgate's agent, named, and its key as ssh-add -l shows it.
    await waitForScreen(
      session,
      new RegExp(
        `Agent keys \\(1, jumpgate agent\\)[\\s\\S]*ED25519 256 +${fingerprint!.replace(/[+/]/g, "\\$&")}`,
      ),
    );

    // A bad spec first: the form says why, and keeps what was typed.
    tmux("send-keys", "-t", session, "a");
    await waitForScreen(session, /Add a tunnel/);
    tmux("send-keys", "-t", session, "-l", "mcgonagall");
    tmux("send-keys", "-t", session, "Enter");
    tmux("send-keys", "-t", session, "-l", "--", "-L 0:127.0.0.1:12345");
    tmux("send-keys", "-t", session, "Enter");
    await waitForScreen(session, /! Bad local forwarding specification '0:127\.0\.0\.1:12345'/);

    // The real one.
    tmux("send-keys", "-t", session, "C-u");
    tmux("send-keys", "-t", session, "-l", "--", spec);
    tmux("send-keys", "-t", session, "Enter");
    let screen = await waitForScreen(session, (s) => tunnelRow(s, spec)?.includes("listening") === true);
    expect(screen).not.toMatch(/Add a tunnel/);
    expect(rowBytes(tunnelRow(screen, spec))).toEqual(["0B", "0B"]);

    // Traffic through the tunnel reaches mcgonagall's service and comes back...
    const payload = Buffer.alloc(300_000, 7);
    const reply = await exchange(port, payload);
    expect(reply).toMatch(/^got 300000 bytes sha256 [0-9a-f]{64}\n$/);
    // ...and the dashboard's counters grow: 300000 bytes out (towards mcgonagall), the reply in.
    const replyBytes = Buffer.byteLength(reply);
    // (The connection's close may be counted a moment after its last bytes.)
    screen = await waitForScreen(session, (s) => {
      const r = tunnelRow(s, spec);
      return rowBytes(r)?.[1] === "293K" && /\s0\/1\s/.test(r ?? "");
    });
    const row = tunnelRow(screen, spec)!;
    expect(rowBytes(row)?.[0]).toBe(formatBytes(replyBytes));
    // The gate's connection through jaguar (opened for the tunnel), as the user thinks of it.
    screen = await waitForScreen(session, /you -> jaguar -> mcgonagall\s+ready/);

    // Wider: the destination column appears; back to 80x24: it goes, the row still fits.
    tmux("resize-window", "-t", session, "-x", "120", "-y", "30");
    screen = await waitForScreen(session, /FORWARD\s+DESTINATION\s+STATE/);
    expect(tunnelRow(screen, spec)).toMatch(/\smcgonagall\s+listening\s/);
    tmux("resize-window", "-t", session, "-x", "80", "-y", "24");
    screen = await waitForScreen(
      session,
      (s) => !s.includes("DESTINATION") && tunnelRow(s, spec) !== undefined,
    );
    for (const line of screen.split("\n")) expect(line.length).toBeLessThanOrEqual(80);

    // r: the gate reattaches the tunnel, which keeps serving on the same port.
    tmux("send-keys", "-t", session, "r");
    await waitForScreen(session, /tunnel \S+ reconnecting/);
    const again = await exchange(port, Buffer.from("again\n"));
    expect(again).toMatch(/^got 6 bytes sha256 /);

    // Details of the selected tunnel: exact byte counts (the first exchange, then "again\n").
    const inBytes = replyBytes + Buffer.byteLength(again);
    await waitForScreen(session, (s) => rowBytes(tunnelRow(s, spec))?.[0] === formatBytes(inBytes));
    tmux("send-keys", "-t", session, "Enter");
    screen = await waitForScreen(session, /Tunnel \S+ ─/);
    expect(screen).toContain(`${formatBytes(inBytes)} in, 293K out (${inBytes} / 300006)`);
    tmux("send-keys", "-t", session, "Escape");
    await waitForScreen(session, (s) => !/Tunnel \S+ ─/.test(s));

    // d asks, n keeps; d then y drops.
    tmux("send-keys", "-t", session, "d");
    await waitForScreen(session, new RegExp(`Drop tunnel \\S+ \\(${spec}\\)\\?`));
    tmux("send-keys", "-t", session, "n");
    await waitForScreen(session, /nothing dropped/);
    expect(tunnelRow(tmux("capture-pane", "-p", "-t", session), spec)).toBeDefined();
    tmux("send-keys", "-t", session, "d");
    await waitForScreen(session, /Drop tunnel/);
    tmux("send-keys", "-t", session, "y");
    await waitForScreen(session, /no tunnels - press a to add one/);
    // Gone for real: the gate closed its listener.
    await expect(exchange(port, Buffer.from("x"))).rejects.toThrow(/ECONNREFUSED/);

    // q: the shell gets a sane terminal back (echo and canonical mode on).
    tmux("send-keys", "-t", session, "q");
    screen = await waitForScreen(session, /EXIT=\d+[\s\S]*(echo|-echo)/);
    expect(screen).toMatch(/EXIT=0/);
    const modes = (/EXIT=0\s*\n(.*)/.exec(screen)?.[1] ?? "").trim().split(/\s+/);
    expect(modes.sort()).toEqual(["echo", "icanon"]);
  }, 90_000);

  it("shows a hop's loss on the tunnel's row (last error) while the tunnel comes back and serves", async () => {
    if (!requireNetns(lab, "killing only this lab's jaguar sshd processes")) return;
    const port = await freePort();
    const spec = `-L ${port}:127.0.0.1:${lab.service.port}`;
    const added = jumpgate(runtime, [
      "tunnels",
      "add",
      "-F",
      lab.configPath,
      "mcgonagall",
      "-L",
      `${port}:127.0.0.1:12345`,
    ]);
    expect(added.code).toBe(0);
    expect(await exchange(port, Buffer.from("one\n"))).toMatch(/^got 4 bytes/);
    const faultSession = `${session}-fault`;
    const command = `XDG_RUNTIME_DIR=${runtime} LANG=C.UTF-8 ${process.execPath} ${bin} dash; sleep 60`;
    tmux("new-session", "-d", "-s", faultSession, "-x", "80", "-y", "24", command);
    try {
      await waitForScreen(faultSession, (s) => tunnelRow(s, spec)?.includes("listening") === true);
      // jaguar's sshd processes for our connection, in this lab's jaguar namespace only.
      const jaguarNs = lab.namespaces.find((n) => n.endsWith("jaguar"));
      const pids = spawnSync("pgrep", ["-f", "sshd: .*@notty|sshd: [a-z]+ \\[priv\\]|sshd: [a-z]+$"], {
        encoding: "utf8",
      })
        .stdout.trim()
        .split("\n")
        .filter(
          (pid) =>
            pid !== "" &&
            spawnSync("ip", ["netns", "identify", pid], { encoding: "utf8" }).stdout.trim() === jaguarNs,
        );
      expect(pids.length).toBeGreaterThan(0);
      for (const pid of pids) spawnSync("kill", ["-KILL", pid]);
      // The row keeps its port, gets the reason on its error line, and is listening again.
      const screen = await waitForScreen(faultSession, (s) => {
        const lines = s.split("\n");
        const at = lines.findIndex((l) => l.includes(spec));
        return at >= 0 && /listening/.test(lines[at]!) && /^ {5}! .*lost/.test(lines[at + 1] ?? "");
      });
      expect(screen).toMatch(/gate live/);
      expect(await exchange(port, Buffer.from("two!\n"))).toMatch(/^got 5 bytes/);
      await waitForScreen(faultSession, (s) => /\s0\/2\s/.test(tunnelRow(s, spec) ?? ""));
      tmux("send-keys", "-t", faultSession, "q");
    } finally {
      spawnSync("tmux", ["kill-session", "-t", faultSession]);
    }
  }, 60_000);

  it("shows a copy the gate runs, with a progress bar, while it runs", async () => {
    // A sparse 512 MiB file: big enough to be seen in flight, cheap to make.
    const source = join(runtime, "big.bin");
    const fd = openSync(source, "w");
    ftruncateSync(fd, 512 * 1024 * 1024);
    closeSync(fd);
    const target = join(runtime, "big.copy");
    const xferSession = `${session}-xfer`;
    const command = `XDG_RUNTIME_DIR=${runtime} LANG=C.UTF-8 ${process.execPath} ${bin} dash; echo "EXIT=$?"; sleep 60`;
    tmux("new-session", "-d", "-s", xferSession, "-x", "80", "-y", "24", command);
    try {
      await waitForScreen(xferSession, /gate live/);
      // jumpgate cp goes through the running gate; the dashboard sees it in the gate's stats.
      const cp = spawn(
        process.execPath,
        [bin, "cp", "-q", "-F", lab.configPath, source, `mcgonagall:${target}`],
        {
          env: { ...process.env, XDG_RUNTIME_DIR: runtime },
          stdio: ["ignore", "ignore", "pipe"],
        },
      );
      let cpErr = "";
      cp.stderr?.on("data", (d: Buffer) => {
        cpErr += d.toString();
      });
      const cpDone = new Promise<number | null>((r) => cp.once("close", r));
      // The row: what is copied, a bar and a percentage once the size is known, bytes so far.
      const inFlight = /Transfers \(1\)[\s\S]*big\.bin -> .*\[#*\.+\]\s+\d+%\s+\d[\d.]*[BKM]\/512M/;
      const screen = await waitForScreen(xferSession, inFlight);
      expect(screen).toMatch(/you -> jaguar -> mcgonagall\s+ready/);
      expect(await cpDone).toBe(0);
      expect(cpErr).toBe("");
      // Done: the panel goes, the log says how it ended.
      const after = await waitForScreen(xferSession, (s) => !s.includes("Transfers ("));
      expect(after).toMatch(/^cp done, 1 file, 512M: \/\S+\/big\.bin -> mcgonagall:/m);
      tmux("send-keys", "-t", xferSession, "q");
      await waitForScreen(xferSession, /EXIT=0/);
    } finally {
      spawnSync("tmux", ["kill-session", "-t", xferSession]);
      rmSync(source, { force: true });
      rmSync(target, { force: true });
    }
  }, 90_000);

  it("prints one plain-text picture with --once (no terminal), tunnels included", async () => {
    const port = await freePort();
    const added = jumpgate(runtime, [
      "tunnels",
      "add",
      "-F",
      lab.configPath,
      "mcgonagall",
      "-L",
      `${port}:127.0.0.1:12345`,
    ]);
    expect(added.stderr).toBe("");
    expect(added.code).toBe(0);
    // One exchange, so that the gate holds the connection through jaguar and counts bytes.
    expect(await exchange(port, Buffer.from("ping\n"))).toMatch(/^got 5 bytes sha256 /);
    const r = jumpgate(runtime, ["dash", "--once"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^\d{4}-\d\d-\d\dT[\d:.]+Z\n jumpgate dash \| gate live \| \d+ connections? \| \d+ tunnels?\n/,
    );
    expect(r.stdout).toContain(`-L ${port}:127.0.0.1:12345`);
    expect(r.stdout).toMatch(/you -> jaguar -> mcgonagall +ready/);
    // Plain means plain: no escape sequences, nothing beyond ASCII.
    expect(r.stdout).toMatch(/^[\x20-\x7e\n]*$/);
  }, 60_000);

  it("says when the gate goes away, and comes back by itself when a gate is started again", async () => {
    const lostSession = `${session}-lost`;
    const command = `XDG_RUNTIME_DIR=${runtime} LANG=C.UTF-8 ${process.execPath} ${bin} dash; echo "EXIT=$?"; sleep 60`;
    tmux("new-session", "-d", "-s", lostSession, "-x", "80", "-y", "24", command);
    try {
      await waitForScreen(lostSession, /gate live/);
      expect(jumpgate(runtime, ["gate", "stop"]).code).toBe(0);
      const screen = await waitForScreen(lostSession, /gate LOST/);
      expect(screen).toMatch(/^gate lost, retrying \('jumpgate gate start' starts one\): JG_GATE_LOST: /m);
      expect(jumpgate(runtime, ["gate", "start"]).code).toBe(0);
      await waitForScreen(lostSession, /gate live · 0 connections · 0 tunnels/);
      tmux("send-keys", "-t", lostSession, "q");
      await waitForScreen(lostSession, /EXIT=0/);
    } finally {
      spawnSync("tmux", ["kill-session", "-t", lostSession]);
    }
  }, 60_000);

  it("prints nothing of blessed's own on terminals whose terminfo it cannot fully parse", async () => {
    const errSession = `${session}-term`;
    const errors = join(runtime, "dash-stderr.txt");
    for (const term of ["screen-256color", "xterm-256color", "vt100"]) {
      const command = `TERM=${term} XDG_RUNTIME_DIR=${runtime} LANG=C.UTF-8 ${process.execPath} ${bin} dash 2>${errors}; echo "EXIT=$?"; sleep 60`;
      tmux("new-session", "-d", "-s", errSession, "-x", "80", "-y", "24", command);
      try {
        await waitForScreen(errSession, /gate live/);
        tmux("send-keys", "-t", errSession, "q");
        await waitForScreen(errSession, /EXIT=0/);
        expect({ term, stderr: readFileSync(errors, "utf8") }).toEqual({ term, stderr: "" });
      } finally {
        spawnSync("tmux", ["kill-session", "-t", errSession]);
      }
    }
  }, 60_000);

  it("without a gate, says how to start one and exits 1", () => {
    const empty = mkdtempSync(join(tmpdir(), "jg-dash-none-"));
    chmodSync(empty, 0o700);
    try {
      const r = jumpgate(empty, ["dash"]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(
        /^jumpgate: JG_GATE_NOT_RUNNING: No gate is running .*Start one with 'jumpgate gate start'\.\n$/,
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
