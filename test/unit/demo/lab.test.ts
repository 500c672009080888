/**
 * The embedded demo lab, driven with a raw ssh2 Client (no jumpgate code in between): jaguar
 * answers on loopback, mcgonagall only through jaguar's direct-tcpip, the localhost-only service
 * only through mcgonagall, and nothing else is reachable. OpenSSH's own client is in
 * test/e2e/demo-lab.test.ts.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import ssh2, {
  BaseAgent,
  Client,
  type ClientChannel,
  type ConnectConfig,
  type IdentityCallback,
  type ParsedKey,
  type SignCallback,
  type SigningRequestOptions,
} from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateEd25519 } from "../../../src/demo/files.js";
import { type DemoLab, startDemoLab } from "../../../src/demo/lab.js";
import { serviceReply } from "../../../src/demo/service.js";

// ---------------------------------------------------------------------------------------------
// Helpers: a promise API over ssh2's callbacks

/** known_hosts name -> raw public key blob, to check the host keys the servers present. */
function knownHostKeys(lab: DemoLab): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  for (const line of readFileSync(lab.knownHostsPath, "utf8").split("\n")) {
    const [name, , b64] = line.split(" ");
    if (name && b64) keys.set(name, Buffer.from(b64, "base64"));
  }
  return keys;
}

interface Target {
  /** known_hosts name the presented host key must match. */
  knownAs: string;
  /** Either a TCP address (jaguar) or an already-open stream (a forwarded channel). */
  host?: string;
  port?: number;
  sock?: Duplex;
}

function sshConnect(lab: DemoLab, target: Target, overrides: Partial<ConnectConfig> = {}): Promise<Client> {
  const expectedKey = knownHostKeys(lab).get(target.knownAs);
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.once("ready", () => resolve(client));
    client.once("error", reject);
    client.connect({
      ...(target.sock ? { sock: target.sock } : { host: target.host, port: target.port }),
      username: lab.user,
      privateKey: readFileSync(lab.identityPath),
      hostVerifier: (key: Buffer) => expectedKey !== undefined && key.equals(expectedKey),
      readyTimeout: 10_000,
      ...overrides,
    });
  });
}

const connectJaguar = (lab: DemoLab, overrides: Partial<ConnectConfig> = {}): Promise<Client> =>
  sshConnect(
    lab,
    { knownAs: `[127.0.0.1]:${lab.jaguar.port}`, host: lab.jaguar.host, port: lab.jaguar.port },
    overrides,
  );

function forwardOut(client: Client, host: string, port: number): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    client.forwardOut("127.0.0.1", 0, host, port, (err, channel) => (err ? reject(err) : resolve(channel)));
  });
}

/** jaguar, then mcgonagall over a forwarded channel: what ProxyJump does. */
async function connectMcgonagall(lab: DemoLab): Promise<{ jaguar: Client; mcgonagall: Client }> {
  const jaguar = await connectJaguar(lab);
  const sock = await forwardOut(jaguar, lab.mcgonagall.name, lab.mcgonagall.port);
  const mcgonagall = await sshConnect(lab, { knownAs: lab.mcgonagall.name, sock });
  return { jaguar, mcgonagall };
}

interface ExecResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

function exec(client: Client, command: string): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, channel) => {
      if (err) return reject(err);
      let stdout = "";
      let stderr = "";
      let code: number | null = null;
      channel.on("data", (d: Buffer) => {
        stdout += d.toString();
      });
      channel.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
      });
      channel.on("exit", (c: number | null) => {
        code = c;
      });
      channel.on("close", () => resolve({ stdout, stderr, code }));
    });
  });
}

/** Writes `payload`, half-closes, collects everything until the other side closes. */
function exchange(channel: Duplex, payload: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    channel.on("data", (c: Buffer) => chunks.push(c));
    channel.on("error", reject);
    channel.on("close", () => resolve(Buffer.concat(chunks).toString("utf8")));
    channel.end(payload);
  });
}

function channelOpenError(promise: Promise<unknown>): Promise<Error & { reason?: number }> {
  return promise.then(
    () => {
      throw new Error("the channel opened, but should have been refused");
    },
    (err: Error & { reason?: number }) => err,
  );
}

