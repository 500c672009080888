/**
 * Prompters: the terminal line editor, the real /dev/tty path under a pseudo-terminal made by
 * script(1) (echo really off, mode restored, Ctrl-C, stdin and stdout being pipes), SSH_ASKPASS,
 * read_passphrase()'s choice between them, and BatchMode's refusal.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createAskpassPrompter,
  createBatchModePrompter,
  createPrompter,
  createTtyPrompter,
  PromptError,
  readLineFrom,
} from "../../../src/connection/prompt.js";

const repo = fileURLToPath(new URL("../../..", import.meta.url));
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "jg-prompt-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function script(name: string, body: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o700 });
  return file;
}

describe("readLineFrom (the terminal's line editing)", () => {
  function feed(chunks: string[], echo: boolean) {
    const input = new PassThrough();
    const written: string[] = [];
    const answer = readLineFrom(input, (t) => written.push(t), echo);
    for (const c of chunks) input.write(c);
    return { answer, written };
  }

  it("returns the line at Enter (CR or LF) without echo for secrets", async () => {
    const r = feed(["hun", "ter2\r", "ignored"], false);
    expect(await r.answer).toBe("hunter2");
    expect(r.written).toEqual([]);
    expect(await feed(["abc\n"], false).answer).toBe("abc");
  });

  it("echoes when asked, and edits: backspace, DEL, Ctrl-U", async () => {
    const r = feed(["ab\x7fc\bd\r"], true);
    expect(await r.answer).toBe("ad");
    expect(r.written.join("")).toBe("ab\b \bc\b \bd");
    expect(await feed(["wrong\x15right\r"], false).answer).toBe("right");
  });

  it("keeps multi-byte characters whole across chunks", async () => {
    const bytes = Buffer.from("pässwörd\r", "utf8");
    const input = new PassThrough();
    const answer = readLineFrom(input, () => {}, false);
    for (const b of bytes) input.write(Buffer.from([b]));
    expect(await answer).toBe("pässwörd");
  });

  it("rejects with an 'interrupted' PromptError on Ctrl-C (exit code 130)", async () => {
    const err = await feed(["sec\x03ret\r"], false).answer.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PromptError);
    expect(err).toMatchObject({ code: "JG_PROMPT_UNAVAILABLE", reason: "interrupted", exitCode: 130 });
  });

  it("reads Ctrl-D on an empty line (or end of input) as an empty answer", async () => {
    expect(await feed(["\x04"], false).answer).toBe("");
    expect(await feed(["ab\x04c\r"], false).answer).toBe("abc");
    const input = new PassThrough();
    const answer = readLineFrom(input, () => {}, false);
    input.end("partial");
    expect(await answer).toBe("partial");
  });

  it("drops control characters and stops at readpassphrase's 1023 bytes", async () => {
    expect(await feed(["a\x1b[Ab\x1a\r"], false).answer).toBe("a[Ab");
    expect((await feed([`${"x".repeat(2000)}\r`], false).answer).length).toBe(1023);
  });
});

describe("createAskpassPrompter (SSH_ASKPASS)", () => {
  it("runs the program with the prompt as argv[1]; stdout up to the first newline is the answer", async () => {
    const log = path.join(dir, "askpass-argv");
    const askpass = script("askpass-ok", `printf '%s' "$1" > '${log}'\nprintf 'the answer\\nsecond line\\n'`);
    const answer = await createAskpassPrompter({ program: askpass }).ask("Enter passphrase for key 'k': ", {
      echo: false,
    });
    expect(answer).toBe("the answer");
    expect(readFileSync(log, "utf8")).toBe("Enter passphrase for key 'k': ");
  });

  it("strips a CR too, and gives '' for empty output", async () => {
    expect(
      await createAskpassPrompter({ program: script("askpass-crlf", "printf 'x\\r\\n'") }).ask("q", {
        echo: false,
      }),
    ).toBe("x");
    expect(
      await createAskpassPrompter({ program: script("askpass-empty", "true") }).ask("q", { echo: false }),
    ).toBe("");
  });

  it("reports a non-zero exit as 'cancelled' and a missing program as 'unavailable'", async () => {
    const cancelled = createAskpassPrompter({ program: script("askpass-no", "echo secret; exit 1") });
    await expect(cancelled.ask("q", { echo: false })).rejects.toMatchObject({ reason: "cancelled" });
    const missing = createAskpassPrompter({ program: path.join(dir, "no-such-askpass") });
    await expect(missing.ask("q", { echo: false })).rejects.toMatchObject({ reason: "unavailable" });
  });

  it("gives the program /dev/null as stdin, so it cannot eat forwarded data", async () => {
    const askpass = script("askpass-stdin", "cat; echo done");
    expect(await createAskpassPrompter({ program: askpass }).ask("q", { echo: false })).toBe("done");
  });
});

describe("createPrompter (read_passphrase's choice) and BatchMode", () => {
  const noTty = "/nonexistent/tty";

  it("under BatchMode refuses without running anything", async () => {
    const marker = path.join(dir, "batch-marker");
    const askpass = script("askpass-marker", `touch '${marker}'; echo secret`);
    const p = createPrompter({
      batchMode: true,
      env: { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: "force", DISPLAY: ":0" },
    });
    expect(p.available()).toBe(false);
    const err = await p.ask("Password: ", { echo: false }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "JG_PROMPT_UNAVAILABLE", reason: "batch" });
    expect(existsSync(marker)).toBe(false);
    expect(createBatchModePrompter().available()).toBe(false);
  });

  it("SSH_ASKPASS_REQUIRE=force uses askpass even without DISPLAY", async () => {
    const askpass = script("askpass-force", "echo forced");
    const p = createPrompter({
      batchMode: false,
      ttyPath: noTty,
      env: { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: "force" },
    });
    expect(p.available()).toBe(true);
    expect(await p.ask("q", { echo: false })).toBe("forced");
  });

  it("without a terminal uses askpass only when DISPLAY is set (OpenSSH 9.2)", async () => {
    const askpass = script("askpass-display", "echo via-display");
    const withDisplay = createPrompter({
      batchMode: false,
      ttyPath: noTty,
      env: { SSH_ASKPASS: askpass, DISPLAY: ":0" },
    });
    expect(await withDisplay.ask("q", { echo: false })).toBe("via-display");
    const without = createPrompter({ batchMode: false, ttyPath: noTty, env: { SSH_ASKPASS: askpass } });
    expect(without.available()).toBe(false);
    await expect(without.ask("q", { echo: false })).rejects.toMatchObject({ reason: "unavailable" });
    const prefer = createPrompter({
      batchMode: false,
      ttyPath: noTty,
      env: { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: "prefer" },
    });
    await expect(prefer.ask("q", { echo: false })).rejects.toMatchObject({ reason: "unavailable" });
    const never = createPrompter({
      batchMode: false,
      ttyPath: noTty,
      env: { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: "never", DISPLAY: ":0" },
    });
    await expect(never.ask("q", { echo: false })).rejects.toMatchObject({ reason: "unavailable" });
  });

  it("a terminal prompter without a terminal says so", async () => {
    const p = createTtyPrompter({ ttyPath: noTty });
    expect(p.available()).toBe(false);
    await expect(p.ask("q", { echo: false })).rejects.toMatchObject({ reason: "unavailable" });
    // /dev/null opens but is not a terminal.
    await expect(createTtyPrompter({ ttyPath: "/dev/null" }).ask("q", { echo: false })).rejects.toMatchObject(
      {
        reason: "unavailable",
      },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The real terminal path, under a pseudo-terminal from script(1) (util-linux, always on Debian).

const haveScript = spawnSync("script", ["--version"]).status === 0;
if (!haveScript && process.env.CI === "true")
  throw new Error("script(1) is required for the tty prompter tests");
if (!haveScript)
  console.warn("[jumpgate] SKIPPED the real-terminal prompt tests: script(1) not found (Debian: bsdutils)");

/** prompt.ts and errors.ts as plain JavaScript, so a child node (no TypeScript loader) can run them. */
function buildDriver(): string {
  const out = path.join(dir, "driver");
  for (const rel of ["src/errors.ts", "src/connection/prompt.ts"]) {
    const source = readFileSync(path.join(repo, rel), "utf8");
    const js = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    const target = path.join(out, rel.replace(/\.ts$/, ".js"));
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, js);
  }
  writeFileSync(path.join(out, "package.json"), '{ "type": "module" }\n');
  writeFileSync(
    path.join(out, "driver.mjs"),
    `import { execSync } from "node:child_process";
import { createTtyPrompter } from "./src/connection/prompt.js";
const echo = process.argv[2] === "echo";
const p = createTtyPrompter();
process.stderr.write("AVAILABLE=" + p.available() + " STDIN_TTY=" + (process.stdin.isTTY === true) + " STDOUT_TTY=" + (process.stdout.isTTY === true) + "\\n");
try {
  const answer = await p.ask(echo ? "Name: " : "Secret: ", { echo });
  process.stderr.write("ANSWER=" + JSON.stringify(answer) + "\\n");
} catch (e) {
  process.stderr.write("ERROR=" + e.reason + "\\n");
}
const stty = " " + execSync("stty -a < /dev/tty", { encoding: "utf8" }).replace(/;/g, " ") + " ";
process.stderr.write("MODE echo=" + / echo /.test(stty) + " icanon=" + / icanon /.test(stty) + "\\n");
`,
  );
  return path.join(out, "driver.mjs");
}

