/**
 * cp (and push/pull) through the gate against the real lab (you -> jaguar -> mcgonagall): no new
 * SSH login once the route is open (counted in the sshd logs), checksums intact, the progress
 * summary printed by the CLI, errors with their codes and exit statuses, a CLI SIGKILLed in the
 * middle of a large copy aborting only its own transfer (no file under the final name, the gate
 * and a concurrent `jumpgate ssh` session going on), and the dashboard's subscription seeing the
 * transfer. Its own XDG_RUNTIME_DIR: no other test's gate is involved.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { connectIfRunning, type GateClient } from "../../src/gate/client.js";
import { type BastionLab, describeE2E, startBastionLab } from "../support/lab.js";
import { makeTree, manifest, manifestDiff } from "../support/tar-tree.js";
import { useTempDirs } from "../support/tmp.js";

const tempDir = useTempDirs();

const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const bin = join(repo, "bin/jumpgate.js");
const moduleTrace = join(repo, "test/support/module-trace.mjs");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
const logins = (log: string) => (log.match(/Accepted publickey/g) ?? []).length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(
  what: string,
  probe: () => T | null | undefined | false,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describeE2E("cp, push and pull through the gate", "netns", () => {
  let lab: BastionLab;
  let work: string;
  let cfg: string;
  let runtime: string;
  const env = () => ({ ...process.env, XDG_RUNTIME_DIR: runtime, JUMPGATE_NO_GATE: "" });

  const jumpgate = (args: string[], extra: NodeJS.ProcessEnv = {}): Run => {
    const r = spawnSync(process.execPath, [bin, ...args], {
      env: { ...env(), ...extra },
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  };
  const counts = () => [logins(lab.jaguar.sshdLog()), logins(lab.mcgonagall.sshdLog())];
  const dir = (name: string) => {
    const d = join(work, name);
    mkdirSync(d, { recursive: true });
    return d;
  };
  const gateStatus = () => JSON.parse(jumpgate(["status", "--json"]).stdout);

  let traces = 0;
  /** A run with the modules it resolved (test/support/module-trace.mjs): which path it took. */
  const traced = (args: string[], extra: NodeJS.ProcessEnv = {}) => {
    const file = join(work, `modules-${traces++}.txt`);
    const r = spawnSync(process.execPath, ["--import", moduleTrace, bin, ...args], {
      env: { ...env(), JG_MODULE_TRACE: file, ...extra },
      timeout: 60_000,
    });
    const modules = existsSync(file) ? readFileSync(file, "utf8").split("\n") : [];
    return {
      code: r.status,
      stdout: r.stdout.toString(),
      stderr: r.stderr.toString(),
      commander: modules.some((m) => m.includes("/node_modules/commander/")),
      gateTransfer: modules.some((m) => m.endsWith("/dist/cli/gate/transfer.js")),
    };
  };

  /** A subscription to the gate, as the dashboard has: every event it sends, in order. */
  const subscribe = async () => {
    const gate = await connectIfRunning({ XDG_RUNTIME_DIR: runtime });
    expect(gate).not.toBeNull();
    const client = (gate as { client: GateClient }).client;
    const events: Array<Record<string, unknown>> = [];
    await client.request("subscribe", undefined, {
      onEvent: (e) => events.push(e as Record<string, unknown>),
    });
    return { client, events };
  };

  /** A session through the gate that waits for a line on stdin: open across a CLI's death. */
  const waitingSession = () => {
    const child: ChildProcess = spawn(
      process.execPath,
      [bin, "ssh", "-F", cfg, "mcgonagall", "read line; echo got $line"],
      { env: env(), stdio: ["pipe", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.stderr?.on("data", (c: Buffer) => {
      err += c.toString();
    });
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    return {
      async finish(): Promise<string> {
        child.stdin?.end("hello\n");
        expect(await exited, err).toBe(0);
        return out;
      },
    };
  };

  beforeAll(async () => {
    lab = await startBastionLab();
    work = tempDir("jg-gate-transfer-");
    cfg = join(work, "config");
    writeFileSync(cfg, `Host *\n  ServerAliveInterval 0\nMatch all\nInclude ${lab.configPath}\n`);
    runtime = tempDir("jg-gate-transfer-rt-");
    chmodSync(runtime, 0o700);
    const started = jumpgate(["gate", "start"]);
    expect(started.code, started.stderr).toBe(0);
    // Opens the route jaguar -> mcgonagall in the gate: everything below reuses it.
    const warm = jumpgate(["ssh", "-F", cfg, "mcgonagall", "true"]);
    expect(warm.code, warm.stderr).toBe(0);
  }, 60_000);

  afterAll(async () => {
    if (runtime) jumpgate(["gate", "stop"]);
    await lab?.stop();
  });

  it("cp both ways goes through the gate: no new login, checksums intact, the summary printed", () => {
    const d = dir("both-ways");
    const local = join(d, "orig.bin");
    writeFileSync(local, randomBytes(3 * 1024 * 1024 + 17));
    const remote = dir("both-ways-remote");
    const before = counts();
    // Relative local names are the CLI's: resolved against its cwd, not the gate's.
    const up = spawnSync(
      process.execPath,
      [bin, "cp", "-F", cfg, "orig.bin", `mcgonagall:${remote}/up.bin`],
      {
        cwd: d,
        env: env(),
        timeout: 60_000,
      },
    );
    expect(up.status, up.stderr.toString()).toBe(0);
    // Not a terminal: no bar, the one-line summary (as without a gate).
    expect(up.stderr.toString()).toMatch(/^cp: 1 file, 3\.00 MiB in .*\n$/);
    expect(sha256(join(remote, "up.bin"))).toBe(sha256(local));
    const down = jumpgate(["cp", "-F", cfg, `mcgonagall:${remote}/up.bin`, join(d, "down.bin")]);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stderr).toMatch(/^cp: 1 file, 3\.00 MiB/);
    expect(sha256(join(d, "down.bin"))).toBe(sha256(local));
    expect(counts()).toEqual(before);
    // And the direct path does log in (so the count above could have moved).
    const direct = jumpgate(["cp", "-q", "-F", cfg, local, `mcgonagall:${remote}/direct.bin`], {
      JUMPGATE_NO_GATE: "1",
    });
    expect(direct.code, direct.stderr).toBe(0);
    expect(counts()[1]).toBe((before[1] ?? 0) + 1);
    expect(gateStatus().transfers).toEqual([]);
  });

  it("a transfer error comes back with its code and exit status, and writes nothing", () => {
    const out = dir("errors-out");
    const missing = jumpgate(["cp", "-F", cfg, `mcgonagall:${work}/no-such-file`, out]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(
      `jumpgate: JG_CP_NOT_FOUND: mcgonagall:${work}/no-such-file: no such file`,
    );
    // A failure that stops the copy (thrown in the gate) keeps its code and status too.
    const notDir = jumpgate([
      "cp",
      "-F",
      cfg,
      join(work, "config"),
      join(work, "config"),
      `mcgonagall:${work}/config`,
    ]);
    expect(notDir.code).toBe(1);
    expect(notDir.stderr).toContain("jumpgate: JG_CP_NOT_DIRECTORY: ");
    // A connection failure in the gate (port 1 on mcgonagall refuses, through jaguar): the same code
    // and status 255 as without a gate; the operand's :port reached the gate's resolution.
    const refused = jumpgate(["cp", "-F", cfg, "scp://mcgonagall:1/x", out]);
    const directRefused = jumpgate(["cp", "-F", cfg, "scp://mcgonagall:1/x", out], { JUMPGATE_NO_GATE: "1" });
    expect(refused.code, refused.stderr).toBe(255);
    expect(directRefused.code).toBe(255);
    expect(refused.stderr.match(/JG_[A-Z_]+/)?.[0]).toBe(directRefused.stderr.match(/JG_[A-Z_]+/)?.[0]);
    expect(readdirSync(out)).toEqual([]);
  });

  it("relays a host key question to the cp CLI (askpass here), and the gate's warnings", () => {
    const d = dir("ask");
    const knownHosts = join(d, "known_hosts");
    writeFileSync(knownHosts, "");
    const askpass = join(d, "askpass.sh");
    const asked = join(d, "asked");
    writeFileSync(askpass, `#!/bin/sh\nprintf '%s\\n' "$1" >> ${asked}\necho yes\n`, { mode: 0o700 });
    writeFileSync(join(d, "f.txt"), "asked first\n");
    const held = gateStatus().connections.length;
    const r = jumpgate(
      [
        "cp",
        "-F",
        cfg,
        // A route of its own (a ProxyCommand), so the gate opens a new connection to mcgonagall and
        // checks its key against an empty known_hosts.
        "-o",
        `ProxyCommand=ssh -F ${lab.configPath} -W %h:%p jaguar`,
        "-o",
        `UserKnownHostsFile=${knownHosts}`,
        "-o",
        "StrictHostKeyChecking=ask",
        "-o",
        "BatchMode=no",
        join(d, "f.txt"),
        `mcgonagall:${d}/copied.txt`,
      ],
      { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: "force", DISPLAY: "" },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(d, "copied.txt"), "utf8")).toBe("asked first\n");
    expect(readFileSync(asked, "utf8")).toMatch(/authenticity of host .* can't be established/);
    expect(readFileSync(knownHosts, "utf8")).toMatch(/ssh-ed25519/);
    // The gate's warning reached this CLI's stderr, before the summary.
    expect(r.stderr).toMatch(/Permanently added .*\ncp: 1 file, /);
    // It was the gate that connected (and keeps the new route for the next command).
    expect(gateStatus().connections.length).toBe(held + 1);
  });

  it("a cp CLI SIGKILLed mid-copy aborts only its transfer; the gate and another session go on", async () => {
    const src = dir("killed");
    const big = join(src, "huge.bin");
    // Sparse: cheap to make, still 2 GiB to move over SSH.
    spawnSync("truncate", ["-s", "2G", big]);
    const out = dir("killed-out");
    const before = counts();

    // The dashboard's view: a subscription to the gate.
    const { client, events } = await subscribe();
    const session = waitingSession();

    const cp = spawn(process.execPath, [bin, "cp", "-q", "-F", cfg, `mcgonagall:${big}`, out], {
      env: env(),
      stdio: ["ignore", "ignore", "pipe"],
    });
    const cpExit = new Promise<string | null>((r) => cp.once("exit", (_code, signal) => r(signal)));
    await waitFor("the temporary file to fill", () => {
      const temp = readdirSync(out).find((n) => n.endsWith(".part"));
      return temp !== undefined && statSync(join(out, temp)).size > 0;
    });
    // The gate reports the transfer to subscribers while it runs.
    const row = await waitFor("a stats snapshot with the transfer", () => {
      for (const e of events) {
        if (e.kind !== "stats") continue;
        const t = (e.transfers as Array<Record<string, unknown>>).find((x) => x.op === "cp");
        if (t && (t.bytesDone as number) > 0) return t;
      }
      return null;
    });
    expect(row).toMatchObject({ op: "cp", bytesTotal: 2 * 1024 ** 3, filesTotal: 1, pid: cp.pid });
    expect(row.label).toBe(`mcgonagall:${big} -> ${out}`);
    expect(events.some((e) => e.kind === "transfer-start" && e.op === "cp")).toBe(true);

    cp.kill("SIGKILL");
    expect(await cpExit).toBe("SIGKILL");
    // The gate aborts that transfer: its temporary goes, nothing under the final name.
    const end = await waitFor("the transfer's end", () => events.find((e) => e.kind === "transfer-end"));
    expect(end).toMatchObject({ op: "cp", state: "aborted" });
    await waitFor("the temporary file to be removed", () => readdirSync(out).length === 0);
    expect(existsSync(join(out, "huge.bin"))).toBe(false);

    // The other session still works, on the same connection.
    expect(await session.finish()).toBe("got hello\n");
    const again = jumpgate(["ssh", "-F", cfg, "mcgonagall", "echo", "still"]);
    expect(again.stdout).toBe("still\n");
    expect(again.code).toBe(0);
    const st = gateStatus();
    expect(st.transfers).toEqual([]);
    expect(st.connections.some((c: { hops: string[] }) => c.hops.join(" ") === "jaguar mcgonagall")).toBe(
      true,
    );
    expect(counts()).toEqual(before);
    client.close();
  }, 60_000);

  it("Ctrl-C on a cp through the gate ends it as without a gate: JG_CP_INTERRUPTED, status 130", async () => {
    const src = dir("sigint");
    const big = join(src, "huge.bin");
    spawnSync("truncate", ["-s", "2G", big]);
    const remote = dir("sigint-remote");
    const cp = spawn(process.execPath, [bin, "cp", "-q", "-F", cfg, big, `mcgonagall:${remote}/huge.bin`], {
      env: env(),
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    cp.stderr?.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    const exited = new Promise<number | null>((r) => cp.once("exit", (code) => r(code)));
    await waitFor("the temporary file to fill", () => {
      const temp = readdirSync(remote).find((n) => n.endsWith(".part"));
      return temp !== undefined && statSync(join(remote, temp)).size > 0;
    });
    cp.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(stderr).toContain("jumpgate: JG_CP_INTERRUPTED: ");
    // The gate removed the temporary before answering.
    expect(readdirSync(remote)).toEqual([]);
  }, 60_000);

  it("push and pull go through the gate: no new login, the tree intact both ways, the summary printed", () => {
    const tree = join(work, "tree");
    makeTree(tree, { files: 300, avgSize: 2048 });
    const remote = join(work, "pushed", "a dir");
    const before = counts();
    const p = jumpgate(["push", "-F", cfg, tree, `mcgonagall:${remote}`]);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stderr).toMatch(/^push: \d+ files, [0-9.]+ [KM]iB in \d\d:\d\d/);
    expect(manifestDiff(manifest(tree), manifest(remote))).toEqual([]);
    // Relative local names are the CLI's (resolved against its cwd).
    const back = dir("pulled-parent");
    const q = spawnSync(process.execPath, [bin, "pull", "-q", "-F", cfg, `mcgonagall:${remote}`, "here"], {
      cwd: back,
      env: env(),
      timeout: 60_000,
    });
    expect(q.stderr.toString()).toBe("");
    expect(q.status).toBe(0);
    expect(manifestDiff(manifest(tree), manifest(join(back, "here")))).toEqual([]);
    expect(counts()).toEqual(before);
  }, 60_000);

  it("with a gate running, cp, push and pull skip commander; help, usage errors and -v are commander's as before", () => {
    const d = dir("light");
    writeFileSync(join(d, "f.txt"), "light\n");
    const remote = join(work, "light-remote");
    const before = counts();
    for (const args of [
      ["cp", "-q", "-F", cfg, join(d, "f.txt"), `mcgonagall:${remote}-cp.txt`],
      ["push", "-q", "-F", cfg, d, `mcgonagall:${remote}`],
      ["pull", "-q", "-F", cfg, `mcgonagall:${remote}`, join(work, "light-back")],
    ]) {
      const r = traced(args);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe("");
      expect(r.gateTransfer).toBe(true);
      expect(r.commander, args[0]).toBe(false);
    }
    expect(readFileSync(`${remote}-cp.txt`, "utf8")).toBe("light\n");
    expect(readFileSync(join(work, "light-back", "f.txt"), "utf8")).toBe("light\n");
    expect(counts()).toEqual(before);

    // Help, bad usage, JUMPGATE_NO_GATE=1 go through commander (the trace sees it there), with the
    // words and status they have without a gate.
    const noGate = { JUMPGATE_NO_GATE: "1" };
    for (const args of [
      ["cp", "--help"],
      ["push", "-h"],
      ["pull", "-hq", "x:y", "z"],
      ["cp", "only-one"],
      ["cp", "-O", "a", "h:b"],
      ["push", "--compress", "bzip9", d, "mcgonagall:x"],
      ["pull", "--no-such-option", "mcgonagall:x", "y"],
      ["cp", "--", "-q", "a"],
    ]) {
      const r = traced(args);
      const direct = traced(args, noGate);
      expect(r.commander, args.join(" ")).toBe(true);
      expect(direct.commander).toBe(true);
      expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
        code: direct.code,
        stdout: direct.stdout,
        stderr: direct.stderr,
      });
      expect(r.code === 0 ? r.stdout : r.stderr).toMatch(
        /^(Usage: jumpgate (cp|push|pull) |jumpgate: JG_USAGE: )/,
      );
    }
    // An operand refused once parsed (push takes host:dir second): the light path's words are the
    // same as commander's path.
    const swapped = traced(["push", "-F", cfg, `mcgonagall:${remote}`, d]);
    const swappedDirect = traced(["push", "-F", cfg, `mcgonagall:${remote}`, d], noGate);
    expect(swapped.commander).toBe(false);
    expect(swapped.code).toBe(2);
    expect(swapped.stderr).toMatch(/^jumpgate: JG_USAGE: /);
    expect([swapped.code, swapped.stderr]).toEqual([swappedDirect.code, swappedDirect.stderr]);
    // -v wants this process's debug output: a direct connection, through commander.
    const verbose = traced(["cp", "-v", "-F", cfg, join(d, "f.txt"), `mcgonagall:${remote}-v.txt`]);
    expect(verbose.code, verbose.stderr).toBe(0);
    expect(verbose.commander).toBe(true);
    expect(counts()[1]).toBe((before[1] ?? 0) + 1);
  }, 60_000);

  it("a push or pull error comes back with its code and status, and creates nothing", () => {
    const local = join(work, "missing-pulled");
    const r = jumpgate(["pull", "-F", cfg, `mcgonagall:${join(work, "does-not-exist")}`, local]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/jumpgate: JG_TAR_SOURCE: mcgonagall: the remote directory cannot be read/);
    expect(existsSync(local)).toBe(false);
    const small = dir("small");
    writeFileSync(join(small, "a.txt"), "a\n");
    const remote = join(work, "no-tar");
    const n = jumpgate([
      "push",
      "-F",
      cfg,
      "--remote-tar",
      "/nonexistent/tar",
      small,
      `mcgonagall:${remote}`,
    ]);
    expect(n.code).toBe(1);
    expect(n.stderr).toMatch(/jumpgate: JG_TAR_NO_REMOTE_TAR: mcgonagall has no usable tar/);
    expect(existsSync(join(remote, "a.txt"))).toBe(false);
  });

  it("a pull CLI SIGKILLed mid-stream aborts only its transfer: the partial file is removed, the gate goes on", async () => {
    const src = dir("pull-killed-src");
    // Sparse here; a 2 GiB stream of zeros from the remote tar.
    spawnSync("truncate", ["-s", "2G", join(src, "huge.bin")]);
    writeFileSync(join(src, "a.txt"), "a\n");
    const out = join(work, "pull-killed-out");
    const before = counts();
    const { client, events } = await subscribe();
    const session = waitingSession();
    const pull = spawn(process.execPath, [bin, "pull", "-q", "-F", cfg, `mcgonagall:${src}`, out], {
      env: env(),
      stdio: ["ignore", "ignore", "pipe"],
    });
    const exited = new Promise<string | null>((r) => pull.once("exit", (_c, signal) => r(signal)));
    await waitFor("the big file to be extracted in part", () => {
      const st = statSync(join(out, "huge.bin"), { throwIfNoEntry: false });
      return st !== undefined && st.size > 0;
    });
    pull.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    const end = await waitFor("the transfer's end", () =>
      events.find((e) => e.kind === "transfer-end" && e.op === "pull"),
    );
    expect(end).toMatchObject({ state: "aborted" });
    // The entry being written when the CLI died is removed; no truncated huge.bin stays.
    await waitFor("the partial file to be removed", () => !existsSync(join(out, "huge.bin")));
    expect(await session.finish()).toBe("got hello\n");
    expect(gateStatus().transfers).toEqual([]);
    expect(counts()).toEqual(before);
    client.close();

    // Ctrl-C instead: the gate aborts with pull's own words, the CLI exits 130, the same cleanup.
    const again = spawn(process.execPath, [bin, "pull", "-q", "-F", cfg, `mcgonagall:${src}`, out], {
      env: env(),
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    again.stderr?.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    const status = new Promise<number | null>((r) => again.once("exit", (code) => r(code)));
    await waitFor("the big file to be extracted in part again", () => {
      const st = statSync(join(out, "huge.bin"), { throwIfNoEntry: false });
      return st !== undefined && st.size > 0;
    });
    again.kill("SIGINT");
    expect(await status).toBe(130);
    expect(stderr).toContain("jumpgate: JG_TAR_INTERRUPTED: pull interrupted: ");
    expect(existsSync(join(out, "huge.bin"))).toBe(false);
  }, 60_000);

  it("a push CLI SIGKILLed mid-stream aborts only its transfer; the gate and another session go on", async () => {
    const src = dir("push-killed-src");
    spawnSync("truncate", ["-s", "2G", join(src, "huge.bin")]);
    const remote = join(work, "push-killed-remote");
    const before = counts();
    const { client, events } = await subscribe();
    const session = waitingSession();
    const push = spawn(process.execPath, [bin, "push", "-q", "-F", cfg, src, `mcgonagall:${remote}`], {
      env: env(),
      stdio: ["ignore", "ignore", "pipe"],
    });
    const exited = new Promise<string | null>((r) => push.once("exit", (_c, signal) => r(signal)));
    await waitFor("the remote tar to be writing", () => {
      const st = statSync(join(remote, "huge.bin"), { throwIfNoEntry: false });
      return st !== undefined && st.size > 0;
    });
    push.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    const end = await waitFor("the transfer's end", () =>
      events.find((e) => e.kind === "transfer-end" && e.op === "push"),
    );
    expect(end).toMatchObject({ state: "aborted" });
    // As with `tar c | ssh host tar x` cut short, the remote tar keeps what it had; the gate lives on.
    expect(await session.finish()).toBe("got hello\n");
    expect(gateStatus().transfers).toEqual([]);
    expect(counts()).toEqual(before);
    client.close();
  }, 60_000);
});
