import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { dialProxyCommand, dialTcp, expandProxyCommand } from "../../../src/connection/dial.js";
import { JumpgateError } from "../../../src/errors.js";
import { silentLogger } from "../../../src/util/log.js";

const base = {
  command: "nc %h %p",
  host: "mcgonagall",
  hostArg: "mcgonagall",
  port: 22,
  user: "student",
  hostKeyAlias: null,
  hopName: "mcgonagall",
  log: silentLogger,
};

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof JumpgateError) return error.code;
    throw error;
  }
  return "no error";
}

describe("expandProxyCommand", () => {
  it("expands %h %k %n %p %r %% after 'exec', as OpenSSH does", () => {
    expect(expandProxyCommand({ ...base, command: "ssh -W %h:%p -l %r jaguar # %n %k 100%%" })).toBe(
      "exec ssh -W mcgonagall:22 -l student jaguar # mcgonagall mcgonagall 100%",
    );
  });

  it("refuses host and user names a shell would interpret", () => {
    for (const bad of [
      { host: "x;rm -rf ~" },
      { host: "-oProxyCommand=evil" },
      { host: "a b" },
      { hostArg: "$(id)" },
      { user: "bob`id`" },
      { hostKeyAlias: "a|b" },
    ]) {
      let code = "";
      try {
        expandProxyCommand({ ...base, ...bad });
      } catch (error) {
        code = (error as JumpgateError).code;
      }
      expect(code, JSON.stringify(bad)).toBe("JG_PROXYCOMMAND");
    }
  });

  it("refuses tokens ProxyCommand does not accept", () => {
    expect(() => expandProxyCommand({ ...base, command: "nc %h %C" })).toThrow(/ProxyCommand accepts/);
  });
});

describe("dialProxyCommand", () => {
  it("speaks through the child's stdin and stdout", async () => {
    const { stream } = await dialProxyCommand({ ...base, command: "cat" });
    const echoed = new Promise<string>((resolve) => {
      let text = "";
      stream.on("data", (d: Buffer) => {
        text += d.toString();
        if (text.includes("\n")) resolve(text);
      });
    });
    stream.write("hello through a proxy\n");
    expect(await echoed).toBe("hello through a proxy\n");
    stream.destroy();
  });
});

describe("dialTcp", () => {
  it("connects and turns Nagle off", async () => {
    const server = createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as { port: number }).port;
    const socket = await dialTcp({
      host: "127.0.0.1",
      port,
      connectTimeout: 5,
      attempts: 1,
      addressFamily: 0,
      log: silentLogger,
      hopName: "t",
    });
    expect(socket.remotePort).toBe(port);
    socket.destroy();
    server.close();
  });

  it("reports a refused port with the hop's name", async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as { port: number }).port;
    server.close();
    const code = await codeOf(
      dialTcp({
        host: "127.0.0.1",
        port,
        connectTimeout: 5,
        attempts: 1,
        addressFamily: 0,
        log: silentLogger,
        hopName: "jaguar",
      }),
    );
    expect(code).toBe("JG_CONNECT_REFUSED");
  });
});
