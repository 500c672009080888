/**
 * The manager's HopSecurity, composed from the host key policy (hostkey.ts) and user
 * authentication (auth.ts), with one prompter for both. Kept apart so the manager stays about
 * sharing connections and tests can inject their own policy.
 */
import type { ResolvedHop } from "../config/resolve.js";
import type { Logger } from "../util/log.js";
import { createAuthHandler } from "./auth.js";
import { verifyHostKey } from "./hostkey.js";
import type { HopAuth, HopSecurity } from "./manager.js";
import { createPrompter, type Prompter } from "./prompt.js";
import type { HostKey } from "./session.js";

export interface SecurityOptions {
  log: Logger;
  batchMode: boolean;
  /** Defaults to the terminal / SSH_ASKPASS prompter (or none under BatchMode). */
  prompter?: Prompter;
  /** Where OpenSSH-style warnings go (default stderr). */
  warn?: (text: string) => void;
}

export function createSecurity(opts: SecurityOptions): HopSecurity {
  const prompter = opts.prompter ?? createPrompter({ batchMode: opts.batchMode });
  const warn = opts.warn ?? ((text: string) => process.stderr.write(`${text}\n`));
  return {
    async verifyHostKey(hop: ResolvedHop, key: HostKey, address?: string) {
      const o = hop.resolved.options;
      const verdict = await verifyHostKey({
        options: o,
        hostname: hop.hop.hostname,
        port: hop.hop.port,
        ...(address === undefined ? {} : { address }),
        key,
        // Each hop may have its own BatchMode: a prompt is offered only where it is allowed.
        ...(o.batchMode === 1 || !prompter.available()
          ? {}
          : { prompt: (question: string) => prompter.ask(question, { echo: true }) }),
        warn,
        info: (text) => {
          if (opts.log.enabled("INFO")) warn(text);
        },
        debug: (text) => opts.log.debug(text),
        displayName: hop.hop.name,
      });
      return {
        recorded: verdict.trust === "added" || verdict.trust === "confirmed",
        fingerprint: verdict.fingerprint,
        keyType: verdict.keyType,
      };
    },
    auth(hop: ResolvedHop): HopAuth {
      const handler = createAuthHandler({
        options: hop.resolved.options,
        username: hop.hop.user,
        // ssh names the HostName in "Permission denied" messages.
        host: hop.hop.hostname,
        prompter,
        log: opts.log,
      });
      return {
        handler: handler.authHandler,
        failure: () => handler.failure(),
        classifyError: (error) => handler.classifyError(error),
        method: () => handler.authenticatedMethod(),
      };
    },
  };
}
