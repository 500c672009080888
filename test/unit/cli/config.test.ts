import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatRoute, runConfig } from "../../../src/cli/commands/config.js";
import { jumpgateErrorOf } from "../../support/errors.js";

let dir: string;
let config: string;

const LAB = [
  "Host jaguar",
  "    HostName 127.0.0.1",
  "    Port 2201",
  "    User alice",
  "Host mcgonagall",
  "    HostName 127.0.0.2",
  "    User minerva",
  "    ProxyJump jaguar",
  "    LocalForward 1111 localhost:12345",
  "    IdentityFile ~/.ssh/id_minerva",
  "Host piped",
  "    HostName 10.0.0.9",
  "    User p",
  "    ProxyCommand nc -X connect %h %p",
  "Host loop-a",
  "    User l",
  "    ProxyJump loop-b",
  "Host loop-b",
  "    User l",
  "    ProxyJump loop-a",
  "",
].join("\n");

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "jumpgate-unit-config-"));
  config = join(dir, "config");
  writeFileSync(config, LAB);
  writeFileSync(join(dir, "id_present"), "not really a key\n");
  writeFileSync(join(dir, "utf8"), "Host café\n    User josé\n    HostName café.example\n", "utf8");
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const usageError = jumpgateErrorOf;

describe("runConfig: ssh -G output", () => {
  it("prints one 'keyword value' line per value, ending with a newline", () => {
    const out = runConfig(["-F", config, "jaguar"]);
    const lines = out.trimEnd().split("\n");
    expect(out.endsWith("\n")).toBe(true);
    expect(lines[0]).toBe("host jaguar");
    expect(lines).toContain("user alice");
    expect(lines).toContain("hostname 127.0.0.1");
    expect(lines).toContain("port 2201");
  });

  it("takes ssh's options in ssh's order", () => {
    const lines = runConfig(["-F", config, "-p2222", "-oUser=bob", "-l", "carol", "jaguar"]).split("\n");
    expect(lines).toContain("port 2222");
    expect(lines).toContain("user bob");
    const after = runConfig(["-F", config, "jaguar", "-p", "2300"]).split("\n");
    expect(after).toContain("port 2300");
  });

  it("-L, -D and -A reach the options", () => {
    const lines = runConfig(["-F", config, "-A", "-L", "2222:db:5432", "-D1080", "jaguar"]).split("\n");
    expect(lines).toContain("forwardagent yes");
    expect(lines).toContain("localforward 2222 [db]:5432");
    expect(lines).toContain("dynamicforward 1080");
  });

  it("-i adds an identity file that exists", () => {
    const key = join(dir, "id_present");
    const lines = runConfig(["-F", config, "-i", key, "jaguar"]).split("\n");
    expect(lines).toContain(`identityfile ${key}`);
  });

  // ssh.c stat()s an -i file and only warns ("Identity file ... not accessible") when it is missing;
  // the file is not added, so `ssh -G -i /nonexistent/key h` prints the default identity files.
  it("-i with a file that does not exist is not added", () => {
    const lines = runConfig(["-F", config, "-i", join(dir, "no-such-key"), "jaguar"]).split("\n");
    expect(lines).not.toContain(`identityfile ${join(dir, "no-such-key")}`);
    expect(lines).toContain("identityfile ~/.ssh/id_rsa");
  });

  it("does not follow the route for plain output, so a jump loop still prints", () => {
    expect(runConfig(["-F", config, "loop-a"]).split("\n")).toContain("proxyjump loop-b");
  });

  // ssh compares and prints bytes: with a UTF-8 config and a UTF-8 command line, `ssh -G -F utf8 café`
  // matches `Host café` and prints `user josé` (the same bytes that were in the file).
  it("handles a UTF-8 config file like the UTF-8 command line", () => {
    const lines = runConfig(["-F", join(dir, "utf8"), "café"]).split("\n");
    expect(lines).toContain("user josé");
    expect(lines).toContain("hostname café.example");
  });

  it("-F none reads no file", () => {
    expect(runConfig(["-F", "none", "jaguar"]).split("\n")).toContain("hostname jaguar");
  });

  it("refuses a second operand and a missing destination", () => {
    expect(usageError(() => runConfig(["-F", config, "jaguar", "uptime"])).code).toBe("JG_USAGE");
    expect(usageError(() => runConfig(["-F", config])).code).toBe("JG_USAGE");
  });

  it("refuses unknown options", () => {
    expect(usageError(() => runConfig(["-F", config, "-Z", "jaguar"])).code).toBe("JG_USAGE");
  });

  it("a missing -F file is a config error", () => {
    expect(usageError(() => runConfig(["-F", join(dir, "missing"), "jaguar"])).code).toBe("JG_CONFIG_FILE");
  });
});

