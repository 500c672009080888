/**
 * The client options record, a port of readconf.h's Options: -1 (ints) and null (strings) mean
 * "not set yet". Config sources are read in precedence order and only unset values are filled
 * (first obtained value wins); fillDefaults() then supplies OpenSSH's defaults.
 */
import {
  ALL_CIPHERS,
  ALL_KEX,
  ALL_KEY_ALGS,
  ALL_MACS,
  ALL_SIG_ALGS,
  assembleNames,
  DEFAULT_CA_SIG_ALGS,
  DEFAULT_CIPHERS,
  DEFAULT_GSS_KEX,
  DEFAULT_KEX,
  DEFAULT_KEY_ALGS,
  DEFAULT_MACS,
} from "./algorithms.js";
import type { Forward } from "./forward.js";
import { TUNID_ANY } from "./values.js";

/** Where a value came from, so later stages (token expansion) can name the line in errors. */
export interface Origin {
  file: string;
  line: number;
}

export interface Options {
  hostArg: string | null;
  forwardAgent: number;
  forwardAgentSockPath: string | null;
  forwardX11: number;
  forwardX11Trusted: number;
  forwardX11Timeout: number;
  clearForwardings: number;
  exitOnForwardFailure: number;
  xauthLocation: string | null;
  gatewayPorts: number;
  streamlocalBindMask: number;
  streamlocalBindUnlink: number;
  pubkeyAuthentication: number;
  gssAuthentication: number;
  gssKeyex: number;
  gssDelegCreds: number;
  gssTrustDns: number;
  gssRenewalRekey: number;
  gssClientIdentity: string | null;
  gssServerIdentity: string | null;
  gssKexAlgorithms: string | null;
  passwordAuthentication: number;
  kbdInteractiveAuthentication: number;
  kbdInteractiveDevices: string | null;
  hostbasedAuthentication: number;
  batchMode: number;
  checkHostIp: number;
  strictHostKeyChecking: number;
  compression: number;
  tcpKeepAlive: number;
  port: number;
  addressFamily: number;
  connectionAttempts: number;
  connectionTimeout: number;
  numberOfPasswordPrompts: number;
  ciphers: string | null;
  macs: string | null;
  kexAlgorithms: string | null;
  hostKeyAlgorithms: string | null;
  caSignAlgorithms: string | null;
  identityFiles: string[];
  identityFileUserProvided: boolean[];
  certificateFiles: string[];
  certificateFileUserProvided: boolean[];
  hostname: string | null;
  hostKeyAlias: string | null;
  proxyCommand: string | null;
  jumpUser: string | null;
  jumpHost: string | null;
  jumpPort: number;
  jumpExtra: string | null;
  user: string | null;
  escapeChar: number;
  systemHostfiles: string[];
  userHostfiles: string[];
  localForwards: Forward[];
  remoteForwards: Forward[];
  permittedRemoteOpens: string[];
  logFacility: string | null;
  logLevel: string | null;
  logVerbose: string[];
  preferredAuthentications: string | null;
  bindAddress: string | null;
  bindInterface: string | null;
  pkcs11Provider: string | null;
  skProvider: string | null;
  enableSshKeysign: number;
  noHostAuthenticationForLocalhost: number;
  identitiesOnly: number;
  rekeyLimit: bigint;
  rekeyInterval: number;
  verifyHostKeyDns: number;
  serverAliveInterval: number;
  serverAliveCountMax: number;
  sendEnv: string[];
  setEnv: string[];
  controlPath: string | null;
  controlMaster: number;
  controlPersist: number;
  controlPersistTimeout: number;
  hashKnownHosts: number;
  tunOpen: number;
  tunLocal: number;
  tunRemote: number;
  localCommand: string | null;
  permitLocalCommand: number;
  remoteCommand: string | null;
  addKeysToAgent: number;
  addKeysToAgentLifespan: number;
  identityAgent: string | null;
  visualHostKey: number;
  ipQosInteractive: number;
  ipQosBulk: number;
  requestTty: number;
  sessionType: number;
  stdinNull: number;
  forkAfterAuthentication: number;
  proxyUseFdpass: number;
  ignoredUnknown: string | null;
  canonicalDomains: string[];
  permittedCnames: Array<{ source: string; target: string }>;
  canonicalizeMaxDots: number;
  canonicalizeFallbackLocal: number;
  canonicalizeHostname: number;
  revokedHostKeys: string | null;
  fingerprintHash: number;
  updateHostkeys: number;
  hostbasedAcceptedAlgos: string | null;
  pubkeyAcceptedAlgos: string | null;
  knownHostsCommand: string | null;
  requiredRsaSize: number;
  enableEscapeCommandline: number;
  /** Where selected string values were set (for error messages after parsing). */
  origins: Partial<Record<string, Origin>>;
  /**
   * Algorithm lists as the user wrote them (before defaults were merged in), so the connection
   * layer can tell a name the user asked for from one that only came with the defaults.
   */
  algorithmsAsWritten: Partial<Record<AlgorithmOption, string>>;
}

