/**
 * The tour of the bundled config-examples: how each annotated ssh_config reaches its hosts (the
 * route, resolved by `jumpgate config`), and whether `jumpgate config` agrees byte for byte with
 * the installed `ssh -G` on every one of them.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runConfig } from "../commands/config.js";
import { wrap, wrapRoute } from "./text.js";

/** The bundled examples live at the package root, next to dist/ (and src/). */
const EXAMPLES = fileURLToPath(new URL("../../../config-examples/", import.meta.url));

interface ExampleRoute {
  file: string;
  title: string;
  destination: string;
}

/** Every `# expect-route: <destination> =>` line of every example, in file order. */
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
function parity(routes: readonly ExampleRoute[]): string {
  const probe = spawnSync("ssh", ["-V"], { encoding: "utf8" });
  if (probe.error) return "OpenSSH's ssh is not installed here: the comparison with 'ssh -G' is skipped.";
  let same = 0;
  for (const r of routes) {
    const args = ["-F", join(EXAMPLES, r.file), r.destination];
    const ssh = spawnSync("ssh", ["-G", ...args], { encoding: "utf8" });
    if (ssh.status === 0 && ssh.stdout === runConfig(args)) same++;
  }
  // "OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.15 ..." -> "OpenSSH_9.2p1 Debian-2+deb12u3"
  const version = probe.stderr.trim().split(",")[0] ?? "ssh";
  return `'jumpgate config' and '${version}' -G agree byte for byte on ${same}/${routes.length} destinations.`;
}

/** The tour, as lines of at most 80 columns. */
export function tourLines(): string[] {
  const routes = bundledRoutes();
  const out: string[] = [];
  let lastFile = "";
  for (const r of routes) {
    if (r.file !== lastFile) {
      out.push(...wrap(r.title, `  ${r.file}: `, "      "));
      lastFile = r.file;
    }
    const route = runConfig(["-F", join(EXAMPLES, r.file), "--route", r.destination]).trimEnd();
    out.push(...wrapRoute(route, "    "));
  }
  out.push(...wrap(parity(routes), "  ", "  "));
  out.push(
    ...wrap(
      "Resolve one yourself: jumpgate config -F config-examples/01-proxyjump.conf --json mcgonagall",
      "  ",
      "    ",
    ),
  );
  return out;
}
