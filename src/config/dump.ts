/**
 * Prints resolved options exactly as `ssh -G` does (readconf.c dump_client_config(), with the
 * order and spellings of the installed Debian OpenSSH 9.2, GSSAPI patch included).
 */
import { ALL_KEY_ALGS, assembleNames, DEFAULT_KEY_ALGS } from "./algorithms.js";
import { type Forward, type ForwardKind, formatForward, isDynamic } from "./forward.js";
import {
  ADDRESS,
  CANONICALIZEHOSTNAME,
  CONTROLMASTER,
  type Multistate,
  multistateName,
  PUBKEYAUTH,
  REQUESTTTY,
  SESSIONTYPE,
  STRICT,
  TUNNEL,
  YESNOASK,
  YESNOASKCONFIRM,
} from "./multistate.js";
import { ESCAPECHAR_NONE, type Options } from "./options.js";
import { iptos2str, TUNID_ANY } from "./values.js";

/** fmt_intarg() for plain flags: yes/no (not the table's first word, which would be true/false). */
function yesNo(value: number): string {
  if (value === -1) return "unset";
  return value === 1 ? "yes" : value === 0 ? "no" : "UNKNOWN";
}

const FINGERPRINT_HASH_NAMES = ["MD5", "SHA1", "SHA256"];

/** vis(3) with VIS_WHITE for the escape character. */
function visChar(code: number): string {
  if (code === 0x20) return "\\040";
  if (code === 0x09) return "\\t";
  if (code === 0x0a) return "\\n";
  if (code === 0x5c) return "\\\\";
  if (code < 0x20 || code === 0x7f) return `\\^${String.fromCharCode(code === 0x7f ? 0x3f : code + 64)}`;
  if (code > 0x7f) return `\\M-${visChar(code & 0x7f).replace(/^\\/, "")}`;
  return String.fromCharCode(code);
}

function forwardLines(keyword: string, kind: ForwardKind, forwards: Forward[]): string[] {
  // As in OpenSSH, a local forward to a Unix socket (no connect host) also prints as a dynamic
  // forward, and remote forwards print unfiltered (a remote SOCKS forward shows "[socks]:0").
  return forwards
    .filter((f) => {
      if (kind === "dynamic") return isDynamic(f) || f.connectHost === null;
      if (kind === "local") return !isDynamic(f);
      return true;
    })
    .map((f) => `${keyword} ${formatForward(f, kind)}`);
}