export type AlgorithmOption = "ciphers" | "macs" | "kexAlgorithms" | "hostKeyAlgorithms";

/** Multistate values, named as OpenSSH's enums. */
export const STRICT_HOSTKEY = { off: 0, new: 1, yes: 2, ask: 3 } as const;
export const CONTROL_MASTER = { no: 0, yes: 1, ask: 2, auto: 3, autoask: 4 } as const;
export const TUNNEL_MODE = { no: 0, pointopoint: 1, ethernet: 2, default: 1 } as const;
export const REQUEST_TTY = { no: 0, yes: 1, force: 2, auto: 3 } as const;
export const SESSION_TYPE = { none: 0, subsystem: 1, default: 2 } as const;
export const CANONICALIZE = { no: 0, yes: 1, always: 2 } as const;
export const PUBKEY_AUTH = { no: 0, unbound: 1, hbound: 2, all: 3 } as const;
export const ADDRESS_FAMILY = { any: 0, inet: 2, inet6: 10 } as const;
/** ssh_digest ids used by FingerprintHash. */
export const FP_HASH = { md5: 0, sha1: 1, sha256: 2 } as const;
export const ESCAPECHAR_NONE = -2;

export function initialOptions(): Options {
  return {
    hostArg: null,
    forwardAgent: -1,
    forwardAgentSockPath: null,
    forwardX11: -1,
    forwardX11Trusted: -1,
    forwardX11Timeout: -1,
    clearForwardings: -1,
    exitOnForwardFailure: -1,
    xauthLocation: null,
    gatewayPorts: -1,
    streamlocalBindMask: -1,
    streamlocalBindUnlink: -1,
    pubkeyAuthentication: -1,
    gssAuthentication: -1,
    gssKeyex: -1,
    gssDelegCreds: -1,
    gssTrustDns: -1,
    gssRenewalRekey: -1,
    gssClientIdentity: null,
    gssServerIdentity: null,
    gssKexAlgorithms: null,
    passwordAuthentication: -1,
    kbdInteractiveAuthentication: -1,
    kbdInteractiveDevices: null,
    hostbasedAuthentication: -1,
    batchMode: -1,
    checkHostIp: -1,
    strictHostKeyChecking: -1,
    compression: -1,
    tcpKeepAlive: -1,
    port: -1,
    addressFamily: -1,
    connectionAttempts: -1,
    connectionTimeout: -1,
    numberOfPasswordPrompts: -1,
    ciphers: null,
    macs: null,
    kexAlgorithms: null,
    hostKeyAlgorithms: null,
    caSignAlgorithms: null,
    identityFiles: [],
    identityFileUserProvided: [],
    certificateFiles: [],
    certificateFileUserProvided: [],
    hostname: null,
    hostKeyAlias: null,
    proxyCommand: null,
    jumpUser: null,
    jumpHost: null,
    jumpPort: -1,
    jumpExtra: null,
    user: null,
    escapeChar: -1,
    systemHostfiles: [],
    userHostfiles: [],
    localForwards: [],
    remoteForwards: [],
    permittedRemoteOpens: [],
    logFacility: null,
    logLevel: null,
    logVerbose: [],
    preferredAuthentications: null,
    bindAddress: null,
    bindInterface: null,
    pkcs11Provider: null,
    skProvider: null,
    enableSshKeysign: -1,
    noHostAuthenticationForLocalhost: -1,
    identitiesOnly: -1,
    rekeyLimit: -1n,
    rekeyInterval: -1,
    verifyHostKeyDns: -1,
    serverAliveInterval: -1,
    serverAliveCountMax: -1,
    sendEnv: [],
    setEnv: [],
    controlPath: null,
    controlMaster: -1,
    controlPersist: -1,
    controlPersistTimeout: 0,
    hashKnownHosts: -1,
    tunOpen: -1,
    tunLocal: -1,
    tunRemote: -1,
    localCommand: null,
    permitLocalCommand: -1,
    remoteCommand: null,
    addKeysToAgent: -1,
    addKeysToAgentLifespan: -1,
    identityAgent: null,
    visualHostKey: -1,
    ipQosInteractive: -1,
    ipQosBulk: -1,
    requestTty: -1,
    sessionType: -1,
    stdinNull: -1,
    forkAfterAuthentication: -1,
    proxyUseFdpass: -1,
    ignoredUnknown: null,
    canonicalDomains: [],
    permittedCnames: [],
    canonicalizeMaxDots: -1,
    canonicalizeFallbackLocal: -1,
    canonicalizeHostname: -1,
    revokedHostKeys: null,
    fingerprintHash: -1,
    updateHostkeys: -1,
    hostbasedAcceptedAlgos: null,
    pubkeyAcceptedAlgos: null,
    knownHostsCommand: null,
    requiredRsaSize: -1,
    enableEscapeCommandline: -1,
    origins: {},
    algorithmsAsWritten: {},
  };
}

