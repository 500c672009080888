import type { Command } from "commander";
import { dumpConfig } from "../../config/dump.js";
import {
  type CliItem,
  type ResolvedHost,
  type RouteHop,
  resolve,
  resolveRoute,
} from "../../config/resolve.js";
import { JumpgateError } from "../../errors.js";
import { parseShortOptions } from "../sshargs.js";

const HELP = `
Resolves ssh_config for a destination exactly as OpenSSH does and prints the result in
'ssh -G' format (one "keyword value" line per value), byte for byte what the installed
'ssh -G' prints for the same arguments.

Options (as in ssh):
  -F file            config file to use instead of ~/.ssh/config and /etc/ssh/ssh_config ("none": no file)
  -l user            remote user
  -p port            remote port
  -J jumps           jump hosts: [user@]host[:port][,...] or ssh://... ("none" disables)
  -o Keyword=value   any ssh_config keyword (repeatable; first value wins)
  -L spec            local forward  [bind:]port:host:hostport (repeatable)
  -R spec            remote forward [bind:]port:host:hostport or [bind:]port (repeatable)
  -D spec            dynamic (SOCKS) forward [bind:]port (repeatable)
  -i file            identity file (repeatable)
  -A / -a            enable / disable agent forwarding

Output:
  --json             the resolved options and the route (every hop, each resolved as its own destination)
  --route            the route for people: you -> jaguar (127.0.0.1:2201) -> mcgonagall (127.0.0.2:22)

Examples:
  jumpgate config mcgonagall
  jumpgate config -F config-examples/01-proxyjump.conf --route mcgonagall
  jumpgate config -J alice@jaguar:2222 -L 1111:localhost:12345 --json mcgonagall
`;

export function registerConfigCommand(program: Command): void {
  program
    .command("config")
    .summary("resolve ~/.ssh/config like 'ssh -G' and show the route through jump hosts")
    .description("Resolve ssh_config for a destination exactly as OpenSSH does")
    .usage(
      "[-F file] [-l user] [-p port] [-J jumps] [-o Keyword=value]... [-L|-R|-D spec]... [-A] [--json|--route] destination",
    )
    .argument("[args...]")
    .allowUnknownOption()
    .allowExcessArguments()
    .helpOption("-h, --help", "show this help")
    .addHelpText("after", HELP)
    .action((args: string[]) => {
      process.stdout.write(runConfig(args));
    });
}

/** Parses ssh-style arguments and returns what `jumpgate config` prints. */
export function runConfig(argv: readonly string[]): string {
  const parsed = parseShortOptions(argv, {
    withValue: "FlpJoLRDi",
    flags: "Aa",
    longFlags: ["json", "route"],
  });
  const items: CliItem[] = [];
  let configFile: string | undefined;
  let output: "ssh" | "json" | "route" = "ssh";
  for (const { name, value } of parsed) {
    switch (name) {
      case "":
        if (items.some((i) => i.kind === "destination")) {
          throw new JumpgateError(
            "JG_USAGE",
            `'jumpgate config' takes no command after the destination (got '${value}').`,
          );
        }
        items.push({ kind: "destination", value });
        break;
      case "F":
        configFile = value;
        break;
      case "l":
        items.push({ kind: "user", value });
        break;
      case "p":
        items.push({ kind: "port", value });
        break;
      case "J":
        items.push({ kind: "jump", value });
        break;
      case "o":
        items.push({ kind: "option", value });
        break;
      case "L":
        items.push({ kind: "local", value });
        break;
      case "R":
        items.push({ kind: "remote", value });
        break;
      case "D":
        items.push({ kind: "dynamic", value });
        break;
      case "i":
        items.push({ kind: "identity", value });
        break;
      case "A":
      case "a":
        items.push({ kind: "forwardAgent", value: name === "A" });
        break;
      case "json":
      case "route":
        output = name;
        break;
    }
  }
  const request = { items, ...(configFile === undefined ? {} : { configFile }) };
  const resolved = resolve(request);
  for (const warning of resolved.warnings) process.stderr.write(`jumpgate: warning: ${warning}\n`);
  const text = dumpConfig(resolved.options, resolved.hostname);
  if (output === "json")
    return `${JSON.stringify(toJson(resolved, text, resolveRoute(request, resolved)), null, 2)}\n`;
  if (output === "route") return `${formatRoute(resolveRoute(request, resolved))}\n`;
  return text;
}

function toJson(resolved: ResolvedHost, text: string, route: RouteHop[]): unknown {
  const options: Record<string, string | string[]> = {};
  for (const line of text.trimEnd().split("\n")) {
    const space = line.indexOf(" ");
    const key = line.slice(0, space);
    const value = line.slice(space + 1);
    const existing = options[key];
    if (existing === undefined) options[key] = value;
    else options[key] = Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return { destination: resolved.hostArg, options, route };
}

function hostPort(hop: RouteHop): string {
  const host = hop.hostname.includes(":") ? `[${hop.hostname}]` : hop.hostname;
  return `${host}:${hop.port}`;
}

/** `you -> jaguar (127.0.0.1:2201) -> mcgonagall (127.0.0.2:22)`. */
export function formatRoute(route: readonly RouteHop[]): string {
  const parts = ["you"];
  for (const hop of route) {
    const via = hop.transport === "proxycommand" ? ` via ProxyCommand: ${hop.proxyCommand}` : "";
    parts.push(`${hop.name} (${hostPort(hop)}${via})`);
  }
  return parts.join(" -> ");
}
