/**
 * The add form's check of a forward specification: the same parser as `ssh -L/-R/-D` and the
 * config's LocalForward (config/forward.ts), with messages that show the expected shape. Lives in
 * the CLI because the dashboard does not import config/ (it gets this function injected).
 */
import { parseForwardOf } from "../../config/forward.js";
import type { ForwardKind } from "../../dashboard/keys.js";

const SHAPES: Record<ForwardKind, string> = {
  local: "[bind_address:]port:host:hostport, or with a socket path on either side",
  remote: "[bind_address:]port:host:hostport (port 0: the server picks one), or with socket paths",
  dynamic: "[bind_address:]port",
};

export function validateForward(kind: ForwardKind, spec: string): string | null {
  // Checked as typed, like a -L/-R/-D argument: no ${VAR} expansion.
  const parsed = parseForwardOf(kind, spec, (s) => s);
  if (parsed !== null) return null;
  return `Bad ${kind} forwarding specification '${spec}': expected ${SHAPES[kind]}.`;
}
