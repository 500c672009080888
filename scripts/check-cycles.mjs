#!/usr/bin/env node
// Checks the module graph of src/: no circular imports, and the layering rules of
// ARCHITECTURE.md ("who may import whom"). Runs on the TypeScript sources, no build needed.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

// The source tree to check; a test points it at a made-up tree with a cycle.
const root = resolve(process.argv[2] ?? resolve(new URL("..", import.meta.url).pathname, "src"));

/** Which top-level modules each module may import (besides itself). */
const ALLOWED = {
  errors: [],
  util: [],
  config: ["errors", "util"],
  agent: ["errors", "util"],
  connection: ["config", "agent", "errors", "util"],
  forward: ["connection", "errors", "util"],
  transfer: ["connection", "errors", "util"],
  gate: ["connection", "forward", "transfer", "agent", "config", "errors", "util"],
  dashboard: ["connection", "gate", "errors", "util"],
  demo: ["connection", "forward", "transfer", "agent", "config", "gate", "errors", "util"],
  cli: ["*"],
  index: ["*"],
};

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return walk(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

function moduleOf(file) {
  const rel = relative(root, file);
  const first = rel.split("/")[0];
  return first.replace(/\.ts$/, "");
}

const files = walk(root);
const graph = new Map();
const problems = [];
const importRe = /^\s*(?:import|export)\s+(type\s+)?(?:[^'"]*?\sfrom\s+)?["'](\.[^"']+)["']/gm;
for (const file of files) {
  const text = readFileSync(file, "utf8");
  const deps = [];
  for (const match of text.matchAll(importRe)) {
    const typeOnly = Boolean(match[1]);
    const target = resolve(dirname(file), match[2].replace(/\.js$/, ".ts"));
    const from = moduleOf(file);
    const to = moduleOf(target);
    if (from !== to) {
      const allowed = ALLOWED[from] ?? [];
      // The dashboard may import types from anywhere in connection (events, stats).
      if (!allowed.includes("*") && !allowed.includes(to) && !(typeOnly && from === "dashboard")) {
        problems.push(
          `layering: ${relative(root, file)} imports ${relative(root, target)} (${from} may not import ${to})`,
        );
      }
    }
    if (!typeOnly) deps.push(target);
  }
  graph.set(file, deps);
}

// Depth-first search for cycles among runtime imports.
const state = new Map();
const stack = [];
function visit(node) {
  state.set(node, "active");
  stack.push(node);
  for (const dep of graph.get(node) ?? []) {
    if (!graph.has(dep)) continue;
    if (state.get(dep) === "active") {
      const cycle = stack
        .slice(stack.indexOf(dep))
        .concat(dep)
        .map((f) => relative(root, f));
      problems.push(`cycle: ${cycle.join(" -> ")}`);
    } else if (!state.has(dep)) visit(dep);
  }
  stack.pop();
  state.set(node, "done");
}
for (const file of files) if (!state.has(file)) visit(file);

if (problems.length > 0) {
  for (const p of problems) console.error(p);
  console.error(`check-cycles: ${problems.length} problem(s) in ${files.length} modules`);
  process.exit(1);
}
console.log(`check-cycles: ${files.length} modules, no circular imports, layering respected`);