function tcpProbe(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

const SSH_OPEN_ADMINISTRATIVELY_PROHIBITED = 1;

/** An "agent" that lists one key but signs with another: a client that merely knows a public key. */
class ForgingAgent extends BaseAgent<ParsedKey> {
  constructor(
    private readonly shown: ParsedKey,
    private readonly signer: ParsedKey,
  ) {
    super();
  }
  getIdentities(cb: IdentityCallback<ParsedKey>): void {
    cb(null, [this.shown]);
  }
  sign(
    _key: ParsedKey,
    data: Buffer,
    options: SigningRequestOptions | SignCallback,
    cb?: SignCallback,
  ): void {
    const done = typeof options === "function" ? options : cb;
    done?.(null, this.signer.sign(data));
  }
}

// ---------------------------------------------------------------------------------------------

describe("demo lab (raw ssh2 client)", () => {
  let lab: DemoLab;
  /** The lab's diagnostics, to see *why* something was refused. */
  const logs: string[] = [];
  const clients: Client[] = [];
  const track = <T extends Client>(c: T): T => {
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    lab = await startDemoLab({ log: (line) => logs.push(line) });
  });

  afterAll(async () => {
    for (const c of clients) c.end();
    await lab?.stop();
  });

  it("jaguar listens on 127.0.0.1 only and answers exec hostname with its host key from known_hosts", async () => {
    expect(lab.jaguar.host).toBe("127.0.0.1");
    const jaguar = track(await connectJaguar(lab));
    expect(await exec(jaguar, "hostname")).toEqual({ stdout: "jaguar\n", stderr: "", code: 0 });
  });

  it("runs only the built-in commands, in JS", async () => {
    const jaguar = track(await connectJaguar(lab));
    expect(await exec(jaguar, "whoami")).toEqual({ stdout: "demo\n", stderr: "", code: 0 });
    expect(await exec(jaguar, "echo 'two  spaces' and more")).toMatchObject({
      stdout: "two  spaces and more\n",
      code: 0,
    });
    expect(await exec(jaguar, "true")).toMatchObject({ stdout: "", code: 0 });
    expect(await exec(jaguar, "exit 42")).toMatchObject({ stdout: "", code: 42 });
    const unknown = await exec(jaguar, "cat /etc/passwd; id");
    expect(unknown.code).toBe(127);
    expect(unknown.stdout).toBe("");
    expect(unknown.stderr).toContain("cat: command not found");
  });

  it("reaches mcgonagall through jaguar's direct-tcpip to mcgonagall:22, with mcgonagall's own host key", async () => {
    const { jaguar, mcgonagall } = await connectMcgonagall(lab);
    track(mcgonagall);
    track(jaguar);
    expect(await exec(mcgonagall, "hostname")).toEqual({ stdout: "mcgonagall\n", stderr: "", code: 0 });
    // Host names are case-insensitive; OpenSSH lowercases them anyway.
    const sock = await forwardOut(jaguar, "McGonagall", 22);
    const again = track(await sshConnect(lab, { knownAs: "mcgonagall", sock }));
    expect((await exec(again, "hostname")).stdout).toBe("mcgonagall\n");
  });

  it("serves the localhost-only service through mcgonagall: all bytes, half-close, sha256 reply", async () => {
    const { jaguar, mcgonagall } = await connectMcgonagall(lab);
    track(mcgonagall);
    track(jaguar);
    // Several SSH windows' worth (2 MiB each), so flow control on both hops is exercised.
    const payload = randomBytes(5 * 1024 * 1024 + 17);
    const channel = await forwardOut(mcgonagall, "127.0.0.1", lab.service.port);
    expect(await exchange(channel, payload)).toBe(serviceReply(payload));
    // "localhost" names the same service; an empty request is answered too.
    const viaName = await forwardOut(mcgonagall, "localhost", 12345);
    expect(await exchange(viaName, Buffer.alloc(0))).toBe(serviceReply(Buffer.alloc(0)));
  });

  it("refuses every other direct-tcpip destination as administratively prohibited", async () => {
    const { jaguar, mcgonagall } = await connectMcgonagall(lab);
    track(mcgonagall);
    track(jaguar);
    const refused = [
      // jaguar: the service is mcgonagall's localhost, not jaguar's.
      channelOpenError(forwardOut(jaguar, "127.0.0.1", 12345)),
      // jaguar: even its own, really listening port.
      channelOpenError(forwardOut(jaguar, "127.0.0.1", lab.jaguar.port)),
      channelOpenError(forwardOut(jaguar, "mcgonagall", 2222)),
      channelOpenError(forwardOut(jaguar, "mcgonagall.example.com", 22)),
      // mcgonagall: only its service port.
      channelOpenError(forwardOut(mcgonagall, "127.0.0.1", 22)),
      channelOpenError(forwardOut(mcgonagall, "jaguar", 22)),
      channelOpenError(forwardOut(mcgonagall, "mcgonagall", 22)),
    ];
    for (const err of await Promise.all(refused)) {
      expect(err.message).toContain("open failed");
      expect(err.reason).toBe(SSH_OPEN_ADMINISTRATIVELY_PROHIBITED);
    }
    // The connections survive refused forwards.
    expect((await exec(mcgonagall, "hostname")).stdout).toBe("mcgonagall\n");
  });

  it("rejects a key other than the lab's, a wrong user, and password logins", async () => {
    const other = generateEd25519("intruder");
    await expect(connectJaguar(lab, { privateKey: other.privateKey })).rejects.toThrow(
      /All configured authentication methods failed/,
    );
    await expect(connectJaguar(lab, { username: "root" })).rejects.toThrow(
      /All configured authentication methods failed/,
    );
    await expect(
      connectJaguar(lab, { privateKey: undefined, password: "demo", tryKeyboard: true }),
    ).rejects.toThrow(/All configured authentication methods failed/);
    expect(logs).toEqual(
      expect.arrayContaining([
        'jaguar: refused publickey login for "demo": unknown key',
        'jaguar: refused publickey login for "root": only user "demo" may log in',
        'jaguar: refused password login for "demo": only public keys are accepted',
      ]),
    );
  });

  it("rejects a client that offers the lab's public key but cannot sign with its private key", async () => {
    // The offered key matches, so only the server's signature check can stop this client.
    const labPublic = ssh2.utils.parseKey(readFileSync(`${lab.identityPath}.pub`));
    const forger = ssh2.utils.parseKey(generateEd25519("forger").privateKey);
    if (labPublic instanceof Error || forger instanceof Error) throw new Error("test keys do not parse");
    await expect(
      connectJaguar(lab, { privateKey: undefined, agent: new ForgingAgent(labPublic, forger) }),
    ).rejects.toThrow(/All configured authentication methods failed/);
    expect(logs).toContain('jaguar: refused publickey login for "demo": bad signature');
  });

  it("accepts a pty and runs the fake shell: prompt, commands, exit status", async () => {
    const before = lab.stats().ptyRequests.jaguar;
    const jaguar = track(await connectJaguar(lab));
    const { output, code } = await new Promise<{ output: string; code: number | null }>((resolve, reject) => {
      jaguar.shell({ term: "xterm", rows: 24, cols: 80 }, (err, channel) => {
        if (err) return reject(err);
        let output = "";
        let code: number | null = null;
        channel.on("data", (d: Buffer) => {
          output += d.toString();
          // Type only once the prompt is there, like a person would.
          if (output.endsWith("$ ") && !output.includes("exit 5")) channel.write("hostname\rexit 5\r");
        });
        channel.on("exit", (c: number | null) => {
          code = c;
        });
        channel.on("close", () => resolve({ output, code }));
      });
    });
    expect(code).toBe(5);
    expect(output).toContain("demo@jaguar:~$ hostname\r\njaguar\r\n");
    expect(lab.stats().ptyRequests.jaguar).toBe(before + 1);
  });

  it("counts authenticated connections per host: one jaguar connection can carry many to mcgonagall", async () => {
    const before = lab.stats().connections;
    const jaguar = track(await connectJaguar(lab));
    for (let i = 0; i < 3; i++) {
      const sock = await forwardOut(jaguar, "mcgonagall", 22);
      const m = await sshConnect(lab, { knownAs: "mcgonagall", sock });
      expect((await exec(m, "hostname")).stdout).toBe("mcgonagall\n");
      m.end();
    }
    // A refused login is not an accepted connection.
    await connectJaguar(lab, { username: "nobody" }).catch(() => {});
    expect(lab.stats().connections).toEqual({
      jaguar: before.jaguar + 1,
      mcgonagall: before.mcgonagall + 3,
    });
  });
});

