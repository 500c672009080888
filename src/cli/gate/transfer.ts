/**
 * `cp`, `push` and `pull` through a running gate, the CLI's half: send the request (absolute local
 * paths, this process's cwd and environment for config resolution), feed the progress events that
 * come back to the usual reporter, answer the gate's questions (host keys, passphrases) on this
 * terminal as `jumpgate ssh` does through the gate, and turn Ctrl-C into a cancel of this transfer
 * only. The gate's transfer, its connections and other CLIs are untouched by this process dying.
 */

import { isJumpgateError, type JumpgateError } from "../../errors.js";
import type { GateClient } from "../../gate/client.js";
import { errorFromWire } from "../../gate/client.js";
import type { WireError } from "../../gate/protocol.js";
import type { TransferArgs, TransferRequestEvent, TransferResult } from "../../gate/transfer.js";
import type { ProgressListener, TransferEvent } from "../../transfer/progress.js";
import { answerPrompt } from "./relay.js";

export interface GateTransferHooks {
  /** The reporter's listener. */
  onProgress: ProgressListener;
  /** A failure that did not stop the transfer (cp goes on with the other files). */
  onError?(error: JumpgateError): void;
  /** One of the gate's messages (warnings such as "Permanently added ...") for stderr. */
  message(text: string): void;
  /** pull: an archive entry refused or changed (`refused x: why`, `note: x: why`). */
  entry?(line: string): void;
  /** What a Ctrl-C ends the transfer with (the gate aborts with it; tar reports it as is). */
  interrupted(): WireError;
}

/** Whether cp/push/pull may use a running gate (as `jumpgate ssh`: JUMPGATE_NO_GATE=1 forces direct). */
export function transferGateEligible(verbosity: number): boolean {
  if (process.env.JUMPGATE_NO_GATE === "1") return false;
  // -v wants this process's debug output of the connection, which happens in the gate.
  return verbosity === 0;
}

/** The running gate, or null (none, or a stale socket): the command then connects directly. */
export async function runningGate(): Promise<GateClient | null> {
  const { connectIfRunning } = await import("../../gate/client.js");
  return (await connectIfRunning())?.client ?? null;
}

/**
 * Runs one transfer through the gate. Resolves with its result, or null when the gate is older
 * than transfers (the caller then runs it directly); rejects with the gate's error (its jumpgate
 * code and message) or JG_GATE_LOST when the gate goes away meanwhile. Closes the client when done.
 */
export async function transferThroughGate(
  client: GateClient,
  args: TransferArgs,
  hooks: GateTransferHooks,
): Promise<TransferResult | null> {
  let requestId = -1;
  let cancelled = false;
  client.onControl = (m) => {
    if (m.t === "prompt") void answerPrompt(client, m);
    else if (m.t === "message") hooks.message(m.text);
  };
  const onEvent = (raw: unknown) => {
    const event = raw as TransferRequestEvent;
    if (event.kind === "refused") hooks.entry?.(`refused ${event.path}: ${event.reason}`);
    else if (event.kind === "note") hooks.entry?.(`note: ${event.path}: ${event.reason}`);
    else {
      hooks.onProgress(event as TransferEvent);
      // cp's per-file failures (the copy goes on); tar's "error" event is its final failure, which
      // the response carries.
      if (event.kind === "error" && args.op === "cp" && hooks.onError)
        hooks.onError(errorFromWire({ code: event.code ?? "JG_CP_IO", message: event.message }));
    }
  };
  const onSignal = () => {
    if (cancelled || requestId < 0) return;
    cancelled = true;
    // The response still comes (the gate removes the partial file first), then we exit.
    client.request("transfer.cancel", { id: requestId, error: hooks.interrupted() }).catch(() => {});
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    return await client.request<TransferResult>("transfer", args, {
      onEvent,
      onId: (id) => {
        requestId = id;
      },
    });
  } catch (error) {
    // A gate started by an earlier jumpgate (same protocol version) does not know the op yet.
    if (
      isJumpgateError(error) &&
      error.code === "JG_GATE_PROTOCOL" &&
      /Unknown gate operation/.test(error.message)
    )
      return null;
    if (cancelled && isJumpgateError(error) && error.code === "JG_GATE_LOST")
      throw errorFromWire(hooks.interrupted());
    throw error;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    client.onControl = () => {};
    client.close();
  }
}
