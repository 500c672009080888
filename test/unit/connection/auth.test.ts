/**
 * The auth handler's choices, against an in-process ssh2 server that records every request: method
 * order (ssh's default and PreferredAuthentications), key order with an agent and IdentitiesOnly,
 * keyboard-interactive and password prompts and their counts, BatchMode (the prompter is never
 * called), partial success, Ctrl-C, and the final messages. The lab's sshd cannot do passwords or
 * keyboard-interactive without PAM, hence the embedded server here; test/e2e/auth.test.ts covers
 * keys and agents against real OpenSSH.
 */

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import ssh2, {
  type AuthContext,
  type IdentityCallback,
  type ParsedKey,
  type SignCallback,
  type SigningRequestOptions,
} from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fillDefaults, initialOptions, type Options } from "../../../src/config/options.js";
import { type AuthHandler, type AuthHandlerParams, createAuthHandler } from "../../../src/connection/auth.js";
import { PromptError, type Prompter } from "../../../src/connection/prompt.js";
import { generateEd25519 } from "../../../src/demo/files.js";
import { createLogger } from "../../../src/util/log.js";
import { fakeEnv } from "../config/fake-env.js";

const { Client, Server, utils } = ssh2;
const USER = "alice";
const HOST = "127.0.0.1";

let dir: string;
let keyA: string; // plain, authorized where the test says so
let keyB: string; // plain
let keyEnc: string; // encrypted ("secret")
const fp = (blob: Buffer): string => createHash("sha256").update(blob).digest("base64").slice(0, 8);

function parsed(file: string, passphrase?: string): ParsedKey {
  const k = utils.parseKey(readFileSync(file), passphrase);
  if (k instanceof Error) throw k;
  return k;
}
const blobOf = (file: string): Buffer => parsed(`${file}.pub`).getPublicSSH();

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "jg-auth-unit-"));
  const make = (name: string, pass: string): string => {
    const file = path.join(dir, name);
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-a", "4", "-N", pass, "-C", name, "-f", file]);
    return file;
  };
  keyA = make("id_a", "");
  keyB = make("id_b", "");
  keyEnc = make("id_enc", "secret");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------
// An ssh2 server that records what the client asks for

interface ServerPlan {
  /** The methods the server announces (and accepts requests for). */
  methods: string[];
  /** Public key blobs whose owner may log in (by publickey). */
  authorized?: Buffer[];
  /** A password that works. */
  password?: string;
  /** keyboard-interactive: the prompts to send, and the answers that work. */
  kbd?: { prompts: Array<{ prompt: string; echo: boolean }>; answers?: string[] };
  /** After a successful publickey login, demand these methods as well (AuthenticationMethods). */
  thenRequire?: string[];
}

interface TestServer {
  port: number;
  events: string[];
  close(): Promise<void>;
}

