import { describe, expect, it } from "vitest";
import {
  type Forward,
  formatForward,
  forwardEquals,
  isDynamic,
  PORT_STREAMLOCAL,
  parseForward,
  parseForwardOf,
} from "../../../src/config/forward.js";

const noEnv = (s: string): string | null => s;
const local = (spec: string) => parseForward(spec, false, false, noEnv);
const remote = (spec: string) => parseForward(spec, false, true, noEnv);
const dynamic = (spec: string) => parseForward(spec, true, false, noEnv);

function fwd(partial: Partial<Forward>): Forward {
  return {
    listenHost: null,
    listenPort: 0,
    listenPath: null,
    connectHost: null,
    connectPort: 0,
    connectPath: null,
    ...partial,
  };
}

describe("parseForward: local and remote TCP forwards", () => {
  it("port:host:hostport", () => {
    expect(local("1111:localhost:12345")).toEqual(
      fwd({ listenPort: 1111, connectHost: "localhost", connectPort: 12345 }),
    );
  });

  it("bind_address:port:host:hostport", () => {
    expect(local("127.0.0.1:1111:localhost:12345")).toEqual(
      fwd({ listenHost: "127.0.0.1", listenPort: 1111, connectHost: "localhost", connectPort: 12345 }),
    );
    expect(local("*:1111:db:5432")).toEqual(
      fwd({ listenHost: "*", listenPort: 1111, connectHost: "db", connectPort: 5432 }),
    );
    expect(local(":1111:db:5432")).toEqual(
      fwd({ listenHost: "", listenPort: 1111, connectHost: "db", connectPort: 5432 }),
    );
  });

  it("IPv6 addresses in brackets on either side", () => {
    expect(local("[::1]:2222:[fe80::2]:22")).toEqual(
      fwd({ listenHost: "::1", listenPort: 2222, connectHost: "fe80::2", connectPort: 22 }),
    );
    expect(local("2222:[::1]:22")).toEqual(fwd({ listenPort: 2222, connectHost: "::1", connectPort: 22 }));
  });

  it("a service name is a port", () => {
    expect(local("1111:h:ssh")).toEqual(fwd({ listenPort: 1111, connectHost: "h", connectPort: 22 }));
  });

  it("a backslash escapes ':' in a field", () => {
    expect(local("1111:a\\:b:22")).toEqual(fwd({ listenPort: 1111, connectHost: "a:b", connectPort: 22 }));
  });

  it("an empty connect host is kept (ssh -G prints `localforward 1111 []:22`)", () => {
    expect(local("1111::22")).toEqual(fwd({ listenPort: 1111, connectHost: "", connectPort: 22 }));
  });

  it("skips leading whitespace", () => {
    expect(local("  \t1111:h:22")).toEqual(fwd({ listenPort: 1111, connectHost: "h", connectPort: 22 }));
  });

  it("listen port 0 is allowed only for remote forwards", () => {
    expect(local("0:localhost:22")).toBeNull();
    expect(remote("0:localhost:22")).toEqual(
      fwd({ listenPort: 0, connectHost: "localhost", connectPort: 22 }),
    );
  });
});

describe("parseForward: Unix-domain socket paths", () => {
  it("path:path", () => {
    expect(local("/tmp/a.sock:/tmp/b.sock")).toEqual(
      fwd({
        listenPath: "/tmp/a.sock",
        listenPort: PORT_STREAMLOCAL,
        connectPath: "/tmp/b.sock",
        connectPort: PORT_STREAMLOCAL,
      }),
    );
  });

  it("port:path", () => {
    expect(local("3333:/run/app.sock")).toEqual(
      fwd({ listenPort: 3333, connectPath: "/run/app.sock", connectPort: PORT_STREAMLOCAL }),
    );
  });

  it("path:host:port", () => {
    expect(remote("/tmp/x.sock:localhost:80")).toEqual(
      fwd({
        listenPath: "/tmp/x.sock",
        listenPort: PORT_STREAMLOCAL,
        connectHost: "localhost",
        connectPort: 80,
      }),
    );
  });

  it("bind:port:path", () => {
    expect(local("localhost:3333:/run/app.sock")).toEqual(
      fwd({
        listenHost: "localhost",
        listenPort: 3333,
        connectPath: "/run/app.sock",
        connectPort: PORT_STREAMLOCAL,
      }),
    );
  });

  it("a '/' inside brackets also makes a path; an escaped '/' does not", () => {
    expect(local("1111:[/run/x]")).toEqual(
      fwd({ listenPort: 1111, connectPath: "/run/x", connectPort: PORT_STREAMLOCAL }),
    );
    expect(local("1111:a\\/b")).toBeNull();
  });

  it("socket paths must fit sun_path (108 bytes with the NUL)", () => {
    const ok = `/${"p".repeat(106)}`;
    const tooLong = `/${"p".repeat(107)}`;
    expect(local(`1111:${ok}`)?.connectPath).toBe(ok);
    expect(local(`1111:${tooLong}`)).toBeNull();
    expect(local(`${tooLong}:/tmp/b`)).toBeNull();
  });

  it(`\${VAR} is expanded before deciding that a field is a path`, () => {
    const env = (s: string) => s.replace(`\${SOCK}`, "/tmp/agent.sock");
    expect(parseForward(`1111:\${SOCK}`, false, false, env)).toEqual(
      fwd({ listenPort: 1111, connectPath: "/tmp/agent.sock", connectPort: PORT_STREAMLOCAL }),
    );
    expect(parseForward(`1111:\${UNSET}`, false, false, () => null)).toBeNull();
  });
});