/** The complete `ssh -G` text for resolved options; `host` is the final host name. */
export function dumpConfig(o: Options, host: string): string {
  const out: string[] = [];
  const str = (k: string, v: string | null) => {
    if (v !== null) out.push(`${k} ${v}`);
  };
  const int = (k: string, v: number) => out.push(`${k} ${v}`);
  const flag = (k: string, v: number, table?: Multistate) =>
    out.push(`${k} ${table === undefined ? yesNo(v) : multistateName(table, v)}`);
  const oneline = (k: string, values: string[]) =>
    out.push(`${k}${values.length === 0 ? " none" : ""}${values.map((v) => ` ${v}`).join("")}`);

  const hostKeyAlgorithms = assembleNames(o.hostKeyAlgorithms ?? undefined, DEFAULT_KEY_ALGS, ALL_KEY_ALGS);

  str("host", o.hostArg);
  str("user", o.user);
  str("hostname", host);
  int("port", o.port);

  flag("addressfamily", o.addressFamily, ADDRESS);
  flag("batchmode", o.batchMode);
  flag("canonicalizefallbacklocal", o.canonicalizeFallbackLocal);
  flag("canonicalizehostname", o.canonicalizeHostname, CANONICALIZEHOSTNAME);
  flag("checkhostip", o.checkHostIp);
  flag("compression", o.compression);
  flag("controlmaster", o.controlMaster, CONTROLMASTER);
  flag("enablesshkeysign", o.enableSshKeysign);
  flag("clearallforwardings", o.clearForwardings);
  flag("exitonforwardfailure", o.exitOnForwardFailure);
  out.push(`fingerprinthash ${FINGERPRINT_HASH_NAMES[o.fingerprintHash] ?? "UNKNOWN"}`);
  flag("forwardx11", o.forwardX11);
  flag("forwardx11trusted", o.forwardX11Trusted);
  flag("gatewayports", o.gatewayPorts);
  flag("gssapiauthentication", o.gssAuthentication);
  flag("gssapikeyexchange", o.gssKeyex);
  flag("gssapidelegatecredentials", o.gssDelegCreds);
  flag("gssapitrustdns", o.gssTrustDns);
  flag("gssapirenewalforcesrekey", o.gssRenewalRekey);
  str("gssapiclientidentity", o.gssClientIdentity);
  str("gssapiserveridentity", o.gssServerIdentity);
  str("gssapikexalgorithms", o.gssKexAlgorithms);
  flag("hashknownhosts", o.hashKnownHosts);
  flag("hostbasedauthentication", o.hostbasedAuthentication);
  flag("identitiesonly", o.identitiesOnly);
  flag("kbdinteractiveauthentication", o.kbdInteractiveAuthentication);
  flag("nohostauthenticationforlocalhost", o.noHostAuthenticationForLocalhost);
  flag("passwordauthentication", o.passwordAuthentication);
  flag("permitlocalcommand", o.permitLocalCommand);
  flag("proxyusefdpass", o.proxyUseFdpass);
  flag("pubkeyauthentication", o.pubkeyAuthentication, PUBKEYAUTH);
  flag("requesttty", o.requestTty, REQUESTTTY);
  flag("sessiontype", o.sessionType, SESSIONTYPE);
  flag("stdinnull", o.stdinNull);
  flag("forkafterauthentication", o.forkAfterAuthentication);
  flag("streamlocalbindunlink", o.streamlocalBindUnlink);
  flag("stricthostkeychecking", o.strictHostKeyChecking, STRICT);
  flag("tcpkeepalive", o.tcpKeepAlive);
  flag("tunnel", o.tunOpen, TUNNEL);
  flag("verifyhostkeydns", o.verifyHostKeyDns, YESNOASK);
  flag("visualhostkey", o.visualHostKey);
  flag("updatehostkeys", o.updateHostkeys, YESNOASK);
  flag("enableescapecommandline", o.enableEscapeCommandline);

  int("canonicalizemaxdots", o.canonicalizeMaxDots);
  int("connectionattempts", o.connectionAttempts);
  int("forwardx11timeout", o.forwardX11Timeout);
  int("numberofpasswordprompts", o.numberOfPasswordPrompts);
  int("serveralivecountmax", o.serverAliveCountMax);
  int("serveraliveinterval", o.serverAliveInterval);
  int("requiredrsasize", o.requiredRsaSize);

  str("bindaddress", o.bindAddress);
  str("bindinterface", o.bindInterface);
  str("ciphers", o.ciphers);
  str("controlpath", o.controlPath);
  str("hostkeyalgorithms", hostKeyAlgorithms);
  str("hostkeyalias", o.hostKeyAlias);
  str("hostbasedacceptedalgorithms", o.hostbasedAcceptedAlgos);
  str("identityagent", o.identityAgent);
  str("ignoreunknown", o.ignoredUnknown);
  str("kbdinteractivedevices", o.kbdInteractiveDevices);
  str("kexalgorithms", o.kexAlgorithms);
  str("casignaturealgorithms", o.caSignAlgorithms);
  str("localcommand", o.localCommand);
  str("remotecommand", o.remoteCommand);
  str("loglevel", o.logLevel);
  str("macs", o.macs);
  str("pkcs11provider", o.pkcs11Provider);
  str("securitykeyprovider", o.skProvider);
  str("preferredauthentications", o.preferredAuthentications);
  str("pubkeyacceptedalgorithms", o.pubkeyAcceptedAlgos);
  str("revokedhostkeys", o.revokedHostKeys);
  str("xauthlocation", o.xauthLocation);
  str("knownhostscommand", o.knownHostsCommand);

  out.push(...forwardLines("dynamicforward", "dynamic", o.localForwards));
  out.push(...forwardLines("localforward", "local", o.localForwards));
  out.push(...forwardLines("remoteforward", "remote", o.remoteForwards));

  for (const f of o.identityFiles) out.push(`identityfile ${f}`);
  oneline("canonicaldomains", o.canonicalDomains);
  for (const f of o.certificateFiles) out.push(`certificatefile ${f}`);
  oneline("globalknownhostsfile", o.systemHostfiles);
  oneline("userknownhostsfile", o.userHostfiles);
  for (const e of o.sendEnv) out.push(`sendenv ${e}`);
  for (const e of o.setEnv) out.push(`setenv ${e}`);
  oneline("logverbose", o.logVerbose);

  if (o.permittedRemoteOpens.length === 0) out.push("permitremoteopen any");
  else oneline("permitremoteopen", o.permittedRemoteOpens);

  if (o.addKeysToAgentLifespan <= 0) flag("addkeystoagent", o.addKeysToAgent, YESNOASKCONFIRM);
  else out.push(`addkeystoagent${o.addKeysToAgent === 3 ? " confirm" : ""} ${o.addKeysToAgentLifespan}`);

  if (o.forwardAgentSockPath === null) flag("forwardagent", o.forwardAgent);
  else str("forwardagent", o.forwardAgentSockPath);

  if (o.connectionTimeout === -1) out.push("connecttimeout none");
  else int("connecttimeout", o.connectionTimeout);

  const tun = (v: number) => (v === TUNID_ANY ? "any" : String(v));
  out.push(`tunneldevice ${tun(o.tunLocal)}:${tun(o.tunRemote)}`);

  out.push(
    `canonicalizePermittedcnames${o.permittedCnames.length === 0 ? " none" : ""}${o.permittedCnames
      .map((c) => ` ${c.source}:${c.target}`)
      .join("")}`,
  );

  if (o.controlPersist === 0 || o.controlPersistTimeout === 0) flag("controlpersist", o.controlPersist);
  else int("controlpersist", o.controlPersistTimeout);

  out.push(o.escapeChar === ESCAPECHAR_NONE ? "escapechar none" : `escapechar ${visChar(o.escapeChar)}`);
  out.push(`ipqos ${iptos2str(o.ipQosInteractive)} ${iptos2str(o.ipQosBulk)}`);
  out.push(`rekeylimit ${o.rekeyLimit} ${o.rekeyInterval}`);
  out.push(`streamlocalbindmask 0${o.streamlocalBindMask.toString(8)}`);
  out.push(`syslogfacility ${o.logFacility}`);

  if (o.jumpHost === null) str("proxycommand", o.proxyCommand);
  else {
    const jumpHost = o.jumpHost;
    const numeric = jumpHost.includes(":") || /^[0-9.]*$/.test(jumpHost);
    const port = o.jumpPort <= 0 ? "" : `:${o.jumpPort}`;
    out.push(
      `proxyjump ${o.jumpExtra === null ? "" : `${o.jumpExtra},`}${o.jumpUser === null ? "" : `${o.jumpUser}@`}${
        numeric ? `[${jumpHost}]` : jumpHost
      }${port}`,
    );
  }
  return `${out.join("\n")}\n`;
}