/** add_identity_file(): no duplicates from the same kind of source. */
export function addIdentityFile(o: Options, path: string, userProvided: boolean): void {
  for (let i = 0; i < o.identityFiles.length; i++) {
    if (o.identityFileUserProvided[i] === userProvided && o.identityFiles[i] === path) return;
  }
  o.identityFiles.push(path);
  o.identityFileUserProvided.push(userProvided);
}

export function addCertificateFile(o: Options, path: string, userProvided: boolean): void {
  for (let i = 0; i < o.certificateFiles.length; i++) {
    if (o.certificateFileUserProvided[i] === userProvided && o.certificateFiles[i] === path) return;
  }
  o.certificateFiles.push(path);
  o.certificateFileUserProvided.push(userProvided);
}

/** fill_default_options_for_canonicalization(). */
export function fillCanonicalizationDefaults(o: Options): void {
  if (o.canonicalizeMaxDots === -1) o.canonicalizeMaxDots = 1;
  if (o.canonicalizeFallbackLocal === -1) o.canonicalizeFallbackLocal = 1;
  if (o.canonicalizeHostname === -1) o.canonicalizeHostname = CANONICALIZE.no;
}

function isClearOrNone(value: string | null): boolean {
  return value === null || value.toLowerCase() === "none";
}

/**
 * fill_default_options(). Returns the name of the algorithm list that assembled to nothing, if
 * any (OpenSSH refuses to continue then).
 */
