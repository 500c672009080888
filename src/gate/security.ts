/**
 * The gate's HopSecurity. The gate has no terminal, and one manager serves many CLIs, so host key
 * questions, passphrases and warnings belong to whichever CLI asked for the connection. Each
 * request's hops are tagged with that request's context (prompter relayed over the protocol, its
 * environment for $SSH_AUTH_SOCK and `~`); the manager hands the same hop objects back when it
 * opens the connection, so the question reaches the right CLI.
 */

import type { ConfigEnvironment } from "../config/environment.js";
import type { ResolvedHop } from "../config/resolve.js";
import { createAuthHandler } from "../connection/auth.js";
import { verifyHostKey } from "../connection/hostkey.js";
import type { HopAuth, HopSecurity } from "../connection/manager.js";
import { createBatchModePrompter, type Prompter } from "../connection/prompt.js";
import type { HostKey } from "../connection/session.js";
import { JumpgateError } from "../errors.js";
import type { Logger } from "../util/log.js";

export interface RequestContext {
  /** Relays questions to the CLI that made the request (or refuses under BatchMode). */
  prompter: Prompter;
  /** OpenSSH-style warnings for that CLI's stderr. */
  warn(text: string): void;
  env: ConfigEnvironment;
}

export class GateSecurity implements HopSecurity {
  private readonly contexts = new WeakMap<ResolvedHop, RequestContext>();

  constructor(private readonly log: Logger) {}

  /** Ties every hop of one request to that request's CLI. */
  tag(hops: readonly ResolvedHop[], context: RequestContext): void {
    for (const hop of hops) this.contexts.set(hop, context);
  }

  private contextOf(hop: ResolvedHop): RequestContext {
    const context = this.contexts.get(hop);
    if (context === undefined) {
      throw new JumpgateError("JG_INTERNAL", `gate: no request context for hop ${hop.hop.name}.`);
    }
    return context;
  }

  async verifyHostKey(hop: ResolvedHop, key: HostKey, address?: string) {
    const context = this.contextOf(hop);
    const o = hop.resolved.options;
    const prompter = o.batchMode === 1 ? createBatchModePrompter() : context.prompter;
    const verdict = await verifyHostKey({
      options: o,
      hostname: hop.hop.hostname,
      port: hop.hop.port,
      ...(address === undefined ? {} : { address }),
      key,
      ...(prompter.available()
        ? { prompt: (question: string) => prompter.ask(question, { echo: true }) }
        : {}),
      warn: (text) => context.warn(text),
      debug: (text) => this.log.debug(text),
      displayName: hop.hop.name,
      homes: context.env,
    });
    return {
      recorded: verdict.trust === "added" || verdict.trust === "confirmed",
      fingerprint: verdict.fingerprint,
      keyType: verdict.keyType,
    };
  }

  auth(hop: ResolvedHop): HopAuth {
    const context = this.contextOf(hop);
    const o = hop.resolved.options;
    const handler = createAuthHandler({
      options: o,
      username: hop.hop.user,
      host: hop.hop.hostname,
      prompter: o.batchMode === 1 ? createBatchModePrompter() : context.prompter,
      log: this.log,
      env: context.env,
    });
    return {
      handler: handler.authHandler,
      failure: () => handler.failure(),
      classifyError: (error) => handler.classifyError(error),
      method: () => handler.authenticatedMethod(),
    };
  }
}
