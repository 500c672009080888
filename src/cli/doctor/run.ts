/**
 * `jumpgate doctor`: what jumpgate runs on, and whether the fast paths are in use. The one that
 * matters most for tunnels is ssh2's native crypto binding (lib/protocol/crypto/build/Release/
 * sshcrypto.node, built by ssh2's install script): without it chacha20-poly1305 runs through a
 * WebAssembly poly1305 and bulk forwarding is several times slower. npm 11 skips install scripts
 * unless allowed (package.json's allowScripts), so a fresh install can silently lack it.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

export interface CipherPath {
  cipher: string;
  /** "binding": ssh2's C++ binding (OpenSSL); "node": Node's crypto; "node+wasm": Node + WASM poly1305. */
  implementation: "binding" | "node" | "node+wasm";
}

export interface DoctorReport {
  node: string;
  platform: string;
  openssl: string;
  ssh2: { version: string; path: string };
  binding: { loaded: boolean; path: string; error: string | null };
  cpuFeatures: boolean;
  ciphers: CipherPath[];
  openssh: string | null;
  problems: string[];
}

interface Ssh2Crypto {
  bindingAvailable: boolean;
}

const CIPHERS = [
  "aes128-gcm@openssh.com",
  "aes256-gcm@openssh.com",
  "chacha20-poly1305@openssh.com",
  "aes128-ctr",
  "aes256-ctr",
] as const;

export function doctorReport(): DoctorReport {
  const require = createRequire(import.meta.url);
  const ssh2Main = require.resolve("ssh2");
  const ssh2Root = dirname(dirname(ssh2Main));
  const version = (require(join(ssh2Root, "package.json")) as { version: string }).version;
  const bindingPath = join(ssh2Root, "lib/protocol/crypto/build/Release/sshcrypto.node");
  let loaded = false;
  let error: string | null = null;
  try {
    // Loading it directly tells why it fails (missing, wrong ABI); ssh2 itself only says yes/no.
    require(bindingPath);
    loaded = (require(join(ssh2Root, "lib/protocol/crypto.js")) as Ssh2Crypto).bindingAvailable;
  } catch (e) {
    error = existsSync(bindingPath) ? ((e as Error).message.split("\n")[0] ?? "load failed") : "not built";
  }
  let cpuFeatures = false;
  try {
    require.resolve("cpu-features", { paths: [ssh2Root] });
    cpuFeatures = true;
  } catch {
    // Optional: ssh2 then cannot tell whether AES is hardware-accelerated when ordering ciphers.
  }
  const ciphers = CIPHERS.map((cipher): CipherPath => {
    if (loaded) return { cipher, implementation: "binding" };
    return { cipher, implementation: cipher.startsWith("chacha20") ? "node+wasm" : "node" };
  });
  const problems: string[] = [];
  if (!loaded) {
    problems.push(
      `ssh2's native crypto binding is not loaded (${error}): chacha20-poly1305 falls back to WebAssembly and tunnels are slower. Fix: 'npm rebuild ssh2' (npm 11 needs ssh2 in allowScripts), with a C++ compiler and python3 installed.`,
    );
  }
  return {
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    openssl: process.versions.openssl ?? "unknown",
    ssh2: { version, path: ssh2Root },
    binding: { loaded, path: bindingPath, error },
    cpuFeatures,
    ciphers,
    openssh: opensshVersion(),
    problems,
  };
}

function opensshVersion(): string | null {
  // ssh -V prints its version on stderr.
  const r = spawnSync("ssh", ["-V"], { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  if (r.error !== undefined) return null;
  return `${r.stderr}${r.stdout}`.trim() || null;
}

export function formatReport(r: DoctorReport): string {
  const lines = [
    `node        ${r.node} (${r.platform}, OpenSSL ${r.openssl})`,
    `ssh2        ${r.ssh2.version} (${r.ssh2.path})`,
    `binding     ${r.binding.loaded ? "loaded" : `NOT loaded: ${r.binding.error}`} (${r.binding.path})`,
    `cpu-features ${r.cpuFeatures ? "present" : "absent"}`,
    "ciphers     " +
      r.ciphers
        .map(
          (c) =>
            `${c.cipher}: ${c.implementation === "binding" ? "native binding" : c.implementation === "node" ? "Node crypto" : "Node crypto + WASM poly1305"}`,
        )
        .join("\n            "),
    `openssh     ${r.openssh ?? "not found"}`,
  ];
  for (const p of r.problems) lines.push(`problem     ${p}`);
  if (r.problems.length === 0) lines.push("ok          nothing to fix");
  return `${lines.join("\n")}\n`;
}

export function runDoctor(opts: { json: boolean }): number {
  const report = doctorReport();
  process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return report.problems.length === 0 ? 0 : 1;
}
