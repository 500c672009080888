/**
 * The "localhost-only service" on mcgonagall (127.0.0.1:12345 as mcgonagall sees it), served
 * in-process: mcgonagall hands each forwarded channel for that address straight to this function,
 * so no TCP port is opened for it at all.
 *
 * Same contract as test/support/reply-after-eof-service.mjs, which the OpenSSH lab runs as a real
 * TCP server: read everything until the client half-closes, then answer
 * `got <N> bytes sha256 <hex>\n` and close. A forwarder that loses the half-close hangs here; one
 * that drops or reorders bytes gets the wrong digest.
 */
import { createHash } from "node:crypto";
import type { Duplex } from "node:stream";

/** Where the service appears to listen, from mcgonagall's point of view. */
export const SERVICE_PORT = 12345;
export const SERVICE_HOSTS: readonly string[] = ["127.0.0.1", "localhost"];

/** The reply the service sends for `data`; tests compute the expected answer with it too. */
export function serviceReply(data: Buffer): string {
  return `got ${data.length} bytes sha256 ${createHash("sha256").update(data).digest("hex")}\n`;
}

/**
 * Serves one connection. `stream` must allow half-open use (ssh2 channels do), so that our reply
 * can still go out after the client's EOF.
 */
export function serveReplyAfterEof(stream: Duplex): void {
  const hash = createHash("sha256");
  let bytes = 0;
  stream.on("data", (chunk: Buffer) => {
    bytes += chunk.length;
    hash.update(chunk);
  });
  stream.on("end", () => {
    stream.end(`got ${bytes} bytes sha256 ${hash.digest("hex")}\n`);
  });
  // A client that vanishes mid-request is not the service's problem; without a listener the
  // error would crash the whole demo process.
  stream.on("error", () => stream.destroy());
}
