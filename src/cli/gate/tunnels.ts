/**
 * `jumpgate tunnels add|ls|rm|up`: tunnels held by the gate, which outlive this command. A gate is
 * started when none runs (a tunnel needs somewhere to live).
 */
import { parseForwardOf } from "../../config/forward.js";
import type { CliItem } from "../../config/resolve.js";
import { JumpgateError } from "../../errors.js";
import { connectIfRunning, type GateClient } from "../../gate/client.js";
import type { TunnelRow } from "../../gate/tunnels.js";
import { applySshConnectionOption, parseShortOptions } from "../sshargs.js";
import { clientEnvironment } from "./relay.js";
import { startGateDaemon } from "./run.js";

interface Parsed {
  items: CliItem[];
  configFile?: string;
  destination: string | null;
  forwards: Array<{ kind: "local" | "remote" | "dynamic"; spec: string }>;
}

/** ssh's connection options (-F -l -p -i -J -o -4 -6 -C) plus -L/-R/-D, before or after the destination. */
function parse(argv: readonly string[]): Parsed {
  const out: Parsed = { items: [], destination: null, forwards: [] };
  for (const { name, value } of parseShortOptions(argv, {
    withValue: "FlpiJoLRD",
    flags: "46C",
    longFlags: [],
  })) {
    if (applySshConnectionOption(name, value, out)) continue;
    switch (name) {
      case "":
        if (out.destination !== null)
          throw new JumpgateError("JG_USAGE", `Unexpected argument '${value}': one destination.`);
        out.destination = value;
        break;
      case "L":
        out.forwards.push({ kind: "local", spec: value });
        break;
      case "R":
        out.forwards.push({ kind: "remote", spec: value });
        break;
      case "D":
        out.forwards.push({ kind: "dynamic", spec: value });
        break;
    }
  }
  return out;
}

async function gate(start: boolean): Promise<GateClient> {
  const running = await connectIfRunning();
  if (running) return running.client;
  if (!start) {
    throw new JumpgateError(
      "JG_GATE_NOT_RUNNING",
      "No gate is running, so there are no tunnels ('jumpgate gate start').",
    );
  }
  const started = await startGateDaemon();
  process.stderr.write(`jumpgate: started the gate (pid ${started.pid}) to hold the tunnel\n`);
  const again = await connectIfRunning();
  if (!again) throw new JumpgateError("JG_GATE_START", "The gate started but does not answer.");
  return again.client;
}

function context(p: Parsed, destination: string) {
  return {
    items: [...p.items, { kind: "destination" as const, value: destination }],
    ...(p.configFile === undefined ? {} : { configFile: p.configFile }),
    cwd: process.cwd(),
    env: clientEnvironment(),
  };
}

function describe(row: TunnelRow): string {
  const flag = row.kind === "local" ? "-L" : row.kind === "remote" ? "-R" : "-D";
  return `${row.id}  ${flag} ${row.spec} via ${row.destination}: ${row.state}${row.listening.length > 0 ? `, listening on ${row.listening.join(", ")}` : ""}`;
}

export async function tunnelsAdd(argv: string[]): Promise<number> {
  const p = parse(argv);
  if (p.destination === null)
    throw new JumpgateError(
      "JG_USAGE",
      "tunnels add needs a destination. Run 'jumpgate tunnels add --help'.",
    );
  if (p.forwards.length === 0)
    throw new JumpgateError("JG_USAGE", "tunnels add needs -L, -R or -D. Run 'jumpgate tunnels add --help'.");
  // A bad spec is an error before any gate is started for it.
  for (const f of p.forwards) {
    if (parseForwardOf(f.kind, f.spec, (s) => s) === null) {
      const flag = f.kind === "local" ? "-L" : f.kind === "remote" ? "-R" : "-D";
      throw new JumpgateError("JG_FORWARD_SPEC", `Bad ${flag} specification '${f.spec}'.`);
    }
  }
  const client = await gate(true);
  try {
    for (const f of p.forwards) {
      const row = await client.request<TunnelRow>("tunnels.add", {
        ...context(p, p.destination),
        kind: f.kind,
        spec: f.spec,
      });
      process.stdout.write(`${describe(row)}\n`);
    }
    return 0;
  } finally {
    client.close();
  }
}

export async function tunnelsUp(argv: string[]): Promise<number> {
  const p = parse(argv);
  if (p.destination === null) throw new JumpgateError("JG_USAGE", "tunnels up needs a destination.");
  if (p.forwards.length > 0)
    throw new JumpgateError(
      "JG_USAGE",
      "tunnels up starts the configuration's forwards; use 'tunnels add' for -L/-R/-D.",
    );
  const client = await gate(true);
  try {
    const rows = await client.request<TunnelRow[]>("tunnels.up", context(p, p.destination));
    for (const row of rows) process.stdout.write(`${describe(row)}\n`);
    return 0;
  } finally {
    client.close();
  }
}

export async function tunnelsLs(json: boolean): Promise<number> {
  const running = await connectIfRunning();
  if (!running) {
    process.stdout.write(json ? "[]\n" : "no gate running: no tunnels\n");
    return 0;
  }
  try {
    const rows = await running.client.request<TunnelRow[]>("tunnels.ls");
    if (json) {
      process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      return 0;
    }
    if (rows.length === 0) {
      process.stdout.write("no tunnels\n");
      return 0;
    }
    const table = [
      ["ID", "DESTINATION", "ROUTE", "SPEC", "STATE", "ACTIVE/TOTAL", "IN", "OUT", "LAST ERROR"],
    ];
    for (const r of rows) {
      const flag = r.kind === "local" ? "-L" : r.kind === "remote" ? "-R" : "-D";
      table.push([
        r.id,
        r.destination,
        ["you", ...r.hops].join(" -> "),
        `${flag} ${r.spec}`,
        r.state,
        `${r.active}/${r.total}`,
        String(r.bytesIn),
        String(r.bytesOut),
        r.lastError ?? "-",
      ]);
    }
    const widths = table[0]?.map((_, i) => Math.max(...table.map((row) => (row[i] ?? "").length))) ?? [];
    process.stdout.write(
      `${table
        .map((row) =>
          row
            .map((c, i) => c.padEnd(widths[i] ?? 0))
            .join("  ")
            .trimEnd(),
        )
        .join("\n")}\n`,
    );
    return 0;
  } finally {
    running.client.close();
  }
}

export async function tunnelsRm(ids: string[]): Promise<number> {
  if (ids.length === 0)
    throw new JumpgateError("JG_USAGE", "tunnels rm needs a tunnel id (see 'jumpgate tunnels ls').");
  const client = await gate(false);
  try {
    for (const id of ids) {
      const row = await client.request<TunnelRow>("tunnels.rm", { id });
      process.stdout.write(`${row.id} removed\n`);
    }
    return 0;
  } finally {
    client.close();
  }
}