export function fillDefaults(o: Options, stdioForward = false): string | null {
  const def = (v: number, d: number) => (v === -1 ? d : v);
  o.forwardAgent = def(o.forwardAgent, 0);
  o.forwardX11 = def(o.forwardX11, 0);
  // Debian patches ForwardX11Trusted to default to yes.
  o.forwardX11Trusted = def(o.forwardX11Trusted, 1);
  o.forwardX11Timeout = def(o.forwardX11Timeout, 1200);
  o.exitOnForwardFailure = def(o.exitOnForwardFailure, stdioForward ? 1 : 0);
  o.clearForwardings = def(o.clearForwardings, stdioForward ? 1 : 0);
  if (o.clearForwardings === 1) {
    o.localForwards = [];
    o.remoteForwards = [];
    o.tunOpen = TUNNEL_MODE.no;
  }
  o.xauthLocation ??= "/usr/bin/xauth";
  o.gatewayPorts = def(o.gatewayPorts, 0);
  o.streamlocalBindMask = def(o.streamlocalBindMask, 0o177);
  o.streamlocalBindUnlink = def(o.streamlocalBindUnlink, 0);
  o.pubkeyAuthentication = def(o.pubkeyAuthentication, PUBKEY_AUTH.all);
  o.gssAuthentication = def(o.gssAuthentication, 0);
  o.gssKeyex = def(o.gssKeyex, 0);
  o.gssDelegCreds = def(o.gssDelegCreds, 0);
  o.gssTrustDns = def(o.gssTrustDns, 0);
  o.gssRenewalRekey = def(o.gssRenewalRekey, 0);
  o.passwordAuthentication = def(o.passwordAuthentication, 1);
  o.kbdInteractiveAuthentication = def(o.kbdInteractiveAuthentication, 1);
  o.hostbasedAuthentication = def(o.hostbasedAuthentication, 0);
  o.batchMode = def(o.batchMode, 0);
  o.checkHostIp = def(o.checkHostIp, 0);
  o.strictHostKeyChecking = def(o.strictHostKeyChecking, STRICT_HOSTKEY.ask);
  o.compression = def(o.compression, 0);
  o.tcpKeepAlive = def(o.tcpKeepAlive, 1);
  o.port = def(o.port, 0);
  o.addressFamily = def(o.addressFamily, ADDRESS_FAMILY.any);
  o.connectionAttempts = def(o.connectionAttempts, 1);
  o.numberOfPasswordPrompts = def(o.numberOfPasswordPrompts, 3);
  if (o.addKeysToAgent === -1) {
    o.addKeysToAgent = 0;
    o.addKeysToAgentLifespan = 0;
  }
  if (o.identityFiles.length === 0) {
    for (const name of [
      "id_rsa",
      "id_ecdsa",
      "id_ecdsa_sk",
      "id_ed25519",
      "id_ed25519_sk",
      "id_xmss",
      "id_dsa",
    ]) {
      addIdentityFile(o, `~/.ssh/${name}`, false);
    }
  }
  o.escapeChar = def(o.escapeChar, "~".charCodeAt(0));
  if (o.systemHostfiles.length === 0)
    o.systemHostfiles = ["/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"];
  if (o.updateHostkeys === -1) {
    const defaultUserFiles =
      o.userHostfiles.length === 0 ||
      (o.userHostfiles.length === 1 && o.userHostfiles[0] === "~/.ssh/known_hosts");
    o.updateHostkeys = o.verifyHostKeyDns <= 0 && defaultUserFiles ? 1 : 0;
  }
  if (o.userHostfiles.length === 0) o.userHostfiles = ["~/.ssh/known_hosts", "~/.ssh/known_hosts2"];
  o.logLevel ??= "INFO";
  o.logFacility ??= "USER";
  o.noHostAuthenticationForLocalhost = def(o.noHostAuthenticationForLocalhost, 0);
  o.identitiesOnly = def(o.identitiesOnly, 0);
  o.enableSshKeysign = def(o.enableSshKeysign, 0);
  if (o.rekeyLimit === -1n) o.rekeyLimit = 0n;
  o.rekeyInterval = def(o.rekeyInterval, 0);
  o.verifyHostKeyDns = def(o.verifyHostKeyDns, 0);
  // Debian: in batch mode a dead server is detected after 300 s instead of never.
  o.serverAliveInterval = def(o.serverAliveInterval, o.batchMode === 1 ? 300 : 0);
  o.serverAliveCountMax = def(o.serverAliveCountMax, 3);
  o.controlMaster = def(o.controlMaster, 0);
  if (o.controlPersist === -1) {
    o.controlPersist = 0;
    o.controlPersistTimeout = 0;
  }
  o.hashKnownHosts = def(o.hashKnownHosts, 0);
  o.tunOpen = def(o.tunOpen, TUNNEL_MODE.no);
  o.tunLocal = def(o.tunLocal, TUNID_ANY);
  o.tunRemote = def(o.tunRemote, TUNID_ANY);
  o.permitLocalCommand = def(o.permitLocalCommand, 0);
  o.visualHostKey = def(o.visualHostKey, 0);
  // Debian keeps the pre-8.9 IPQoS defaults (lowdelay throughput).
  o.ipQosInteractive = def(o.ipQosInteractive, 0x10);
  o.ipQosBulk = def(o.ipQosBulk, 0x08);
  o.requestTty = def(o.requestTty, REQUEST_TTY.auto);
  o.sessionType = def(o.sessionType, SESSION_TYPE.default);
  o.stdinNull = def(o.stdinNull, 0);
  o.forkAfterAuthentication = def(o.forkAfterAuthentication, 0);
  o.proxyUseFdpass = def(o.proxyUseFdpass, 0);
  fillCanonicalizationDefaults(o);
  o.fingerprintHash = def(o.fingerprintHash, FP_HASH.sha256);
  o.skProvider ??= "internal";
  o.requiredRsaSize = def(o.requiredRsaSize, 1024);
  o.enableEscapeCommandline = def(o.enableEscapeCommandline, 0);
  o.gssKexAlgorithms ??= DEFAULT_GSS_KEX;

  for (const key of ["ciphers", "macs", "kexAlgorithms", "hostKeyAlgorithms"] as const) {
    const written = o[key];
    if (written !== null) o.algorithmsAsWritten[key] = written;
  }
  const lists: Array<[keyof Options & string, string, string]> = [
    ["ciphers", DEFAULT_CIPHERS, ALL_CIPHERS],
    ["macs", DEFAULT_MACS, ALL_MACS],
    ["kexAlgorithms", DEFAULT_KEX, ALL_KEX],
    ["hostbasedAcceptedAlgos", DEFAULT_KEY_ALGS, ALL_KEY_ALGS],
    ["pubkeyAcceptedAlgos", DEFAULT_KEY_ALGS, ALL_KEY_ALGS],
    ["caSignAlgorithms", DEFAULT_CA_SIG_ALGS, ALL_SIG_ALGS],
  ];
  for (const [key, defaults, all] of lists) {
    const assembled = assembleNames((o[key] as string | null) ?? undefined, defaults, all);
    if (assembled === null) return key;
    (o as unknown as Record<string, unknown>)[key] = assembled;
  }

  if (isClearOrNone(o.localCommand)) o.localCommand = null;
  if (isClearOrNone(o.remoteCommand)) o.remoteCommand = null;
  if (isClearOrNone(o.proxyCommand)) o.proxyCommand = null;
  if (isClearOrNone(o.controlPath)) o.controlPath = null;
  if (isClearOrNone(o.revokedHostKeys)) o.revokedHostKeys = null;
  if (isClearOrNone(o.pkcs11Provider)) o.pkcs11Provider = null;
  if (isClearOrNone(o.skProvider)) o.skProvider = null;
  if (isClearOrNone(o.knownHostsCommand)) o.knownHostsCommand = null;
  if (o.jumpHost === "none" && o.jumpPort === 0 && o.jumpUser === null) o.jumpHost = null;
  if (
    o.permittedCnames.length === 1 &&
    o.permittedCnames[0]?.source === "none" &&
    o.permittedCnames[0]?.target === ""
  ) {
    o.permittedCnames = [];
  }
  return null;
}
