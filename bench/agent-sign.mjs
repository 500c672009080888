#!/usr/bin/env node
// Benchmark: signatures per second over the agent socket, jumpgate's agent vs OpenSSH's
// ssh-agent, in one run, with the same client (this script speaking the agent protocol) and the
// same keys (added by OpenSSH's ssh-add to both). Usage: node bench/agent-sign.mjs [--seconds 3]
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";

const seconds = Number(process.argv[process.argv.indexOf("--seconds") + 1]) || 3;
const dir = mkdtempSync(join(tmpdir(), "jg-bench-agent-"));
const children = [];
const cleanup = () => {
  for (const c of children) c.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
};
process.on("exit", cleanup);
process.on("SIGINT", () => process.exit(130));

function keygen(name, args) {
  execFileSync("ssh-keygen", ["-q", "-N", "", "-C", name, "-f", join(dir, name), ...args]);
  return join(dir, name);
}

function waitForSocket(path) {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (spawnSync("test", ["-S", path]).status === 0) return;
    spawnSync("sleep", ["0.05"]);
  }
  throw new Error(`agent socket ${path} did not appear`);
}

function startAgents() {
  const opensshSock = join(dir, "openssh.sock");
  children.push(spawn("ssh-agent", ["-D", "-a", opensshSock], { stdio: "ignore" }));
  const jumpgateSock = join(dir, "jumpgate.sock");
  children.push(
    spawn(
      process.execPath,
      [new URL("../bin/jumpgate.js", import.meta.url).pathname, "agent", "-D", "-a", jumpgateSock],
      { stdio: "ignore" },
    ),
  );
  waitForSocket(opensshSock);
  waitForSocket(jumpgateSock);
  return { openssh: opensshSock, jumpgate: jumpgateSock };
}

function u32(n) {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
const str = (b) => Buffer.concat([u32(b.length), b]);

/** Sequential SIGN_REQUESTs on one connection for `seconds`; returns signatures per second. */
function signLoop(socketPath, keyBlob, flags) {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    const data = Buffer.alloc(64, 7);
    const body = Buffer.concat([Buffer.from([13]), str(keyBlob), str(data), u32(flags)]);
    const frame = Buffer.concat([u32(body.length), body]);
    let count = 0;
    let pending = Buffer.alloc(0);
    const start = process.hrtime.bigint();
    const end = start + BigInt(seconds * 1e9);
    sock.on("error", reject);
    sock.on("connect", () => sock.write(frame));
    sock.on("data", (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
        const len = pending.readUInt32BE(0);
        const type = pending[4];
        pending = pending.subarray(4 + len);
        if (type !== 14) {
          sock.destroy();
          reject(new Error(`agent answered type ${type} instead of SIGN_RESPONSE`));
          return;
        }
        count++;
        const now = process.hrtime.bigint();
        if (now >= end) {
          sock.end();
          resolve((count * 1e9) / Number(now - start));
          return;
        }
        sock.write(frame);
      }
    });
  });
}

function publicBlob(path) {
  return Buffer.from(readFileSync(`${path}.pub`, "utf8").split(" ")[1], "base64");
}

const keys = [
  { name: "ed25519", path: keygen("ed25519", ["-t", "ed25519"]), flags: 0 },
  { name: "rsa-3072 (rsa-sha2-512)", path: keygen("rsa3072", ["-t", "rsa", "-b", "3072"]), flags: 4 },
];
const sockets = startAgents();
for (const sock of Object.values(sockets)) {
  for (const k of keys)
    execFileSync("ssh-add", ["-q", k.path], { env: { ...process.env, SSH_AUTH_SOCK: sock } });
}

console.log(
  `agent signatures per second over the socket, ${seconds} s per measurement, one client, sequential requests`,
);
console.log(
  `CPU: ${cpus()[0]?.model} x${cpus().length}; Node.js ${process.version}; ${spawnSync("ssh", ["-V"], { encoding: "utf8" }).stderr.trim()}`,
);
console.log("");
console.log("| key | jumpgate agent (sig/s) | OpenSSH ssh-agent (sig/s) | jumpgate / OpenSSH |");
console.log("|---|---:|---:|---:|");
for (const k of keys) {
  const blob = publicBlob(k.path);
  // Two runs of each, keeping the better one: a single run on a shared VM is noisy.
  const jg = Math.max(
    await signLoop(sockets.jumpgate, blob, k.flags),
    await signLoop(sockets.jumpgate, blob, k.flags),
  );
  const os = Math.max(
    await signLoop(sockets.openssh, blob, k.flags),
    await signLoop(sockets.openssh, blob, k.flags),
  );
  console.log(`| ${k.name} | ${jg.toFixed(0)} | ${os.toFixed(0)} | ${(jg / os).toFixed(2)} |`);
}
process.exit(0);
