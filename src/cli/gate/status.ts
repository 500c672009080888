/**
 * `jumpgate status [--json]`: what the gate holds — connections (route, state, uptime, RTT from
 * keepalives, auth method, open channels) and tunnels. Without a gate, says so (exit 0: nothing
 * is open, which is an answer, not a failure).
 */
import { connectIfRunning } from "../../gate/client.js";
import type { ConnectionStatus, GateStatus } from "../../gate/server.js";
import { duration } from "./run.js";

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows
    .map(
      (r) =>
        `  ${r
          .map((cell, i) => cell.padEnd(widths[i] ?? 0))
          .join("  ")
          .trimEnd()}`,
    )
    .join("\n");
}

function rtt(ms: number | null): string {
  if (ms === null) return "-";
  return ms < 10 ? `${ms.toFixed(2)} ms` : `${ms.toFixed(0)} ms`;
}

export function formatStatus(status: GateStatus): string {
  const lines = [
    `gate: pid ${status.gate.pid}, up ${duration(status.gate.uptimeMs)}, socket ${status.gate.socket}`,
  ];
  if (status.connections.length === 0) lines.push("connections: none");
  else {
    lines.push("connections:");
    const rows = [["ROUTE", "STATE", "UPTIME", "RTT", "AUTH", "CHANNELS", "USERS"]];
    for (const c of status.connections as ConnectionStatus[]) {
      rows.push([
        ["you", ...c.hops].join(" -> "),
        c.state,
        duration(c.uptimeMs),
        rtt(c.rttMs),
        c.authMethod ?? "-",
        String(c.channels),
        String(c.users),
      ]);
    }
    lines.push(table(rows));
  }
  if (status.tunnels.length === 0) lines.push("tunnels: none");
  else {
    lines.push("tunnels:");
    const rows = [["ID", "SPEC", "VIA", "STATE", "ACTIVE/TOTAL", "IN", "OUT", "LAST ERROR"]];
    for (const t of status.tunnels) {
      const flag = t.kind === "local" ? "-L" : t.kind === "remote" ? "-R" : "-D";
      rows.push([
        t.id,
        `${flag} ${t.spec}`,
        t.destination,
        t.state,
        `${t.active}/${t.total}`,
        String(t.bytesIn),
        String(t.bytesOut),
        t.lastError ?? "-",
      ]);
    }
    lines.push(table(rows));
  }
  return `${lines.join("\n")}\n`;
}

export async function runStatus(json: boolean): Promise<number> {
  const running = await connectIfRunning();
  if (!running) {
    if (json)
      process.stdout.write(`${JSON.stringify({ gate: null, connections: [], tunnels: [] }, null, 2)}\n`);
    else
      process.stdout.write(
        "gate: not running (each command opens its own connections; 'jumpgate gate start' keeps them)\n",
      );
    return 0;
  }
  try {
    const status = await running.client.request<GateStatus>("status");
    process.stdout.write(json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
    return 0;
  } finally {
    running.client.close();
  }
}