describe("demo lab files", () => {
  let lab: DemoLab;
  beforeAll(async () => {
    lab = await startDemoLab();
  });
  afterAll(() => lab?.stop());

  it("keeps everything in a private dir with absolute paths and private files", () => {
    expect(lab.dir.startsWith("/")).toBe(true);
    expect(statSync(lab.dir).mode & 0o777).toBe(0o700);
    for (const file of [lab.identityPath, lab.knownHostsPath, lab.configPath]) {
      expect(file.startsWith(`${lab.dir}/`)).toBe(true);
      expect(statSync(file).mode & 0o077).toBe(0);
    }
    expect(readFileSync(lab.identityPath, "utf8")).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    expect(readFileSync(`${lab.identityPath}.pub`, "utf8")).toMatch(/^ssh-ed25519 \S+ demo@jumpgate-demo\n$/);
  });

  it("writes known_hosts entries under the names ssh looks up", () => {
    const names = [...knownHostKeys(lab).keys()];
    expect(names).toEqual([`[127.0.0.1]:${lab.jaguar.port}`, "mcgonagall"]);
    expect(readFileSync(lab.knownHostsPath, "utf8")).toMatch(/^(\S+ ssh-ed25519 [A-Za-z0-9+/=]+\n){2}$/);
  });

  it("writes the ssh_config the brief describes", () => {
    expect(readFileSync(lab.configPath, "utf8")).toContain(
      [
        "Host jaguar",
        "    HostName 127.0.0.1",
        `    Port ${lab.jaguar.port}`,
        "",
        "Host mcgonagall",
        "    HostName mcgonagall",
        "    Port 22",
        "    ProxyJump jaguar",
        "",
        "Host *",
        "    User demo",
        `    IdentityFile ${lab.identityPath}`,
        "    IdentitiesOnly yes",
        "    IdentityAgent none",
        `    UserKnownHostsFile ${lab.knownHostsPath}`,
        "    GlobalKnownHostsFile /dev/null",
        "    StrictHostKeyChecking yes",
      ].join("\n"),
    );
  });

  it("generates new keys for every lab", async () => {
    const other = await startDemoLab();
    try {
      expect(readFileSync(other.identityPath, "utf8")).not.toBe(readFileSync(lab.identityPath, "utf8"));
      expect(readFileSync(other.knownHostsPath, "utf8")).not.toBe(readFileSync(lab.knownHostsPath, "utf8"));
      expect(other.jaguar.port).not.toBe(lab.jaguar.port);
    } finally {
      await other.stop();
    }
  });
});

