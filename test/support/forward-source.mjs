#!/usr/bin/env node
// A TCP source for forwarding tests: every connection receives <bytes> bytes (a repeating pattern,
// written with backpressure), then the server closes it. Plain .mjs so it runs inside a lab
// namespace with `node`, no build step.
//
// Usage: node forward-source.mjs <host> <port> <bytes>
import { createServer } from "node:net";

const [host = "127.0.0.1", portText = "0", bytesText = "1048576"] = process.argv.slice(2);
const total = Number(bytesText);
const chunk = Buffer.alloc(256 * 1024);
for (let i = 0; i < chunk.length; i++) chunk[i] = i & 255;

const server = createServer((socket) => {
  let sent = 0;
  socket.on("error", () => socket.destroy());
  const pump = () => {
    while (sent < total) {
      const n = Math.min(chunk.length, total - sent);
      sent += n;
      if (!socket.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
        socket.once("drain", pump);
        return;
      }
    }
    socket.end();
  };
  pump();
});
server.listen(Number(portText), host, () => {
  console.log(`forward-source listening on ${host}:${server.address().port}`);
});
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => process.exit(0));
