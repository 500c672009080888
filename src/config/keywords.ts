/**
 * The ssh_config keyword table of OpenSSH 9.2 (readconf.c keywords[]), with Debian's GSSAPI
 * additions, since `ssh -G` output must match the OpenSSH installed on the machine.
 */

export type Opcode =
  | "host"
  | "match"
  | "include"
  | "ignore"
  | "deprecated"
  | "unsupported"
  | "forwardagent"
  | "forwardx11"
  | "forwardx11trusted"
  | "forwardx11timeout"
  | "exitonforwardfailure"
  | "xauthlocation"
  | "gatewayports"
  | "passwordauthentication"
  | "kbdinteractiveauthentication"
  | "kbdinteractivedevices"
  | "pubkeyauthentication"
  | "hostbasedauthentication"
  | "gssapiauthentication"
  | "gssapikeyexchange"
  | "gssapidelegatecredentials"
  | "gssapitrustdns"
  | "gssapirenewalforcesrekey"
  | "gssapiclientidentity"
  | "gssapiserveridentity"
  | "gssapikexalgorithms"
  | "pkcs11provider"
  | "identityfile"
  | "identitiesonly"
  | "certificatefile"
  | "addkeystoagent"
  | "identityagent"
  | "hostname"
  | "hostkeyalias"
  | "proxycommand"
  | "port"
  | "ciphers"
  | "macs"
  | "remoteforward"
  | "localforward"
  | "permitremoteopen"
  | "user"
  | "escapechar"
  | "globalknownhostsfile"
  | "userknownhostsfile"
  | "connectionattempts"
  | "batchmode"
  | "checkhostip"
  | "stricthostkeychecking"
  | "compression"
  | "tcpkeepalive"
  | "numberofpasswordprompts"
  | "syslogfacility"
  | "loglevel"
  | "logverbose"
  | "dynamicforward"
  | "preferredauthentications"
  | "hostkeyalgorithms"
  | "casignaturealgorithms"
  | "bindaddress"
  | "bindinterface"
  | "clearallforwardings"
  | "enablesshkeysign"
  | "verifyhostkeydns"
  | "nohostauthenticationforlocalhost"
  | "rekeylimit"
  | "connecttimeout"
  | "addressfamily"
  | "serveraliveinterval"
  | "serveralivecountmax"
  | "sendenv"
  | "setenv"
  | "controlpath"
  | "controlmaster"
  | "controlpersist"
  | "hashknownhosts"
  | "tunnel"
  | "tunneldevice"
  | "localcommand"
  | "permitlocalcommand"
  | "remotecommand"
  | "visualhostkey"
  | "kexalgorithms"
  | "ipqos"
  | "requesttty"
  | "sessiontype"
  | "stdinnull"
  | "forkafterauthentication"
  | "ignoreunknown"
  | "proxyusefdpass"
  | "canonicaldomains"
  | "canonicalizefallbacklocal"
  | "canonicalizehostname"
  | "canonicalizemaxdots"
  | "canonicalizepermittedcnames"
  | "streamlocalbindmask"
  | "streamlocalbindunlink"
  | "revokedhostkeys"
  | "fingerprinthash"
  | "updatehostkeys"
  | "hostbasedacceptedalgorithms"
  | "pubkeyacceptedalgorithms"
  | "proxyjump"
  | "securitykeyprovider"
  | "knownhostscommand"
  | "requiredrsasize"
  | "enableescapecommandline";

