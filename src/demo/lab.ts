/**
 * The embedded lab behind `jumpgate demo`: the bastion topology from the README, in-process, with
 * no root, no sshd and no network beyond one loopback port.
 *
 *   you ──TCP 127.0.0.1:<port>──▶ jaguar ──direct-tcpip "mcgonagall:22"──▶ mcgonagall
 *                                                                           └─ direct-tcpip
 *                                                                              127.0.0.1:12345
 *                                                                              ▶ the service
 *
 * - jaguar is the bastion: the only thing listening, on 127.0.0.1 only.
 * - mcgonagall has no address of its own. When a client asks jaguar to forward to "mcgonagall:22",
 *   jaguar hands the forwarded channel itself to mcgonagall's SSH server as its "socket". The only
 *   way in is therefore through jaguar, exactly as with a real internal host.
 * - The localhost-only service exists only inside mcgonagall (service.ts).
 *
 * startDemoLab() also writes keys, known_hosts and an ssh_config into the lab dir, so OpenSSH's own
 * client works against the lab unchanged: `ssh -F <dir>/ssh_config mcgonagall hostname`.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server as NetServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import ssh2 from "ssh2";
import { JumpgateError } from "../errors.js";
import { generateEd25519, isSafeLabPath, type KeyPair, renderKnownHosts, renderSshConfig } from "./files.js";
import { createDemoServer, type Destination } from "./server.js";
import { SERVICE_HOSTS, SERVICE_PORT, serveReplyAfterEof } from "./service.js";

/** The user both demo hosts accept (with the lab's key only). */
export const DEMO_USER = "demo";
/** mcgonagall as the ssh_config names it; jaguar forwards exactly this name and port to it. */
export const MCGONAGALL_NAME = "mcgonagall";
export const MCGONAGALL_PORT = 22;
/** How long stop() lets clients close after the SSH disconnect before it cuts their sockets. */
const STOP_GRACE_MS = 1_000;

export interface DemoLabOptions {
  /** Where to write keys and configs; default: a fresh 0700 dir under the OS temp dir. */
  dir?: string;
  /** Diagnostics: refused logins and forwards, connection errors. Silent when absent. */
  log?: (line: string) => void;
}

export interface DemoLabStats {
  /** SSH connections that passed authentication, per host, since start. */
  connections: { jaguar: number; mcgonagall: number };
  /** pty-req requests accepted, per host, since start (interactive logins, `ssh -t`). */
  ptyRequests: { jaguar: number; mcgonagall: number };
}

export interface DemoLab {
  /** Absolute path of the lab dir. */
  dir: string;
  configPath: string;
  knownHostsPath: string;
  identityPath: string;
  /** The user name the hosts accept (also the ssh_config's `User`). */
  user: string;
  jaguar: { host: string; port: number };
  /** Not a network address: the name and port jaguar forwards to mcgonagall. */
  mcgonagall: { name: string; port: number };
  /** The localhost-only service, as addressed from mcgonagall. */
  service: { host: "127.0.0.1"; port: number };
  stats(): DemoLabStats;
  /** Disconnects every client, stops listening, deletes the dir if the lab created it. Idempotent. */
  stop(): Promise<void>;
}

export async function startDemoLab(opts: DemoLabOptions = {}): Promise<DemoLab> {
  const { dir, created } = prepareDir(opts.dir);
  // If startup fails half-way, do not leave private keys lying around in the temp dir.
  const removeDir = (): void => {
    if (created) rmSync(dir, { recursive: true, force: true });
  };
  try {
    return await startIn(dir, removeDir, opts.log);
  } catch (err) {
    removeDir();
    throw err;
  }
}

