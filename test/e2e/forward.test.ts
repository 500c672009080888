/**
 * Port forwarding against the real lab: you -> jaguar -> mcgonagall, where mcgonagall's service
 * on 127.0.0.1:12345 answers "got N bytes sha256 X" once the client half-closes. Every forward is
 * `jumpgate ssh -N` or `jumpgate forward` running as a child, exercised with real sockets.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import type { Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import {
  accepts,
  bin,
  exchange,
  expectedReply,
  freePort,
  inMcgonagall,
  type Running,
  run,
  socks4aConnect,
  socks5Connect,
  startJumpgate,
  startReplyService,
  waitFor,
} from "../support/forward-lab.js";
import { type BastionLab, describeE2E, labProgram, startBastionLab } from "../support/lab.js";

describeE2E("port forwarding through jaguar", "netns", () => {
  let lab: BastionLab;
  let work: string;
  const running: Running[] = [];

  const jg = (args: string[]) => {
    const r = startJumpgate(args);
    running.push(r);
    return r;
  };
  const service = () => `localhost:${lab.service.port}`;

  beforeAll(async () => {
    lab = await startBastionLab();
    work = mkdtempSync(join(tmpdir(), "jg-fwd-"));
  });

  afterEach(async () => {
    await Promise.all(running.splice(0).map((r) => r.stop("SIGKILL")));
  });

  afterAll(async () => {
    await lab?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function listening(port: number, r: Running): Promise<void> {
    await waitFor(`jumpgate listening on ${port} (stderr: ${r.stderr()})`, async () =>
      (await accepts({ host: "127.0.0.1", port })) ? true : r.child.exitCode !== null ? true : null,
    );
    if (r.child.exitCode !== null) throw new Error(`jumpgate exited ${r.child.exitCode}: ${r.stderr()}`);
  }

  it("-L reaches mcgonagall's localhost-only service through jaguar, with the half-close reply (the seeds' exercise)", async () => {
    const port = await freePort();
    const r = jg(["ssh", "-F", lab.configPath, "-N", "-L", `${port}:${service()}`, "mcgonagall"]);
    await listening(port, r);
    const payload = Buffer.from("hello through two hops\n");
    const reply = await exchange({ host: "127.0.0.1", port }, payload);
    expect(reply.toString()).toBe(await expectedReply(payload));
    // OpenSSH's ssh gets the same answer through the same route.
    const sshPort = await freePort();
    const ssh = spawn(
      labProgram("ssh"),
      ["-F", lab.configPath, "-N", "-L", `${sshPort}:${service()}`, "mcgonagall"],
      {
        stdio: "ignore",
      },
    );
    try {
      await waitFor("ssh -L", async () =>
        (await accepts({ host: "127.0.0.1", port: sshPort })) ? true : null,
      );
      const viaSsh = await exchange({ host: "127.0.0.1", port: sshPort }, payload);
      expect(viaSsh.toString()).toBe(reply.toString());
    } finally {
      ssh.kill("SIGTERM");
    }
  });

  it("-L carries 10 MB intact, and 100 parallel connections each intact", async () => {
    const port = await freePort();
    const r = jg(["forward", "-F", lab.configPath, "mcgonagall", "-L", `${port}:${service()}`]);
    await listening(port, r);
    const announced = new RegExp(`Forwarding 127\\.0\\.0\\.1:${port}.* -> ${service()} \\(via mcgonagall\\)`);
    // The announcement follows the bind: the port may accept a moment before it is written.
    await waitFor("the announcement", () => (announced.test(r.stderr()) ? true : null));
    const big = randomBytes(10 * 1024 * 1024);
    expect((await exchange({ host: "127.0.0.1", port }, big)).toString()).toBe(await expectedReply(big));
    const payloads = Array.from({ length: 100 }, (_, i) => randomBytes(1000 + i * 997));
    const replies = await Promise.all(payloads.map((p) => exchange({ host: "127.0.0.1", port }, p)));
    const expected = await Promise.all(payloads.map((p) => expectedReply(p)));
    expect(replies.map((b) => b.toString())).toEqual(expected);
  });

  it("-D speaks SOCKS5 (domain name resolved on mcgonagall) and SOCKS4a", async () => {
    const port = await freePort();
    const r = jg(["ssh", "-F", lab.configPath, "-N", "-D", String(port), "mcgonagall"]);
    await listening(port, r);
    const payload = Buffer.from("socks five");
    const five = await socks5Connect(port, "localhost", lab.service.port);
    expect(five.code).toBe(0);
    expect((await exchange({ host: "", port: 0 }, payload, { socket: five.socket })).toString()).toBe(
      await expectedReply(payload),
    );
    const four = await socks4aConnect(port, "localhost", lab.service.port);
    expect(four.code).toBe(0x5a);
    const payload4 = Buffer.from("socks four a");
    expect((await exchange({ host: "", port: 0 }, payload4, { socket: four.socket })).toString()).toBe(
      await expectedReply(payload4),
    );
  });

  it("a refused far side gets a SOCKS error for that connection and the proxy keeps serving", async () => {
    const port = await freePort();
    const r = jg(["ssh", "-F", lab.configPath, "-N", "-D", String(port), "mcgonagall"]);
    await listening(port, r);
    // Nothing listens on mcgonagall's port 1.
    const refused = await socks5Connect(port, "127.0.0.1", 1);
    expect(refused.code).toBe(5);
    refused.socket.destroy();
    const ok = await socks5Connect(port, "localhost", lab.service.port);
    expect(ok.code).toBe(0);
    ok.socket.destroy();
    expect(r.child.exitCode).toBeNull();
  });

  it("-R exposes a local service to mcgonagall (port 0 prints the allocated port, checked from mcgonagall)", async () => {
    const local = await startReplyService({});
    try {
      const r = jg(["ssh", "-F", lab.configPath, "-N", "-R", `0:127.0.0.1:${local.port}`, "mcgonagall"]);
      const allocated = await waitFor("Allocated port", () => {
        const m = /Allocated port (\d+) for remote forward to 127\.0\.0\.1:(\d+)/.exec(r.stderr());
        if (r.child.exitCode !== null) throw new Error(r.stderr());
        return m ? Number(m[1]) : null;
      });
      const script = `const s=require("net").connect(${allocated},"127.0.0.1",()=>s.end("from mcgonagall"));s.pipe(process.stdout)`;
      const [cmd, args] = inMcgonagall(lab, process.execPath, ["-e", script]);
      const out = await run(cmd, args);
      expect(out.stdout).toBe(await expectedReply(Buffer.from("from mcgonagall")));
    } finally {
      local.server.close();
    }
  });

  it("-R port (remote SOCKS) honours PermitRemoteOpen: an allowed destination works, another gets SOCKS5 'not allowed'", async () => {
    const local = await startReplyService({});
    const other = await startReplyService({});
    try {
      const r = jg([
        "ssh",
        "-F",
        lab.configPath,
        "-N",
        "-o",
        `PermitRemoteOpen=127.0.0.1:${local.port}`,
        "-R",
        "0",
        "mcgonagall",
      ]);
      const allocated = await waitFor("Allocated port", () => {
        const m = /Allocated port (\d+)/.exec(r.stderr());
        if (r.child.exitCode !== null) throw new Error(r.stderr());
        return m ? Number(m[1]) : null;
      });
      // A SOCKS5 client on mcgonagall: no-auth greeting, CONNECT 127.0.0.1:port, print the reply code.
      const ask = async (port: number) => {
        const script = `const s=require("net").connect(${allocated},"127.0.0.1",()=>s.write(Buffer.from([5,1,0])));let b=Buffer.alloc(0),sent=false;s.on("data",d=>{b=Buffer.concat([b,d]);if(!sent&&b.length>=2){sent=true;b=b.subarray(2);s.write(Buffer.from([5,1,0,1,127,0,0,1,${port >> 8},${port & 255}]))}else if(sent&&b.length>=2){process.stdout.write(String(b[1]));s.destroy()}});s.on("close",()=>process.exit(0))`;
        const [cmd, args] = inMcgonagall(lab, process.execPath, ["-e", script]);
        return (await run(cmd, args)).stdout;
      };
      expect(await ask(local.port)).toBe("0");
      expect(await ask(other.port)).toBe("2");
      expect(r.child.exitCode).toBeNull();
      expect(await ask(local.port)).toBe("0");
    } finally {
      local.server.close();
      other.server.close();
    }
  });

  it("forwards Unix sockets both ways: -L socket here -> TCP there, -L port -> socket there, -R socket there -> here", async () => {
    // -L /path:host:port, the socket created 0600.
    const sock = join(work, "l.sock");
    const r1 = jg(["ssh", "-F", lab.configPath, "-N", "-L", `${sock}:${service()}`, "mcgonagall"]);
    await waitFor("unix listener", async () => ((await accepts({ path: sock })) ? true : null));
    expect(statSync(sock).mode & 0o777).toBe(0o600);
    const p1 = Buffer.from("over a unix socket");
    expect((await exchange({ path: sock }, p1)).toString()).toBe(await expectedReply(p1));

    // -L port:/path on the server (mcgonagall's sshd sees the same filesystem).
    const served = join(work, "served.sock");
    const svc = await startReplyService({ path: served });
    let remoteSock = "";
    try {
      const port = await freePort();
      const r2 = jg(["ssh", "-F", lab.configPath, "-N", "-L", `${port}:${served}`, "mcgonagall"]);
      await listening(port, r2);
      const p2 = Buffer.from("to a unix socket on the server");
      expect((await exchange({ host: "127.0.0.1", port }, p2)).toString()).toBe(await expectedReply(p2));

      // -R /path there -> unix socket here (streamlocal-forward@openssh.com).
      remoteSock = join(work, "r.sock");
      const r3 = jg(["ssh", "-F", lab.configPath, "-N", "-R", `${remoteSock}:${served}`, "mcgonagall"]);
      const script = `const s=require("net").connect(${JSON.stringify(remoteSock)},()=>s.end("via -R unix"));s.pipe(process.stdout)`;
      const [cmd, args] = inMcgonagall(lab, process.execPath, ["-e", script]);
      const reply = await waitFor("remote unix socket", async () => {
        if (r3.child.exitCode !== null) throw new Error(r3.stderr());
        const out = await run(cmd, args);
        return out.stdout.startsWith("got ") ? out.stdout : null;
      });
      expect(reply).toBe(await expectedReply(Buffer.from("via -R unix")));
    } finally {
      svc.server.close();
    }
    expect(r1.child.exitCode).toBeNull();
  });

  it("a bind conflict is fatal (255) with ExitOnForwardFailure, a warning without", async () => {
    const blocker: Server = (await startReplyService({})).server;
    const address = blocker.address();
    const taken = typeof address === "object" && address !== null ? address.port : 0;
    try {
      const fatal = spawnSync(
        process.execPath,
        [
          bin,
          "ssh",
          "-F",
          lab.configPath,
          "-o",
          "ExitOnForwardFailure=yes",
          "-L",
          `127.0.0.1:${taken}:${service()}`,
          "mcgonagall",
          "echo ran",
        ],
        { encoding: "utf8", timeout: 30_000 },
      );
      expect(fatal.status).toBe(255);
      expect(fatal.stdout).toBe("");
      expect(fatal.stderr).toMatch(
        /JG_FORWARD_BIND: cannot listen on 127\.0\.0\.1:\d+: Address already in use/,
      );
      const lenient = spawnSync(
        process.execPath,
        [bin, "ssh", "-F", lab.configPath, "-L", `127.0.0.1:${taken}:${service()}`, "mcgonagall", "echo ran"],
        { encoding: "utf8", timeout: 30_000 },
      );
      expect(lenient.status).toBe(0);
      expect(lenient.stdout).toBe("ran\n");
      expect(lenient.stderr).toMatch(/Warning: cannot listen on 127\.0\.0\.1:\d+: Address already in use/);
    } finally {
      blocker.close();
    }
  });

  it("a remote forward the server refuses is fatal with ExitOnForwardFailure (JG_FORWARD_REMOTE)", () => {
    // 127.0.0.1:22 on mcgonagall is sshd's own: the server cannot bind it for us. (Without the
    // address, sshd binds "localhost", i.e. ::1 too, and succeeds there, as ssh would.)
    const r = spawnSync(
      process.execPath,
      [
        bin,
        "ssh",
        "-F",
        lab.configPath,
        "-o",
        "ExitOnForwardFailure=yes",
        "-R",
        "127.0.0.1:22:localhost:1",
        "mcgonagall",
        "echo ran",
      ],
      { encoding: "utf8", timeout: 30_000 },
    );
    expect(r.status).toBe(255);
    expect(r.stderr).toMatch(
      /JG_FORWARD_REMOTE: mcgonagall: the server refused to listen on 127\.0\.0\.1:22/,
    );
  });

  it("config forwards (LocalForward) are set up, and ClearAllForwardings drops them", async () => {
    const port = await freePort();
    const r = jg([
      "ssh",
      "-F",
      lab.configPath,
      "-o",
      `LocalForward=${port} ${service()}`,
      "-N",
      "mcgonagall",
    ]);
    await listening(port, r);
    const p = Buffer.from("from the config");
    expect((await exchange({ host: "127.0.0.1", port }, p)).toString()).toBe(await expectedReply(p));
    await r.stop();
    const cleared = spawnSync(
      process.execPath,
      [
        bin,
        "forward",
        "-F",
        lab.configPath,
        "-o",
        `LocalForward=${port} ${service()}`,
        "-o",
        "ClearAllForwardings=yes",
        "mcgonagall",
      ],
      { encoding: "utf8", timeout: 30_000 },
    );
    expect(cleared.status).toBe(2);
    expect(cleared.stderr).toMatch(/JG_USAGE: Nothing to forward/);
  });

  it("Ctrl-C (SIGINT) closes everything and exits 0; -f goes to the background once the forward is up", async () => {
    const port = await freePort();
    const r = jg(["ssh", "-F", lab.configPath, "-N", "-L", `${port}:${service()}`, "mcgonagall"]);
    await listening(port, r);
    const code = await r.stop("SIGINT");
    expect(code, `jumpgate said: ${r.stderr()}`).toBe(0);
    expect(await accepts({ host: "127.0.0.1", port })).toBe(false);

    const bgPort = await freePort();
    const fg = spawnSync(
      process.execPath,
      [bin, "ssh", "-v", "-f", "-F", lab.configPath, "-N", "-L", `${bgPort}:${service()}`, "mcgonagall"],
      { encoding: "utf8", timeout: 30_000 },
    );
    expect(fg.status).toBe(0);
    const bgPid = Number(/Backgrounded as pid (\d+)\./.exec(fg.stderr)?.[1]);
    expect(bgPid).toBeGreaterThan(0);
    try {
      // Up as soon as the foreground process returned.
      const p = Buffer.from("in the background");
      expect((await exchange({ host: "127.0.0.1", port: bgPort }, p)).toString()).toBe(
        await expectedReply(p),
      );
    } finally {
      process.kill(bgPid, "SIGINT");
    }
    // The background process ends on SIGINT and its listener goes with it.
    await waitFor("the background process to stop", async () =>
      (await accepts({ host: "127.0.0.1", port: bgPort })) ? null : true,
    );
    const noCommand = spawnSync(process.execPath, [bin, "ssh", "-f", "-F", lab.configPath, "mcgonagall"], {
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(noCommand.status).toBe(255);
    expect(noCommand.stderr).toMatch(/without a command/);
  });
});
