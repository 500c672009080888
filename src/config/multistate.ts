/**
 * The keyword value tables of readconf.c (multistate_*): which words a keyword accepts and the
 * number each stands for. `ssh -G` prints a value as the first word in its table with that number,
 * so parsing (handlers.ts) and printing (dump.ts) share these tables.
 */
import {
  ADDRESS_FAMILY,
  CANONICALIZE,
  CONTROL_MASTER,
  PUBKEY_AUTH,
  REQUEST_TTY,
  SESSION_TYPE,
  STRICT_HOSTKEY,
  TUNNEL_MODE,
} from "./options.js";

export type Multistate = Readonly<Record<string, number>>;

export const FLAG: Multistate = { true: 1, false: 0, yes: 1, no: 0 };
export const YESNOASK: Multistate = { ...FLAG, ask: 2 };
export const STRICT: Multistate = {
  true: STRICT_HOSTKEY.yes,
  false: STRICT_HOSTKEY.off,
  yes: STRICT_HOSTKEY.yes,
  no: STRICT_HOSTKEY.off,
  ask: STRICT_HOSTKEY.ask,
  off: STRICT_HOSTKEY.off,
  "accept-new": STRICT_HOSTKEY.new,
};
export const YESNOASKCONFIRM: Multistate = { ...YESNOASK, confirm: 3 };
export const ADDRESS: Multistate = {
  inet: ADDRESS_FAMILY.inet,
  inet6: ADDRESS_FAMILY.inet6,
  any: ADDRESS_FAMILY.any,
};
export const CONTROLMASTER: Multistate = {
  true: CONTROL_MASTER.yes,
  yes: CONTROL_MASTER.yes,
  false: CONTROL_MASTER.no,
  no: CONTROL_MASTER.no,
  auto: CONTROL_MASTER.auto,
  ask: CONTROL_MASTER.ask,
  autoask: CONTROL_MASTER.autoask,
};
export const TUNNEL: Multistate = {
  ethernet: TUNNEL_MODE.ethernet,
  "point-to-point": TUNNEL_MODE.pointopoint,
  true: TUNNEL_MODE.default,
  yes: TUNNEL_MODE.default,
  false: TUNNEL_MODE.no,
  no: TUNNEL_MODE.no,
};
export const REQUESTTTY: Multistate = {
  true: REQUEST_TTY.yes,
  yes: REQUEST_TTY.yes,
  false: REQUEST_TTY.no,
  no: REQUEST_TTY.no,
  force: REQUEST_TTY.force,
  auto: REQUEST_TTY.auto,
};
export const SESSIONTYPE: Multistate = {
  none: SESSION_TYPE.none,
  subsystem: SESSION_TYPE.subsystem,
  default: SESSION_TYPE.default,
};
export const CANONICALIZEHOSTNAME: Multistate = {
  true: CANONICALIZE.yes,
  false: CANONICALIZE.no,
  yes: CANONICALIZE.yes,
  no: CANONICALIZE.no,
  always: CANONICALIZE.always,
};
export const PUBKEYAUTH: Multistate = {
  true: PUBKEY_AUTH.all,
  false: PUBKEY_AUTH.no,
  yes: PUBKEY_AUTH.all,
  no: PUBKEY_AUTH.no,
  unbound: PUBKEY_AUTH.unbound,
  "host-bound": PUBKEY_AUTH.hbound,
};
export const COMPRESSION: Multistate = { yes: 1, no: 0 };

/** fmt_multistate_int(): the first word for `value`, "unset" for -1, "UNKNOWN" otherwise. */
export function multistateName(table: Multistate, value: number): string {
  if (value === -1) return "unset";
  for (const [name, v] of Object.entries(table)) if (v === value) return name;
  return "UNKNOWN";
}
