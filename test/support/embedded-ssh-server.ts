/**
 * An embedded ssh2 server on 127.0.0.1 for behaviours real OpenSSH cannot be made to show (a
 * hostile tar stream, a global request never answered): anyone may log in, the caller says what
 * the server does once a client is in. Comes with an ssh_config (Host <name>) that pins its host
 * key and a client key, so `jumpgate -F configPath <name>` connects with no prompt.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server as NetServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ssh2, { type Connection } from "ssh2";
import { generateEd25519, renderKnownHosts } from "../../src/demo/files.js";
import { removeTree } from "./tmp.js";

const { Server } = ssh2;

export interface EmbeddedSshServer {
  port: number;
  /** An ssh_config with Host `name` pointing here, known_hosts and key pinned. */
  configPath: string;
  stop(): Promise<void>;
}

/** `onReady` runs for each client once it is authenticated (every client is let in). */
export async function startEmbeddedSshServer(
  name: string,
  onReady: (conn: Connection) => void,
): Promise<EmbeddedSshServer> {
  const dir = mkdtempSync(join(tmpdir(), `jg-${name}-`));
  const hostKey = generateEd25519(`${name} host`);
  const userKey = generateEd25519("client");
  const server = new Server({ hostKeys: [hostKey.privateKey] }, (conn) => {
    conn.on("error", () => {});
    conn.on("authentication", (ctx) => ctx.accept());
    conn.on("ready", () => onReady(conn));
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
      `Host ${name}`,
      "  HostName 127.0.0.1",
      `  Port ${port}`,
      "  User tester",
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
    stop: async () => {
      await new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        listener.close(() => resolve());
      });
      // Keys and config live only as long as the server: no jg-<name>-* dir left in /tmp.
      removeTree(dir);
    },
  };
}