function prepareDir(requested: string | undefined): { dir: string; created: boolean } {
  // Absolute, because every path in ssh_config must work from any working directory.
  const dir = resolve(requested ?? tmpdir());
  if (!isSafeLabPath(dir)) {
    throw new JumpgateError(
      "JG_USAGE",
      `the demo lab cannot use ${JSON.stringify(dir)}: OpenSSH's ProxyJump hands the ssh_config path ` +
        "to a shell unquoted, so the path may contain only letters, digits and the characters _.,:+=@/- " +
        `(${requested === undefined ? "set TMPDIR to" : "choose"} a directory with a plain path)`,
    );
  }
  if (requested === undefined) {
    // mkdtemp creates the dir 0700, so the private keys inside are ours alone from the start.
    return { dir: mkdtempSync(join(dir, "jumpgate-demo-")), created: true };
  }
  const created = !existsSync(dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return { dir, created };
}

async function startIn(dir: string, removeDir: () => void, log?: (line: string) => void): Promise<DemoLab> {
  const userKeyPair = generateEd25519(`${DEMO_USER}@jumpgate-demo`);
  const userKey = ssh2.utils.parseKey(userKeyPair.publicKey);
  if (userKey instanceof Error) throw userKey;
  const jaguarKey = generateEd25519("jaguar host key");
  const mcgonagallKey = generateEd25519("mcgonagall host key");

  const hostOptions = { user: DEMO_USER, userKey, log };

  const mcgonagall = createDemoServer({
    ...hostOptions,
    name: "mcgonagall",
    hostKey: mcgonagallKey.privateKey,
    // mcgonagall forwards only to its own localhost-only service.
    route: (dest) => (isService(dest) ? serveReplyAfterEof : undefined),
  });

  const jaguar = createDemoServer({
    ...hostOptions,
    name: "jaguar",
    hostKey: jaguarKey.privateKey,
    // jaguar forwards only to mcgonagall:22, and "connecting" means running mcgonagall's SSH
    // server on the forwarded channel. No socket, no port: this is mcgonagall's only way in.
    route: (dest) => (isMcgonagall(dest) ? (channel) => mcgonagall.accept(channel) : undefined),
  });

  // jaguar's one door: a loopback TCP listener. Port 0 lets the OS pick a free port (no race);
  // binding 127.0.0.1 keeps the demo off every other interface.
  const sockets = new Set<Socket>();
  const listener = createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    jaguar.accept(socket);
  });
  const port = await listen(listener);
  listener.on("error", (err) => log?.(`jaguar listener: ${err.message}`));

  let paths: ReturnType<typeof writeLabFiles>;
  try {
    paths = writeLabFiles(dir, port, userKeyPair, jaguarKey, mcgonagallKey);
  } catch (err) {
    // Nobody has connected yet; just stop listening (the caller removes the dir).
    listener.close();
    throw err;
  }

  // A process that exits without stop() (an uncaught error, process.exit) must not leave the
  // lab's private keys in the temp dir; "exit" handlers must be synchronous, rmSync is.
  process.on("exit", removeDir);

  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    // Resolves once every client socket has closed, not just when listening stops.
    const closed = new Promise<void>((done) => listener.close(() => done()));
    // Inner host first: its clients get a clean SSH disconnect through jaguar while jaguar is up.
    mcgonagall.disconnectAll();
    jaguar.disconnectAll();
    // Clients normally close right after the disconnect; cut the ones that do not.
    const grace = setTimeout(() => {
      for (const socket of sockets) socket.destroy();
    }, STOP_GRACE_MS);
    await closed;
    clearTimeout(grace);
    process.off("exit", removeDir);
    removeDir();
  };

  return {
    dir,
    ...paths,
    user: DEMO_USER,
    jaguar: { host: "127.0.0.1", port },
    mcgonagall: { name: MCGONAGALL_NAME, port: MCGONAGALL_PORT },
    service: { host: "127.0.0.1", port: SERVICE_PORT },
    stats: () => ({
      connections: { jaguar: jaguar.connections(), mcgonagall: mcgonagall.connections() },
      ptyRequests: { jaguar: jaguar.ptyRequests(), mcgonagall: mcgonagall.ptyRequests() },
    }),
    stop: () => {
      stopping ??= stop();
      return stopping;
    },
  };
}

/** Host names compare case-insensitively (OpenSSH also lowercases the name it is given). */
function isMcgonagall(dest: Destination): boolean {
  return dest.host.toLowerCase() === MCGONAGALL_NAME && dest.port === MCGONAGALL_PORT;
}

function isService(dest: Destination): boolean {
  return SERVICE_HOSTS.includes(dest.host.toLowerCase()) && dest.port === SERVICE_PORT;
}

function listen(server: NetServer): Promise<number> {
  return new Promise((resolvePort, reject) => {
    server.once("error", reject);
    server.listen({ port: 0, host: "127.0.0.1" }, () => {
      server.off("error", reject);
      const address = server.address();
      if (address !== null && typeof address === "object") resolvePort(address.port);
      else reject(new Error("the demo lab's listener has no TCP address"));
    });
  });
}

function writeLabFiles(
  dir: string,
  jaguarPort: number,
  user: KeyPair,
  jaguarKey: KeyPair,
  mcgonagallKey: KeyPair,
): { configPath: string; knownHostsPath: string; identityPath: string } {
  const identityPath = join(dir, "id_ed25519");
  const knownHostsPath = join(dir, "known_hosts");
  const configPath = join(dir, "ssh_config");
  // ssh refuses a private key others can read, and a config others can write; 0600 satisfies both.
  // writeFileSync applies `mode` only when it creates the file, so a file left in a reused dir
  // is removed first, and "wx" guarantees the file written is the one just created.
  const write = (file: string, text: string, mode: number): void => {
    rmSync(file, { force: true });
    writeFileSync(file, text, { mode, flag: "wx" });
  };
  write(identityPath, user.privateKey, 0o600);
  write(`${identityPath}.pub`, `${user.publicKey}\n`, 0o644);
  write(
    knownHostsPath,
    renderKnownHosts([
      // jaguar as ssh looks it up: HostName 127.0.0.1 on a non-22 port is "[127.0.0.1]:<port>".
      { host: "127.0.0.1", port: jaguarPort, publicKey: jaguarKey.publicKey },
      // mcgonagall as ProxyJump addresses it: "mcgonagall", port 22, so a bare name.
      { host: MCGONAGALL_NAME, port: MCGONAGALL_PORT, publicKey: mcgonagallKey.publicKey },
    ]),
    0o600,
  );
  write(
    configPath,
    renderSshConfig({
      jaguarHost: "127.0.0.1",
      jaguarPort,
      mcgonagallName: MCGONAGALL_NAME,
      mcgonagallPort: MCGONAGALL_PORT,
      user: DEMO_USER,
      identityPath,
      knownHostsPath,
    }),
    0o600,
  );
  return { configPath, knownHostsPath, identityPath };
}