async function startServer(plan: ServerPlan): Promise<TestServer> {
  // generateEd25519 redraws the rare key ssh2 writes but cannot read back.
  const hostKey = generateEd25519("test host key").privateKey;
  const events: string[] = [];
  const server = new Server({ hostKeys: [hostKey] }, (client) => {
    let stage: "first" | "second" = "first";
    const methodsNow = (): string[] => (stage === "first" ? plan.methods : (plan.thenRequire ?? []));
    client.on("authentication", (ctx: AuthContext) => {
      const reject = (): void => ctx.reject(methodsNow() as ssh2.AuthenticationType[]);
      switch (ctx.method) {
        case "none":
          events.push("none");
          return reject();
        case "publickey": {
          events.push(`publickey:${fp(ctx.key.data)}:${ctx.signature ? "signed" : "query"}`);
          const known = (plan.authorized ?? []).some((b) => b.equals(ctx.key.data));
          if (!known || !methodsNow().includes("publickey")) return reject();
          if (!ctx.signature || !ctx.blob) return ctx.accept();
          const pub = utils.parseKey(ctx.key.data);
          if (pub instanceof Error || !pub.verify(ctx.blob, ctx.signature, ctx.hashAlgo)) return reject();
          if (plan.thenRequire && stage === "first") {
            stage = "second";
            return ctx.reject(plan.thenRequire as ssh2.AuthenticationType[], true);
          }
          return ctx.accept();
        }
        case "password":
          events.push(`password:${ctx.password}`);
          if (
            plan.password !== undefined &&
            ctx.password === plan.password &&
            methodsNow().includes("password")
          )
            return ctx.accept();
          return reject();
        case "keyboard-interactive": {
          events.push("keyboard-interactive");
          const kbd = plan.kbd ?? { prompts: [{ prompt: "Password: ", echo: false }] };
          ctx.prompt(kbd.prompts, "Title here", "Instructions here", (answers) => {
            events.push(`answers:${answers.join("|")}`);
            if (kbd.answers && answers.join("|") === kbd.answers.join("|")) ctx.accept();
            else reject();
          });
          return;
        }
        default:
          events.push(ctx.method);
          return reject();
      }
    });
    client.on("ready", () => client.end());
    client.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    events,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface Outcome {
  ok: boolean;
  method: string | null;
  error?: Error;
  ignored: number;
}

function connect(port: number, handler: AuthHandler): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let ignored = 0;
    let settled = false;
    const settle = (o: Outcome | Error): void => {
      if (settled) return;
      settled = true;
      client.end();
      if (o instanceof Error) reject(o);
      else resolve(o);
    };
    client.on("ready", () => settle({ ok: true, method: handler.authenticatedMethod(), ignored }));
    client.on("error", (err) => {
      const kind = handler.classifyError(err);
      if (kind === "ignore") ignored++;
      else if (kind === "failed") settle({ ok: false, method: null, error: handler.failure(), ignored });
      else settle(err);
    });
    client.on("close", () => settle(new Error("closed before authentication ended")));
    client.connect({
      host: HOST,
      port,
      username: USER,
      authHandler: handler.authHandler,
      hostVerifier: () => true,
      readyTimeout: 20_000,
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Client-side helpers

function fakePrompter(answer: (q: string) => string | Error): Prompter & { questions: string[] } {
  const questions: string[] = [];
  return {
    questions,
    available: () => true,
    ask: async (q) => {
      questions.push(q);
      const a = answer(q);
      if (a instanceof Error) throw a;
      return a;
    },
  };
}

function spyPrompter(): Prompter & { calls: number } {
  const p = {
    calls: 0,
    available: () => false,
    ask: async (): Promise<string> => {
      p.calls++;
      throw new Error("the prompter must not be called");
    },
  };
  return p;
}

function options(overrides: Partial<Options> = {}): Options {
  const o = initialOptions();
  o.hostname = HOST;
  o.identityAgent = "none";
  o.identityFiles = [keyA];
  o.identityFileUserProvided = [true];
  o.numberOfPasswordPrompts = 2;
  Object.assign(o, overrides);
  fillDefaults(o);
  return o;
}

function handlerFor(o: Options, prompter: Prompter, extra: Partial<AuthHandlerParams> = {}) {
  const lines: string[] = [];
  const log = createLogger("DEBUG3", (l) => lines.push(l.replace(/\n$/, "")));
  const handler = createAuthHandler({ options: o, username: USER, prompter, log, ...extra });
  return { handler, lines };
}

/** An in-memory agent holding decrypted keys, in order. */
class MemoryAgent extends ssh2.BaseAgent<ParsedKey> {
  constructor(private readonly keys: ParsedKey[]) {
    super();
  }
  getIdentities(cb: IdentityCallback<ParsedKey>): void {
    const pubs = this.keys.map((k) =>
      utils.parseKey(`${k.type} ${k.getPublicSSH().toString("base64")} ${k.comment}`),
    );
    cb(
      null,
      pubs.filter((k): k is ParsedKey => !(k instanceof Error)),
    );
  }
  sign(
    pubKey: ParsedKey,
    data: Buffer,
    options: SigningRequestOptions | SignCallback,
    cb?: SignCallback,
  ): void {
    const done = typeof options === "function" ? options : cb;
    const key = this.keys.find((k) => k.getPublicSSH().equals(pubKey.getPublicSSH()));
    if (key === undefined) done?.(new Error("no such key"));
    else done?.(null, key.sign(data, typeof options === "function" ? undefined : options.hash));
  }
}

// ---------------------------------------------------------------------------------------------

describe("createAuthHandler: method order", () => {
  it("tries none, then publickey, keyboard-interactive, password (ssh's default order)", async () => {
    const server = await startServer({ methods: ["publickey", "keyboard-interactive", "password"] });
    try {
      const prompter = fakePrompter(() => "pw");
      const { handler, lines } = handlerFor(
        options({ identityFiles: [keyA, keyB], identityFileUserProvided: [true, true], batchMode: 0 }),
        prompter,
      );
      const r = await connect(server.port, handler);
      expect(r.ok).toBe(false);
      expect(server.events).toEqual([
        "none",
        `publickey:${fp(blobOf(keyA))}:query`,
        `publickey:${fp(blobOf(keyB))}:query`,
        "keyboard-interactive",
        "answers:pw",
        "keyboard-interactive",
        "answers:pw",
        "password:pw",
        "password:pw",
      ]);
      expect(prompter.questions).toEqual([
        `(${USER}@${HOST}) Password: `,
        `(${USER}@${HOST}) Password: `,
        `${USER}@${HOST}'s password: `,
        `${USER}@${HOST}'s password: `,
      ]);
      // ssh's messages around prompts: the server's name/instructions, and the retry notice.
      expect(lines.filter((l) => !l.startsWith("debug"))).toEqual([
        "Title here",
        "Instructions here",
        "Title here",
        "Instructions here",
        "Permission denied, please try again.",
      ]);
      expect(r.error?.message).toBe(
        `${USER}@${HOST}: Permission denied (publickey,keyboard-interactive,password).`,
      );
      expect(r.error).toMatchObject({ code: "JG_AUTH_FAILED", exitCode: 255 });
      expect(lines).toContain(
        "debug1: Authentications that can continue: publickey,keyboard-interactive,password",
      );
      expect(lines).toContain("debug1: Next authentication method: publickey");
      expect(lines).toContain("debug1: No more authentication methods to try.");
      // Answers never reach the log.
      expect(lines.join("\n")).not.toMatch(/\bpw\b/);
    } finally {
      await server.close();
    }
  });

  it("follows PreferredAuthentications and skips methods the server does not offer", async () => {
    const server = await startServer({ methods: ["publickey", "password"] });
    try {
      const prompter = fakePrompter(() => "pw");
      const { handler, lines } = handlerFor(
        options({
          preferredAuthentications: "gssapi-with-mic,keyboard-interactive,password,publickey",
          numberOfPasswordPrompts: 1,
          batchMode: 0,
        }),
        prompter,
      );
      await connect(server.port, handler);
      expect(server.events).toEqual(["none", "password:pw", `publickey:${fp(blobOf(keyA))}:query`]);
      expect(lines).not.toContain("debug1: Next authentication method: keyboard-interactive");
    } finally {
      await server.close();
    }
  });

  it("honours PasswordAuthentication/KbdInteractiveAuthentication/PubkeyAuthentication no", async () => {
    const server = await startServer({ methods: ["publickey", "keyboard-interactive", "password"] });
    try {
      const prompter = fakePrompter(() => "pw");
      const { handler } = handlerFor(
        options({ batchMode: 0, pubkeyAuthentication: 0, kbdInteractiveAuthentication: 0 }),
        prompter,
      );
      await connect(server.port, handler);
      expect(server.events).toEqual(["none", "password:pw", "password:pw"]);
    } finally {
      await server.close();
    }
  });

  it("logs in with a password after a wrong one, and reports the method", async () => {
    const server = await startServer({ methods: ["password"], password: "right" });
    try {
      const answers = ["wrong", "right"];
      const prompter = fakePrompter(() => answers.shift() ?? "");
      const { handler, lines } = handlerFor(options({ batchMode: 0, numberOfPasswordPrompts: 3 }), prompter);
      const r = await connect(server.port, handler);
      expect(r).toMatchObject({ ok: true, method: "password" });
      expect(server.events).toEqual(["none", "password:wrong", "password:right"]);
      expect(lines.filter((l) => l === "Permission denied, please try again.")).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it("logs in by keyboard-interactive, echoing only the prompts the server marks visible", async () => {
    const server = await startServer({
      methods: ["keyboard-interactive"],
      kbd: {
        prompts: [
          { prompt: "Login: ", echo: true },
          { prompt: "Code: ", echo: false },
        ],
        answers: ["alice", "123456"],
      },
    });
    try {
      const echoes: boolean[] = [];
      const prompter: Prompter = {
        available: () => true,
        ask: async (q, { echo }) => {
          echoes.push(echo);
          return q.endsWith("Login: ") ? "alice" : "123456";
        },
      };
      const { handler } = handlerFor(options({ batchMode: 0 }), prompter);
      expect(await connect(server.port, handler)).toMatchObject({ ok: true, method: "keyboard-interactive" });
      expect(echoes).toEqual([true, false]);
    } finally {
      await server.close();
    }
  });

  it("uses HostKeyAlias in prompts, as ssh does, but the host in 'Permission denied'", async () => {
    const server = await startServer({ methods: ["password"] });
    try {
      const prompter = fakePrompter(() => "x");
      const { handler } = handlerFor(
        options({ batchMode: 0, numberOfPasswordPrompts: 1, hostKeyAlias: "jaguar" }),
        prompter,
      );
      const r = await connect(server.port, handler);
      expect(prompter.questions).toEqual([`${USER}@jaguar's password: `]);
      expect(r.error?.message).toBe(`${USER}@${HOST}: Permission denied (password).`);
    } finally {
      await server.close();
    }
  });
});

describe("createAuthHandler: BatchMode and prompts that cannot happen", () => {
  it("never calls the prompter under BatchMode, not even for an accepted encrypted key", async () => {
    const server = await startServer({
      methods: ["publickey", "keyboard-interactive", "password"],
      authorized: [blobOf(keyEnc)],
    });
    try {
      const prompter = spyPrompter();
      const { handler, lines } = handlerFor(
        options({ identityFiles: [keyEnc], batchMode: 1, preferredAuthentications: null }),
        prompter,
      );
      const r = await connect(server.port, handler);
      expect(r.ok).toBe(false);
      expect(prompter.calls).toBe(0);
      expect(server.events).toEqual(["none", `publickey:${fp(blobOf(keyEnc))}:query`]);
      expect(handler.attempts()[1]?.accepted).toBe(true);
      expect(r.error?.message).toBe(
        `${USER}@${HOST}: Permission denied (publickey,keyboard-interactive,password).\n` +
          `Key "${keyEnc}" is encrypted and BatchMode is on, so it was not tried (add it to ssh-agent first, or run without BatchMode).`,
      );
      // ssh2 reported the unusable key as an 'error'; the handler marked it as one to ignore.
      expect(r.ignored).toBe(1);
      expect(lines.filter((l) => !l.startsWith("debug"))).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it("does not even try an explicitly preferred password method under BatchMode", async () => {
    const server = await startServer({ methods: ["password", "publickey"] });
    try {
      const prompter = spyPrompter();
      const { handler } = handlerFor(
        options({ batchMode: 1, preferredAuthentications: "password,publickey" }),
        prompter,
      );
      await connect(server.port, handler);
      expect(server.events).toEqual(["none", `publickey:${fp(blobOf(keyA))}:query`]);
      expect(prompter.calls).toBe(0);
    } finally {
      await server.close();
    }
  });

  it("stops password prompting when no prompt can be shown, instead of sending empty passwords", async () => {
    const server = await startServer({ methods: ["keyboard-interactive", "password"] });
    try {
      const prompter = fakePrompter(() => new PromptError("unavailable", "no tty"));
      const { handler } = handlerFor(options({ batchMode: 0, numberOfPasswordPrompts: 3 }), prompter);
      await connect(server.port, handler);
      // One keyboard-interactive round (answered "" as ssh does, since the server's prompts are
      // committed to), then nothing: every later prompt would fail the same way.
      expect(server.events).toEqual(["none", "keyboard-interactive", "answers:"]);
      expect(prompter.questions).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it("ends authentication at Ctrl-C, with the prompt's error (exit 130)", async () => {
    const server = await startServer({ methods: ["password", "publickey"] });
    try {
      const prompter = fakePrompter(
        () => new PromptError("interrupted", "Interrupted at a prompt (Ctrl-C)."),
      );
      const { handler } = handlerFor(
        options({ batchMode: 0, preferredAuthentications: "password,publickey" }),
        prompter,
      );
      const r = await connect(server.port, handler);
      expect(r.error).toBeInstanceOf(PromptError);
      expect(r.error).toMatchObject({ reason: "interrupted", exitCode: 130 });
      expect(server.events).toEqual(["none"]);
    } finally {
      await server.close();
    }
  });

  it("ends authentication at Ctrl-C during a key's passphrase prompt", async () => {
    const server = await startServer({ methods: ["publickey", "password"], authorized: [blobOf(keyEnc)] });
    try {
      const prompter = fakePrompter(
        () => new PromptError("interrupted", "Interrupted at a prompt (Ctrl-C)."),
      );
      const { handler } = handlerFor(options({ batchMode: 0, identityFiles: [keyEnc] }), prompter);
      const r = await connect(server.port, handler);
      expect(r.error).toMatchObject({ reason: "interrupted" });
      expect(prompter.questions).toEqual([`Enter passphrase for key '${keyEnc}': `]);
      expect(server.events).toEqual(["none", `publickey:${fp(blobOf(keyEnc))}:query`]);
    } finally {
      await server.close();
    }
  });
});

describe("createAuthHandler: keys, agents and IdentitiesOnly", () => {
  const agentKeys = (): ParsedKey[] => [parsed(keyB), parsed(keyA)];

  it("orders agent keys that match an IdentityFile first, then other agent keys, then files", async () => {
    const server = await startServer({ methods: ["publickey"] });
    try {
      const { handler, lines } = handlerFor(
        options({ identitiesOnly: 0, identityFiles: [keyEnc, keyA], identityFileUserProvided: [true, true] }),
        spyPrompter(),
        { agent: new MemoryAgent(agentKeys()) },
      );
      await connect(server.port, handler);
      expect(server.events).toEqual([
        "none",
        `publickey:${fp(blobOf(keyA))}:query`,
        `publickey:${fp(blobOf(keyB))}:query`,
        `publickey:${fp(blobOf(keyEnc))}:query`,
      ]);
      const will = lines.filter((l) => l.startsWith("debug1: Will attempt key: "));
      expect(will).toHaveLength(3);
      expect(will[0]).toMatch(new RegExp(`${keyA} ED25519 SHA256:\\S+ explicit agent$`));
      expect(will[1]).toMatch(/: id_b ED25519 SHA256:\S+ agent$/);
      expect(will[2]).toMatch(new RegExp(`${keyEnc} ED25519 SHA256:\\S+ explicit$`));
    } finally {
      await server.close();
    }
  });

  it("with IdentitiesOnly uses only agent keys that match an IdentityFile", async () => {
    const server = await startServer({ methods: ["publickey"], authorized: [blobOf(keyB)] });
    try {
      const { handler } = handlerFor(options({ identitiesOnly: 1, identityFiles: [keyA] }), spyPrompter(), {
        agent: new MemoryAgent(agentKeys()),
      });
      const r = await connect(server.port, handler);
      // keyB would have worked, but it is only in the agent.
      expect(r.ok).toBe(false);
      expect(server.events).toEqual(["none", `publickey:${fp(blobOf(keyA))}:query`]);
    } finally {
      await server.close();
    }
  });

  it("signs with the agent, not the file, when the agent holds an IdentityFile's key", async () => {
    const server = await startServer({ methods: ["publickey"], authorized: [blobOf(keyEnc)] });
    try {
      const prompter = spyPrompter();
      const { handler } = handlerFor(
        options({ identitiesOnly: 1, identityFiles: [keyEnc], batchMode: 0 }),
        prompter,
        {
          agent: new MemoryAgent([parsed(keyEnc, "secret")]),
        },
      );
      expect(await connect(server.port, handler)).toMatchObject({ ok: true, method: "publickey" });
      expect(prompter.calls).toBe(0);
    } finally {
      await server.close();
    }
  });

  it("asks for a passphrase only after the server accepted the key, once, and logs in", async () => {
    const server = await startServer({ methods: ["publickey"], authorized: [blobOf(keyEnc)] });
    try {
      const prompter = fakePrompter(() => "secret");
      const { handler } = handlerFor(
        options({ batchMode: 0, identityFiles: [keyA, keyEnc], identityFileUserProvided: [true, true] }),
        prompter,
      );
      expect(await connect(server.port, handler)).toMatchObject({ ok: true, method: "publickey" });
      expect(server.events).toEqual([
        "none",
        `publickey:${fp(blobOf(keyA))}:query`,
        `publickey:${fp(blobOf(keyEnc))}:query`,
        `publickey:${fp(blobOf(keyEnc))}:signed`,
      ]);
      expect(prompter.questions).toEqual([`Enter passphrase for key '${keyEnc}': `]);
    } finally {
      await server.close();
    }
  });

  it("finishes a two-factor login (publickey, then password) after partial success", async () => {
    const server = await startServer({
      methods: ["publickey"],
      authorized: [blobOf(keyA)],
      thenRequire: ["password"],
      password: "pw",
    });
    try {
      const prompter = fakePrompter(() => "pw");
      const { handler } = handlerFor(options({ batchMode: 0 }), prompter);
      expect(await connect(server.port, handler)).toMatchObject({ ok: true, method: "password" });
      expect(server.events).toEqual([
        "none",
        `publickey:${fp(blobOf(keyA))}:query`,
        `publickey:${fp(blobOf(keyA))}:signed`,
        // ssh2 hides the new method list after a key; one "none" request asks for it.
        "none",
        "password:pw",
      ]);
      expect(handler.attempts().map((a) => a.method)).toEqual(["none", "publickey", "none", "password"]);
    } finally {
      await server.close();
    }
  });

  it("takes the agent from IdentityAgent, $SSH_AUTH_SOCK, or nowhere for 'none'", async () => {
    const server = await startServer({ methods: ["publickey"] });
    try {
      const env = fakeEnv({
        env: { SSH_AUTH_SOCK: path.join(dir, "no-agent.sock"), OTHER: path.join(dir, "other.sock") },
      });
      const run = async (identityAgent: string | null) => {
        const { handler, lines } = handlerFor(options({ identityAgent, identitiesOnly: 0 }), spyPrompter(), {
          env,
        });
        await connect(server.port, handler);
        return lines.find((l) => l.includes("get_agent_identities")) ?? "";
      };
      expect(await run(null)).toContain(`agent at ${path.join(dir, "no-agent.sock")}`);
      expect(await run("SSH_AUTH_SOCK")).toContain(`agent at ${path.join(dir, "no-agent.sock")}`);
      expect(await run("$OTHER")).toContain(`agent at ${path.join(dir, "other.sock")}`);
      expect(await run("~/agent.sock")).toContain("agent at /home/u/agent.sock");
      expect(await run("none")).toBe("");
    } finally {
      await server.close();
    }
  });

  it("expands ~ and % tokens in IdentityFile, and rejects what ssh would", () => {
    const env = fakeEnv();
    const { handler } = handlerFor(
      options({ identityFiles: ["~/.ssh/id_%r_%h", "%d/k"], identityFileUserProvided: [true, false] }),
      spyPrompter(),
      { env },
    );
    expect(handler).toBeDefined();
    expect(() => handlerFor(options({ identityFiles: ["~/id_%Z"] }), spyPrompter(), { env })).toThrowError(
      expect.objectContaining({ code: "JG_CONFIG_TOKEN" }),
    );
    expect(() =>
      handlerFor(options({ identityFiles: ["~nosuchuser/id"] }), spyPrompter(), { env }),
    ).toThrowError(expect.objectContaining({ code: "JG_CONFIG_TOKEN" }));
  });

  it("looks for the expanded paths", async () => {
    const server = await startServer({ methods: ["publickey"] });
    try {
      const env = fakeEnv();
      const { lines } = await (async () => {
        const h = handlerFor(
          options({ identityFiles: ["~/.ssh/id_%r"], identityFileUserProvided: [true] }),
          spyPrompter(),
          {
            env,
          },
        );
        await connect(server.port, h.handler);
        return h;
      })();
      expect(lines).toContain("no such identity: /home/u/.ssh/id_alice: No such file or directory");
    } finally {
      await server.close();
    }
  });

  it("classifies unrelated errors as 'other'", () => {
    const { handler } = handlerFor(options(), spyPrompter());
    expect(handler.classifyError(new Error("ECONNRESET"))).toBe("other");
    expect(handler.classifyError("text")).toBe("other");
  });
});
