/**
 * A hostile SSH server for `jumpgate pull`: an embedded ssh2 server on 127.0.0.1 that lets anyone
 * in and answers any `tar -c` exec with an archive crafted to escape the destination: `../`
 * names, absolute paths, symlinks out of the tree followed by files "through" them, hard links to
 * outside files, device files, fifos, setuid bits. Real OpenSSH cannot be made to send these, which
 * is what the embedded server is for.
 */
import tarStream, { type Header } from "tar-stream";
import { startEmbeddedSshServer } from "./embedded-ssh-server.js";

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
  const commands: string[] = [];
  // A hostile server lets everyone in: it wants the client to pull.
  const server = await startEmbeddedSshServer("hostile", (conn) => {
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
          // With a terminal escape (retitle the window, red text): error messages carry this.
          channel.stderr.write("sh: 1: \u001b]0;OWNED\u0007\u001b[31mnot what a hostile server serves\n");
          channel.exit(1);
        }
        channel.end();
      });
    });
  });
  return { ...server, commands };
}
