#!/usr/bin/env node
// Makes `npm start` and `npm test` work on a fresh clone: installs the locked dependencies and
// builds dist/ when they are missing. Uses only Node's standard library (nothing is installed yet).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

function run(args) {
  const result = spawnSync(npm, args, { cwd: root, stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

if (!existsSync(`${root}/node_modules/.package-lock.json`)) {
  console.error("[jumpgate] first run: installing dependencies (npm ci)");
  run(["ci", "--no-audit", "--no-fund"]);
} else if (!existsSync(`${root}/dist/cli/main.js`)) {
  console.error("[jumpgate] building dist/");
  run(["run", "build"]);
}