/** Keywords whose opcode is the keyword itself. */
const DIRECT: readonly Opcode[] = [
  "host",
  "match",
  "include",
  "forwardagent",
  "forwardx11",
  "forwardx11trusted",
  "forwardx11timeout",
  "exitonforwardfailure",
  "xauthlocation",
  "gatewayports",
  "passwordauthentication",
  "kbdinteractiveauthentication",
  "kbdinteractivedevices",
  "pubkeyauthentication",
  "hostbasedauthentication",
  "gssapiauthentication",
  "gssapikeyexchange",
  "gssapidelegatecredentials",
  "gssapitrustdns",
  "gssapirenewalforcesrekey",
  "gssapiclientidentity",
  "gssapiserveridentity",
  "gssapikexalgorithms",
  "pkcs11provider",
  "identityfile",
  "identitiesonly",
  "certificatefile",
  "addkeystoagent",
  "identityagent",
  "hostname",
  "hostkeyalias",
  "proxycommand",
  "port",
  "ciphers",
  "macs",
  "remoteforward",
  "localforward",
  "permitremoteopen",
  "user",
  "escapechar",
  "globalknownhostsfile",
  "userknownhostsfile",
  "connectionattempts",
  "batchmode",
  "checkhostip",
  "stricthostkeychecking",
  "compression",
  "tcpkeepalive",
  "numberofpasswordprompts",
  "syslogfacility",
  "loglevel",
  "logverbose",
  "dynamicforward",
  "preferredauthentications",
  "hostkeyalgorithms",
  "casignaturealgorithms",
  "bindaddress",
  "bindinterface",
  "clearallforwardings",
  "enablesshkeysign",
  "verifyhostkeydns",
  "nohostauthenticationforlocalhost",
  "rekeylimit",
  "connecttimeout",
  "addressfamily",
  "serveraliveinterval",
  "serveralivecountmax",
  "sendenv",
  "setenv",
  "controlpath",
  "controlmaster",
  "controlpersist",
  "hashknownhosts",
  "tunnel",
  "tunneldevice",
  "localcommand",
  "permitlocalcommand",
  "remotecommand",
  "visualhostkey",
  "kexalgorithms",
  "ipqos",
  "requesttty",
  "sessiontype",
  "stdinnull",
  "forkafterauthentication",
  "ignoreunknown",
  "proxyusefdpass",
  "canonicaldomains",
  "canonicalizefallbacklocal",
  "canonicalizehostname",
  "canonicalizemaxdots",
  "canonicalizepermittedcnames",
  "streamlocalbindmask",
  "streamlocalbindunlink",
  "revokedhostkeys",
  "fingerprinthash",
  "updatehostkeys",
  "hostbasedacceptedalgorithms",
  "pubkeyacceptedalgorithms",
  "proxyjump",
  "securitykeyprovider",
  "knownhostscommand",
  "requiredrsasize",
  "enableescapecommandline",
];

/** Aliases, obsolete spellings and retired keywords. */
const OTHER: Readonly<Record<string, Opcode>> = {
  protocol: "ignore",
  cipher: "deprecated",
  fallbacktorsh: "deprecated",
  globalknownhostsfile2: "deprecated",
  rhostsauthentication: "deprecated",
  userknownhostsfile2: "deprecated",
  useroaming: "deprecated",
  usersh: "deprecated",
  useprivilegedport: "deprecated",
  afstokenpassing: "unsupported",
  kerberosauthentication: "unsupported",
  kerberostgtpassing: "unsupported",
  rsaauthentication: "unsupported",
  rhostsrsaauthentication: "unsupported",
  compressionlevel: "unsupported",
  smartcarddevice: "pkcs11provider",
  challengeresponseauthentication: "kbdinteractiveauthentication",
  skeyauthentication: "kbdinteractiveauthentication",
  tisauthentication: "kbdinteractiveauthentication",
  dsaauthentication: "pubkeyauthentication",
  identityfile2: "identityfile",
  keepalive: "tcpkeepalive",
  hostbasedkeytypes: "hostbasedacceptedalgorithms",
  pubkeyacceptedkeytypes: "pubkeyacceptedalgorithms",
  // Debian: old spellings of ServerAliveInterval kept for compatibility.
  protocolkeepalives: "serveraliveinterval",
  setuptimeout: "serveraliveinterval",
};

const TABLE: ReadonlyMap<string, Opcode> = new Map<string, Opcode>([
  ...DIRECT.map((k): [string, Opcode] => [k, k]),
  ...Object.entries(OTHER),
]);

/** Looks up a lowercased keyword; undefined when OpenSSH does not know it. */
export function lookupKeyword(lowercased: string): Opcode | undefined {
  return TABLE.get(lowercased);
}

/** Every keyword spelling jumpgate accepts (for docs and property tests). */
export function knownKeywords(): string[] {
  return [...TABLE.keys()].filter((k) => k !== "ignore" && k !== "deprecated" && k !== "unsupported");
}
