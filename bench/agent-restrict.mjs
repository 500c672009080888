#!/usr/bin/env node
// Benchmark: signatures per second with a destination-constrained key (ssh-add -h), jumpgate's
// agent vs OpenSSH's ssh-agent, one run. The client (this script) binds its agent connection to a
// host key with session-bind@openssh.com, as ssh does before authenticating, then sends sequential
// SIGN_REQUESTs for publickey userauth requests of that session: the path `ssh` takes, with every
// destination check the agents make on it. Usage: node bench/agent-restrict.mjs [--seconds 3]
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import ssh2 from "ssh2";

const seconds = Number(process.argv[process.argv.indexOf("--seconds") + 1]) || 3;
const dir = mkdtempSync(join(tmpdir(), "jg-bench-restrict-"));
const children = [];
process.on("exit", () => {
  for (const c of children) c.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
});
process.on("SIGINT", () => process.exit(130));

const keygen = (name) => {
  execFileSync("ssh-keygen", ["-q", "-N", "", "-t", "ed25519", "-C", name, "-f", join(dir, name)]);
  return join(dir, name);
};
const u32 = (n) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const str = (b) => Buffer.concat([u32(b.length), Buffer.from(b)]);
const frame = (body) => Buffer.concat([u32(body.length), body]);
const blobOf = (path) => Buffer.from(readFileSync(`${path}.pub`, "utf8").split(" ")[1], "base64");

function waitForSocket(path) {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (spawnSync("test", ["-S", path]).status === 0) return;
    spawnSync("sleep", ["0.05"]);
  }
  throw new Error(`agent socket ${path} did not appear`);
}

const userKey = keygen("user");
const hostKey = keygen("host");
const knownHosts = join(dir, "known_hosts");
writeFileSync(knownHosts, `benchhost ${readFileSync(`${hostKey}.pub`, "utf8")}`);
const host = ssh2.utils.parseKey(readFileSync(hostKey));
const sid = Buffer.alloc(32, 9);
const hostSig = Buffer.concat([str("ssh-ed25519"), str(host.sign(sid))]);
const userBlob = blobOf(userKey);
const hostBlob = blobOf(hostKey);

const sockets = { jumpgate: join(dir, "jumpgate.sock"), openssh: join(dir, "openssh.sock") };
children.push(spawn("ssh-agent", ["-D", "-a", sockets.openssh], { stdio: "ignore" }));
children.push(
  spawn(
    process.execPath,
    [new URL("../bin/jumpgate.js", import.meta.url).pathname, "agent", "-D", "-a", sockets.jumpgate],
    { stdio: "ignore" },
  ),
);
for (const sock of Object.values(sockets)) {
  waitForSocket(sock);
  execFileSync("ssh-add", ["-q", "-H", knownHosts, "-h", "benchhost", userKey], {
    env: { ...process.env, SSH_AUTH_SOCK: sock },
  });
}

/** Binds one connection, then signs userauth requests on it for `seconds`; signatures per second. */
function signLoop(socketPath) {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    const bind = frame(
      Buffer.concat([
        Buffer.from([27]),
        str("session-bind@openssh.com"),
        str(hostBlob),
        str(sid),
        str(hostSig),
        Buffer.from([0]),
      ]),
    );
    const userauth = Buffer.concat([
      str(sid),
      Buffer.from([50]),
      str("bench"),
      str("ssh-connection"),
      str("publickey-hostbound-v00@openssh.com"),
      Buffer.from([1]),
      str("ssh-ed25519"),
      str(userBlob),
      str(hostBlob),
    ]);
    const sign = frame(Buffer.concat([Buffer.from([13]), str(userBlob), str(userauth), u32(0)]));
    let bound = false;
    let count = 0;
    let pending = Buffer.alloc(0);
    let start = 0n;
    let end = 0n;
    sock.on("error", reject);
    sock.on("connect", () => sock.write(bind));
    sock.on("data", (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
        const type = pending[4];
        pending = pending.subarray(4 + pending.readUInt32BE(0));
        const expected = bound ? 14 : 6;
        if (type !== expected) {
          sock.destroy();
          reject(new Error(`agent answered type ${type}, expected ${expected}`));
          return;
        }
        const now = process.hrtime.bigint();
        if (!bound) {
          bound = true;
          start = now;
          end = start + BigInt(seconds * 1e9);
        } else if (++count && now >= end) {
          sock.end();
          resolve((count * 1e9) / Number(now - start));
          return;
        }
        sock.write(sign);
      }
    });
  });
}

console.log(
  `destination-constrained ed25519 key: userauth signatures per second on a bound connection, ${seconds} s`,
);
console.log(
  `CPU: ${cpus()[0]?.model} x${cpus().length}; Node.js ${process.version}; ${spawnSync("ssh", ["-V"], { encoding: "utf8" }).stderr.trim()}`,
);
console.log("");
console.log("| key | jumpgate agent (sig/s) | OpenSSH ssh-agent (sig/s) | jumpgate / OpenSSH |");
console.log("|---|---:|---:|---:|");
const jg = Math.max(await signLoop(sockets.jumpgate), await signLoop(sockets.jumpgate));
const os = Math.max(await signLoop(sockets.openssh), await signLoop(sockets.openssh));
console.log(`| ed25519, -h benchhost | ${jg.toFixed(0)} | ${os.toFixed(0)} | ${(jg / os).toFixed(2)} |`);
process.exit(0);
