/**
 * The dashboard's agent panel: the keys of the agent at $SSH_AUTH_SOCK (jumpgate's or OpenSSH's;
 * both answer the same list request), fetched every few seconds over one short-lived connection.
 * Without SSH_AUTH_SOCK the panel stays hidden and nothing is polled.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { AgentClient } from "../../agent/client.js";
import type { InputSource } from "../../dashboard/app.js";
import type { AgentKeyInfo } from "../../dashboard/types.js";

function readString(buf: Buffer, pos: number): { value: Buffer; next: number } | null {
  if (pos + 4 > buf.length) return null;
  const len = buf.readUInt32BE(pos);
  if (pos + 4 + len > buf.length) return null;
  return { value: buf.subarray(pos + 4, pos + 4 + len), next: pos + 4 + len };
}

function bitLength(mpint: Buffer): number {
  let i = 0;
  while (i < mpint.length && mpint[i] === 0) i++;
  if (i === mpint.length) return 0;
  return (mpint.length - i - 1) * 8 + (32 - Math.clz32(mpint[i]!));
}

/** Type and size of a public key blob, as ssh-add -l prints them (ED25519 256, RSA 3072...). */
export function describeKey(blob: Buffer, comment: string): AgentKeyInfo {
  const fingerprint = `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
  const first = readString(blob, 0);
  const keyType = first ? first.value.toString("latin1") : "unknown";
  let type = keyType;
  let bits = 0;
  if (keyType === "ssh-ed25519") [type, bits] = ["ED25519", 256];
  else if (keyType === "sk-ssh-ed25519@openssh.com") [type, bits] = ["ED25519-SK", 256];
  else if (keyType === "sk-ecdsa-sha2-nistp256@openssh.com") [type, bits] = ["ECDSA-SK", 256];
  else if (keyType.startsWith("ecdsa-sha2-nistp")) [type, bits] = ["ECDSA", Number(keyType.slice(-3))];
  else if (keyType === "ssh-rsa" && first) {
    const e = readString(blob, first.next);
    const n = e ? readString(blob, e.next) : null;
    [type, bits] = ["RSA", n ? bitLength(n.value) : 0];
  }
  return { fingerprint, comment, type, ...(bits > 0 ? { bits } : {}) };
}

/**
 * Which agent $SSH_AGENT_PID names, from its command line: jumpgate's agent and OpenSSH's print
 * the same eval-able lines, so the process is the only way to tell. Undefined when unknown.
 */
export function agentName(
  pid: string | undefined,
  readCmdline = (p: string) => readFileSync(`/proc/${p}/cmdline`, "latin1"),
): string | undefined {
  if (pid === undefined || !/^\d+$/.test(pid)) return undefined;
  let words: string[];
  try {
    words = readCmdline(pid).split("\0");
  } catch {
    return undefined;
  }
  if (words.some((w) => /(^|\/)jumpgate(\.js)?$/.test(w)) && words.includes("agent")) return "jumpgate agent";
  if (words.some((w) => /(^|\/)ssh-agent$/.test(w))) return "ssh-agent";
  return undefined;
}

export function agentSource(
  socketPath: string | undefined,
  intervalMs = 5000,
  pid = process.env.SSH_AGENT_PID,
): InputSource {
  return (dispatch) => {
    if (socketPath === undefined || socketPath === "") {
      dispatch({ type: "agent", keys: null });
      return () => {};
    }
    let last = "";
    let stopped = false;
    const poll = async (): Promise<void> => {
      let input: Parameters<typeof dispatch>[0];
      try {
        const client = await AgentClient.connect(socketPath);
        try {
          const ids = await client.list();
          const name = agentName(pid);
          input = {
            type: "agent",
            keys: ids.map((id) => describeKey(id.blob, id.comment)),
            ...(name === undefined ? {} : { name }),
          };
        } finally {
          client.close();
        }
      } catch (error) {
        input = { type: "agent", keys: null, error: error instanceof Error ? error.message : String(error) };
      }
      const text = JSON.stringify(input);
      if (!stopped && text !== last) {
        last = text;
        dispatch(input);
      }
    };
    void poll();
    const timer = setInterval(() => void poll(), intervalMs);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  };
}
