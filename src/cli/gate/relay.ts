/**
 * What every CLI that works through the gate (ssh, cp, push, pull, tunnels) sends and answers the
 * same way: its environment (the gate resolves `~`, `${VAR}` and the agent as this process would),
 * and the gate's questions (host keys, passphrases), asked on this process's terminal or
 * SSH_ASKPASS. Answers are never logged.
 */
import type { GateClient } from "../../gate/client.js";
import { type ControlMessage, encodeControl } from "../../gate/protocol.js";

export function clientEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  return env;
}

export async function answerPrompt(
  client: GateClient,
  m: Extract<ControlMessage, { t: "prompt" }>,
): Promise<void> {
  try {
    const { createPrompter } = await import("../../connection/prompt.js");
    const answer = await createPrompter({ batchMode: false }).ask(m.question, { echo: m.echo === true });
    client.send(encodeControl({ t: "answer", id: m.id, answer }));
  } catch (error) {
    const reason = (error as { reason?: string }).reason ?? "unavailable";
    const message = error instanceof Error ? error.message : String(error);
    client.send(encodeControl({ t: "answer", id: m.id, refused: reason, message }));
  }
}
