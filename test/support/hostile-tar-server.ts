/**
 * A hostile SSH server for `jumpgate pull`: an embedded ssh2 server on 127.0.0.1 that lets anyone
 * in and answers any `tar -c` exec with an archive crafted to escape the destination: `../`
 * names, absolute paths, symlinks out of the tree followed by files "through" them, hard links to
 * outside files, device files, fifos, setuid bits. Real OpenSSH cannot be made to send these, which
 * is what the embedded server is for.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server as NetServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ssh2 from "ssh2";
import tarStream, { type Header } from "tar-stream";
import { generateEd25519, renderKnownHosts } from "../../src/demo/files.js";
import { removeTree } from "./tmp.js";

const { Server } = ssh2;

export type HostileEntry = Partial<Header> & { name: string; body?: string };

export interface HostileServer {
  port: number;
  /** An ssh_config with Host "hostile" pointing here, known_hosts and key pinned. */
  configPath: string;
  /** Exec commands received, in order. */
  commands: string[];
  stop(): Promise<void>;
}

/** Builds a tar archive from crafted entries (tar-stream writes whatever names it is given). */
export async function craftTar(entries: readonly HostileEntry[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  })();
  for (const e of entries) {
    const { body, ...header } = e;
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (body !== undefined) pack.entry(header, body, cb);
      else pack.entry(header, cb);
    });
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

export async function startHostileServer(archive: Buffer): Promise<HostileServer> {
  const dir = mkdtempSync(join(tmpdir(), "jg-hostile-"));
  const hostKey = generateEd25519("hostile host");
  const userKey = generateEd25519("client");
  const commands: string[] = [];
  const server = new Server({ hostKeys: [hostKey.privateKey] }, (conn) => {
    conn.on("error", () => {});
    // A hostile server lets everyone in: it wants the client to pull.
    conn.on("authentication", (ctx) => ctx.accept());
    conn.on("ready", () => {
      conn.on("session", (acceptSession) => {
        const session = acceptSession();
        session.on("exec", (accept, _reject, info) => {
          const channel = accept();
          commands.push(info.command);
          channel.on("error", () => {});
          if (/\btar\b.* -c/.test(info.command)) {
            channel.write(archive);
            channel.exit(0);
          } else {
            channel.stderr.write("sh: 1: not what a hostile server serves\n");
            channel.exit(1);
          }
          channel.end();
        });
      });
    });
  });
  const sockets = new Set<Socket>();
  const listener: NetServer = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    server.injectSocket(socket);
  });
  const port = await new Promise<number>((resolve) => {
    listener.listen(0, "127.0.0.1", () => resolve((listener.address() as { port: number }).port));
  });
  const knownHosts = join(dir, "known_hosts");
  writeFileSync(knownHosts, renderKnownHosts([{ host: "127.0.0.1", port, publicKey: hostKey.publicKey }]));
  const identity = join(dir, "id_ed25519");
  writeFileSync(identity, userKey.privateKey, { mode: 0o600 });
  const configPath = join(dir, "ssh_config");
  writeFileSync(
    configPath,
    [
      "Host hostile",
      "  HostName 127.0.0.1",
      `  Port ${port}`,
      "  User victim",
      `  IdentityFile ${identity}`,
      "  IdentitiesOnly yes",
      `  UserKnownHostsFile ${knownHosts}`,
      "  StrictHostKeyChecking yes",
      "  BatchMode yes",
      "  IdentityAgent none",
      "",
    ].join("\n"),
  );
  return {
    port,
    configPath,
    commands,
    stop: async () => {
      await new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        listener.close(() => resolve());
      });
      // Keys and config live only as long as the server: no jg-hostile-* dir left in /tmp.
      removeTree(dir);
    },
  };
}