/** Runs the driver on a fresh pty with stdin from /dev/null and stdout into a pipe; types `keys` after the prompt. */
function onPty(driver: string, mode: "secret" | "echo", keys: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const cmd = `${process.execPath} ${driver} ${mode} </dev/null 2>&1 | cat`;
    const child: ChildProcess = spawn("script", ["-qfec", cmd, "/dev/null"], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let output = "";
    let typed = false;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`pty test timed out; output so far: ${JSON.stringify(output)}`));
    }, 20_000);
    child.stdout?.on("data", (c: Buffer) => {
      output += c.toString("utf8");
      // The driver's report (through a pipe into the same terminal) may follow the prompt in the
      // same chunk, so the prompt is looked for anywhere, not at the end.
      if (!typed && /(Secret|Name): /.test(output)) {
        typed = true;
        child.stdin?.write(keys);
      }
    });
    child.on("error", reject);
    child.on("close", () => {
      clearTimeout(timer);
      child.stdin?.destroy();
      resolve(output.replace(/\r/g, ""));
    });
  });
}

describe.skipIf(!haveScript)("createTtyPrompter on a real terminal (/dev/tty under script(1))", () => {
  let driver: string;
  beforeAll(() => {
    driver = buildDriver();
  });

  it("reads a secret from /dev/tty with echo off while stdin and stdout are not the terminal", async () => {
    const out = await onPty(driver, "secret", "hunter2\r");
    expect(out).toContain("AVAILABLE=true STDIN_TTY=false STDOUT_TTY=false");
    expect(out).toContain('ANSWER="hunter2"');
    // The terminal never echoed it: the only occurrence is the driver's report.
    expect(out.split("hunter2").length - 1).toBe(1);
    expect(out).toContain("MODE echo=true icanon=true");
  });

  it("echoes an answer the server wants visible", async () => {
    const out = await onPty(driver, "echo", "bob\r");
    // The driver's own report goes through a pipe into the same terminal, so its lines may land
    // between the prompt and the echo: check the echo happened (once), not its exact position.
    expect(out, out).toMatch(/Name: [\s\S]*bob/);
    expect(out.split("bob").length - 1, out).toBe(2);
    expect(out).toContain('ANSWER="bob"');
  });

  it("turns Ctrl-C into an error and restores the terminal mode", async () => {
    const out = await onPty(driver, "secret", "abc\x03");
    expect(out).toContain("ERROR=interrupted");
    expect(out).not.toContain("ANSWER=");
    expect(out).toContain("MODE echo=true icanon=true");
  });
});
