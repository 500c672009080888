import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { runConfig } from "./config.js";

/** The bundled examples live at the package root, next to dist/. */
const EXAMPLES = fileURLToPath(new URL("../../../config-examples/", import.meta.url));

interface ExampleRoute {
  file: string;
  title: string;
  destination: string;
}

function bundledRoutes(): ExampleRoute[] {
  return readdirSync(EXAMPLES)
    .filter((f) => f.endsWith(".conf"))
    .sort()
    .flatMap((file) => {
      const lines = readFileSync(join(EXAMPLES, file), "utf8").split("\n");
      const title = (lines[0] ?? "").replace(/^#\s*/, "");
      return lines
        .map((line) => /^# expect-route: (\S+) =>/.exec(line))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => ({ file, title, destination: m[1] as string }));
    });
}

/** Compares `jumpgate config` with the installed `ssh -G`, when OpenSSH is there to compare with. */
function parity(routes: ExampleRoute[], cwd: string): string {
  const probe = spawnSync("ssh", ["-V"], { encoding: "utf8" });
  if (probe.error)
    return "OpenSSH's ssh is not installed here, so the byte-for-byte check against 'ssh -G' is skipped.";
  let same = 0;
  for (const r of routes) {
    const args = ["-F", join(EXAMPLES, r.file), r.destination];
    const ssh = spawnSync("ssh", ["-G", ...args], { encoding: "utf8", cwd });
    if (ssh.status === 0 && ssh.stdout === runConfig(args)) same++;
  }
  return `'jumpgate config' vs '${probe.stderr.trim()}' -G: ${same}/${routes.length} destinations byte-identical.`;
}

export function runDemo(): string {
  const routes = bundledRoutes();
  const out: string[] = ["jumpgate demo: how each bundled ssh_config reaches its hosts", ""];
  let lastFile = "";
  for (const r of routes) {
    if (r.file !== lastFile) {
      out.push(`${r.file}: ${r.title}`);
      lastFile = r.file;
    }
    out.push(`  ${runConfig(["-F", join(EXAMPLES, r.file), "--route", r.destination]).trimEnd()}`);
  }
  out.push("", parity(routes, process.cwd()), "");
  out.push("Try: jumpgate config -F config-examples/01-proxyjump.conf --json mcgonagall");
  return `${out.join("\n")}\n`;
}

export function registerDemoCommand(program: Command): void {
  program
    .command("demo")
    .summary("tour of the bundled examples: routes through jaguar, checked against ssh -G")
    .addHelpText("after", "\nExample:\n  jumpgate demo")
    .action(() => {
      process.stdout.write(runDemo());
    });
}