describe("parseForward: dynamic forwards", () => {
  it("port, bind:port and [v6]:port", () => {
    expect(dynamic("1080")).toEqual(fwd({ listenPort: 1080, connectHost: "socks" }));
    expect(dynamic("localhost:1080")).toEqual(
      fwd({ listenHost: "localhost", listenPort: 1080, connectHost: "socks" }),
    );
    expect(dynamic("[::1]:1080")).toEqual(fwd({ listenHost: "::1", listenPort: 1080, connectHost: "socks" }));
  });

  it("a remote dynamic forward is `RemoteForward [bind:]port`", () => {
    expect(parseForward("8080", true, true, noEnv)).toEqual(fwd({ listenPort: 8080, connectHost: "socks" }));
    expect(parseForward("0", true, true, noEnv)).toEqual(fwd({ listenPort: 0, connectHost: "socks" }));
  });

  it("refuses three or more fields and port 0 for local ones", () => {
    expect(dynamic("a:1080:b")).toBeNull();
    expect(dynamic("0")).toBeNull();
  });
});

describe("parseForward: bad specifications", () => {
  it.each([
    ["1111"],
    ["1111:host"],
    ["1111:host:0"],
    ["1111:host:-1"],
    ["1111:host:http-nope"],
    ["70000:host:22"],
    ["a:b:c:d:e"],
    ["[::1:1111:h:22"],
    ["[::1]x:1111:h:22"],
    ["1111:h:22\\"],
    [""],
  ])("local %j is refused", (spec) => {
    expect(local(spec)).toBeNull();
  });

  it("host names must be shorter than NI_MAXHOST", () => {
    expect(local(`1111:${"h".repeat(1024)}:22`)).not.toBeNull();
    expect(local(`1111:${"h".repeat(1025)}:22`)).toBeNull();
    expect(local(`${"h".repeat(1025)}:1111:h:22`)).toBeNull();
  });
});

describe("formatForward (ssh -G)", () => {
  it("prints ports bare, hosts in brackets and paths as they are", () => {
    expect(formatForward(local("1111:localhost:12345")!, "local")).toBe("1111 [localhost]:12345");
    expect(formatForward(local("127.0.0.1:1111:localhost:12345")!, "local")).toBe(
      "[127.0.0.1]:1111 [localhost]:12345",
    );
    expect(formatForward(local("[::1]:2222:[::2]:22")!, "local")).toBe("[::1]:2222 [::2]:22");
    expect(formatForward(local("/tmp/a.sock:/tmp/b.sock")!, "local")).toBe("/tmp/a.sock /tmp/b.sock");
    expect(formatForward(local("3333:/run/app.sock")!, "local")).toBe("3333 /run/app.sock");
    expect(formatForward(remote("0:localhost:22")!, "remote")).toBe("0 [localhost]:22");
  });

  it("prints only the listen side of a dynamic forward", () => {
    expect(formatForward(dynamic("1080")!, "dynamic")).toBe("1080");
    expect(formatForward(dynamic("localhost:1080")!, "dynamic")).toBe("[localhost]:1080");
  });
});

describe("forwardEquals / isDynamic", () => {
  it("compares every field", () => {
    expect(forwardEquals(local("1111:h:22")!, local("1111:h:22")!)).toBe(true);
    expect(forwardEquals(local("1111:h:22")!, local("1111:h:23")!)).toBe(false);
    expect(forwardEquals(local("1111:h:22")!, local("*:1111:h:22")!)).toBe(false);
  });

  it("recognises SOCKS forwards by their connect host", () => {
    expect(isDynamic(dynamic("1080")!)).toBe(true);
    expect(isDynamic(local("1080:h:22")!)).toBe(false);
  });
});

describe("parseForwardOf (a -L/-R/-D argument as ssh reads it)", () => {
  it("-R takes the one-field remote dynamic form too; -L does not", () => {
    expect(parseForwardOf("remote", "8080", (s) => s)).toMatchObject({
      listenPort: 8080,
      connectHost: "socks",
    });
    expect(parseForwardOf("remote", "0:127.0.0.1:22", (s) => s)).toMatchObject({
      listenPort: 0,
      connectHost: "127.0.0.1",
      connectPort: 22,
    });
    expect(parseForwardOf("local", "8080", (s) => s)).toBeNull();
    expect(parseForwardOf("dynamic", "1080", (s) => s)).toMatchObject({
      listenPort: 1080,
      connectHost: "socks",
    });
  });
});