describe("demo lab stop()", () => {
  it("disconnects clients, stops listening and removes the dir it created", async () => {
    const lab = await startDemoLab();
    const { jaguar, mcgonagall } = await connectMcgonagall(lab);
    const closed = Promise.all(
      [jaguar, mcgonagall].map((c) => new Promise<void>((r) => c.once("close", () => r()))),
    );
    const started = Date.now();
    await lab.stop();
    await closed;
    // The clients closed on the disconnect; stop() did not need its grace period.
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await tcpProbe(lab.jaguar.port)).toBe("ECONNREFUSED");
    expect(existsSync(lab.dir)).toBe(false);
    // Idempotent.
    await lab.stop();
  });

  it("cuts a client that ignores the disconnect after the grace period", async () => {
    const lab = await startDemoLab();
    // A raw TCP client that never sends its SSH version line, so it never becomes an SSH
    // connection the servers could disconnect: only the lab's socket destroy can end it.
    const socket = tcpConnect({ host: "127.0.0.1", port: lab.jaguar.port });
    await new Promise((r) => socket.once("connect", r));
    socket.on("error", () => {});
    // Read (and drop) the server's version line: a paused socket would never see the FIN.
    socket.resume();
    const closed = new Promise((r) => socket.once("close", r));
    const started = Date.now();
    await lab.stop();
    await closed;
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(await tcpProbe(lab.jaguar.port)).toBe("ECONNREFUSED");
  });

  it("keeps a caller's existing dir, creates and removes a missing one", async () => {
    const parent = mkdtempSync(join(tmpdir(), "jg-demo-test-"));
    try {
      const existing = await startDemoLab({ dir: parent });
      expect(existing.dir).toBe(parent);
      expect(existsSync(existing.configPath)).toBe(true);
      await existing.stop();
      expect(existsSync(parent)).toBe(true);

      const missing = join(parent, "new", "lab");
      const fresh = await startDemoLab({ dir: missing });
      expect(statSync(missing).mode & 0o777).toBe(0o700);
      await fresh.stop();
      expect(existsSync(missing)).toBe(false);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it("refuses a dir whose path OpenSSH's ProxyJump would break on, before creating anything", async () => {
    const parent = mkdtempSync(join(tmpdir(), "jg-demo-test-"));
    try {
      const bad = join(parent, "with space");
      await expect(startDemoLab({ dir: bad })).rejects.toMatchObject({
        code: "JG_USAGE",
        message: expect.stringContaining("ProxyJump"),
      });
      expect(existsSync(bad)).toBe(false);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });
});
