/**
 * From ssh_config's algorithm lists to what ssh2 can negotiate. OpenSSH's defaults name a few
 * algorithms ssh2 lacks (umac, sntrup761x25519): those are quietly left out, since nobody asked
 * for them. A name the user wrote that ssh2 cannot do is an error: silently negotiating something
 * else would betray the config.
 */
import { createRequire } from "node:module";
import {
  ALL_CIPHERS,
  ALL_KEX,
  ALL_KEY_ALGS,
  ALL_MACS,
  assembleNames,
  DEFAULT_KEY_ALGS,
} from "../config/algorithms.js";
import type { AlgorithmOption, Options } from "../config/options.js";
import { JumpgateError } from "../errors.js";
import { filterList } from "../util/patterns.js";

interface Ssh2Constants {
  SUPPORTED_KEX: string[];
  SUPPORTED_SERVER_HOST_KEY: string[];
  SUPPORTED_CIPHER: string[];
  SUPPORTED_MAC: string[];
}

// ssh2 does not export its supported lists publicly; they live in its protocol constants.
const ssh2Constants = createRequire(import.meta.url)("ssh2/lib/protocol/constants.js") as Ssh2Constants;

export interface Ssh2Algorithms {
  kex: string[];
  serverHostKey: string[];
  cipher: string[];
  hmac: string[];
  compress: string[];
}

const KEYWORD: Record<AlgorithmOption, string> = {
  ciphers: "Ciphers",
  macs: "MACs",
  kexAlgorithms: "KexAlgorithms",
  hostKeyAlgorithms: "HostKeyAlgorithms",
};

const ALL: Record<AlgorithmOption, string> = {
  ciphers: ALL_CIPHERS,
  macs: ALL_MACS,
  kexAlgorithms: ALL_KEX,
  hostKeyAlgorithms: ALL_KEY_ALGS,
};

/** Names the user asked for explicitly (wildcards expanded against everything OpenSSH knows). */
function namesAskedFor(written: string, option: AlgorithmOption): string[] {
  if (written.startsWith("-")) return [];
  const list = written.startsWith("+") || written.startsWith("^") ? written.slice(1) : written;
  return list
    .split(",")
    .filter((n) => n !== "")
    .flatMap((pattern) =>
      /[*?]/.test(pattern) ? filterList(ALL[option], pattern, "allow").split(",") : [pattern],
    )
    .filter((n) => n !== "");
}

function mapList(
  o: Options,
  option: AlgorithmOption,
  assembled: string,
  supported: readonly string[],
): string[] {
  const written = o.algorithmsAsWritten[option];
  const where = o.origins[option];
  if (written !== undefined) {
    const missing = namesAskedFor(written, option).filter(
      (name) => !supported.includes(name) && !(option === "hostKeyAlgorithms" && name.includes("-cert-v01@")),
    );
    if (missing.length > 0) {
      throw new JumpgateError(
        "JG_ALGORITHM_UNSUPPORTED",
        `${where ? `${where.file} line ${where.line}: ` : ""}${KEYWORD[option]} names ${missing.join(", ")}, which jumpgate's SSH library (ssh2) does not implement. Supported: ${supported.join(",")}.`,
      );
    }
  }
  const usable = assembled.split(",").filter((name) => supported.includes(name));
  if (usable.length === 0) {
    throw new JumpgateError(
      "JG_ALGORITHM_UNSUPPORTED",
      `${KEYWORD[option]} leaves no algorithm jumpgate can use. Supported: ${supported.join(",")}.`,
    );
  }
  return usable;
}

/** The ssh2 `algorithms` option for resolved options (after fillDefaults). */
export function ssh2Algorithms(o: Options): Ssh2Algorithms {
  const hostKeyList =
    assembleNames(o.hostKeyAlgorithms ?? undefined, DEFAULT_KEY_ALGS, ALL_KEY_ALGS) ?? DEFAULT_KEY_ALGS;
  return {
    kex: mapList(o, "kexAlgorithms", o.kexAlgorithms ?? "", ssh2Constants.SUPPORTED_KEX),
    serverHostKey: mapList(o, "hostKeyAlgorithms", hostKeyList, ssh2Constants.SUPPORTED_SERVER_HOST_KEY),
    cipher: mapList(o, "ciphers", o.ciphers ?? "", ssh2Constants.SUPPORTED_CIPHER),
    hmac: mapList(o, "macs", o.macs ?? "", ssh2Constants.SUPPORTED_MAC),
    compress: o.compression ? ["zlib@openssh.com", "zlib", "none"] : ["none"],
  };
}
