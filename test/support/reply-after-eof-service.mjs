#!/usr/bin/env node
// A localhost-only TCP service for forwarding tests: it reads everything the client sends until the
// client half-closes (EOF), then answers "got <N> bytes sha256 <hex>\n" and closes. A forwarder that
// loses the half-close hangs here; one that loses or reorders bytes gets the wrong digest.
// Plain .mjs on purpose: the lab starts it with `node` inside a network namespace, no build step.
//
// Usage: node reply-after-eof-service.mjs <host> <port>
import { createHash } from "node:crypto";
import { createServer } from "node:net";

const [host = "127.0.0.1", portText = "12345"] = process.argv.slice(2);
const port = Number(portText);

// allowHalfOpen keeps our write side open after the client's FIN, which is the whole point.
const server = createServer({ allowHalfOpen: true }, (socket) => {
  const hash = createHash("sha256");
  let bytes = 0;
  socket.on("data", (chunk) => {
    bytes += chunk.length;
    hash.update(chunk);
  });
  socket.on("end", () => {
    socket.end(`got ${bytes} bytes sha256 ${hash.digest("hex")}\n`);
  });
  // A client that resets the connection is not the service's problem.
  socket.on("error", () => socket.destroy());
});

server.on("error", (err) => {
  console.error(`reply-after-eof-service: ${err.message}`);
  process.exit(1);
});

server.listen(port, host, () => {
  // The lab waits for this line before it reports the service ready.
  console.log(`reply-after-eof-service listening on ${host}:${port}`);
});

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => process.exit(0));
}