describe("runConfig --route", () => {
  it("shows every hop, each resolved through the config", () => {
    expect(runConfig(["-F", config, "--route", "mcgonagall"])).toBe(
      "you -> jaguar (127.0.0.1:2201) -> mcgonagall (127.0.0.2:22)\n",
    );
  });

  it("a direct host is one hop", () => {
    expect(runConfig(["-F", config, "--route", "jaguar"])).toBe("you -> jaguar (127.0.0.1:2201)\n");
  });

  it("-J on the command line puts its hops first", () => {
    expect(runConfig(["-F", config, "-J", "jaguar", "--route", "other"])).toBe(
      "you -> jaguar (127.0.0.1:2201) -> other (other:22)\n",
    );
  });

  it("shows a ProxyCommand hop with its command", () => {
    expect(runConfig(["-F", config, "--route", "piped"])).toBe(
      "you -> piped (10.0.0.9:22 via ProxyCommand: nc -X connect %h %p)\n",
    );
  });

  it("a jump loop is JG_JUMP_LOOP, not a hang", () => {
    expect(usageError(() => runConfig(["-F", config, "--route", "loop-a"])).code).toBe("JG_JUMP_LOOP");
  });
});

describe("runConfig --json", () => {
  it("has the destination, the options (repeated keywords as arrays) and the route", () => {
    const json = JSON.parse(runConfig(["-F", config, "--json", "mcgonagall"])) as {
      destination: string;
      options: Record<string, string | string[]>;
      route: Array<{ name: string; user: string; hostname: string; port: number; transport: string }>;
    };
    expect(json.destination).toBe("mcgonagall");
    expect(json.options.hostname).toBe("127.0.0.2");
    expect(json.options.port).toBe("22");
    expect(json.options.user).toBe("minerva");
    expect(json.options.proxyjump).toBe("jaguar");
    expect(json.options.localforward).toBe("1111 [localhost]:12345");
    // A keyword printed once is a plain string.
    expect(json.options.identityfile).toBe("~/.ssh/id_minerva");
    expect(json.options.sendenv).toBeUndefined();
    expect(json.route).toEqual([
      { name: "jaguar", user: "alice", hostname: "127.0.0.1", port: 2201, transport: "tcp" },
      { name: "mcgonagall", user: "minerva", hostname: "127.0.0.2", port: 22, transport: "jump" },
    ]);
  });

  it("repeated keywords become arrays in order", () => {
    const json = JSON.parse(
      runConfig(["-F", config, "--json", "-i", join(dir, "id_present"), "mcgonagall"]),
    ) as {
      options: Record<string, string | string[]>;
    };
    expect(json.options.identityfile).toEqual([join(dir, "id_present"), "~/.ssh/id_minerva"]);
  });

  it("--json and plain output agree line for line", () => {
    const plain = runConfig(["-F", config, "jaguar"]).trimEnd().split("\n");
    const json = JSON.parse(runConfig(["-F", config, "--json", "jaguar"])) as {
      options: Record<string, string | string[]>;
    };
    const fromJson = Object.entries(json.options).flatMap(([k, v]) =>
      (Array.isArray(v) ? v : [v]).map((x) => `${k} ${x}`),
    );
    expect(fromJson.sort()).toEqual([...plain].sort());
  });
});

describe("formatRoute", () => {
  it("brackets IPv6 addresses and names ProxyCommand hops", () => {
    expect(
      formatRoute([
        { name: "v6", user: "u", hostname: "::1", port: 2222, transport: "tcp" },
        { name: "inner", user: "u", hostname: "10.1.1.1", port: 22, transport: "jump" },
      ]),
    ).toBe("you -> v6 ([::1]:2222) -> inner (10.1.1.1:22)");
    expect(formatRoute([])).toBe("you");
  });
});
