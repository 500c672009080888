/** `jumpgate add -h`: ssh-add's destination specs, host keys from known_hosts, its fatal errors. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDestinationSpec } from "../../../../src/cli/add/destination.js";
import { parseAddArgs } from "../../../../src/cli/add/run.js";
import type { JumpgateError } from "../../../../src/errors.js";

let dir: string;
let knownHosts: string;
let jaguarBlob: Buffer;
let caBlob: Buffer;

function keygen(name: string): { line: string; blob: Buffer } {
  const path = join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path]);
  const line = readFileSync(`${path}.pub`, "utf8").trim();
  return { line, blob: Buffer.from(line.split(" ")[1] as string, "base64") };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "jg-add-dest-"));
  const jaguar = keygen("jaguar");
  const ca = keygen("ca");
  const revoked = keygen("revoked");
  jaguarBlob = jaguar.blob;
  caBlob = ca.blob;
  knownHosts = join(dir, "known_hosts");
  writeFileSync(
    knownHosts,
    [
      `jaguar,10.0.0.1 ${jaguar.line}`,
      `@cert-authority *.lab ${ca.line}`,
      `@revoked mcg.lab ${revoked.line}`,
      `[bastion]:2222 ${jaguar.line}`,
      "",
    ].join("\n"),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fatal(spec: string): JumpgateError {
  try {
    parseDestinationSpec(spec, [knownHosts], dir);
  } catch (err) {
    return err as JumpgateError;
  }
  throw new Error(`${spec} was accepted`);
}

describe("parseDestinationSpec (ssh-add's parse_dest_constraint)", () => {
  it("a host: a first hop from here, to its known host keys", () => {
    expect(parseDestinationSpec("jaguar", [knownHosts], dir)).toEqual({
      from: { keys: [] },
      to: { hostname: "jaguar", keys: [{ blob: jaguarBlob, isCa: false }] },
    });
    expect(parseDestinationSpec("admin@10.0.0.1", [knownHosts], dir).to.user).toBe("admin");
  });

  it("from>to, CA lines as CA keys, revoked lines skipped, [host] unbracketed", () => {
    const dc = parseDestinationSpec("jaguar>mcg.lab", [knownHosts], dir);
    expect(dc.from.hostname).toBe("jaguar");
    expect(dc.to).toEqual({ hostname: "mcg.lab", keys: [{ blob: caBlob, isCa: true }] });
    expect(parseDestinationSpec("[jaguar]", [knownHosts], dir).to.hostname).toBe("jaguar");
    expect(parseDestinationSpec("[bastion]:2222", [knownHosts], dir).to.keys).toHaveLength(1);
  });

  it("'user@' alone is passed on (the agent then refuses it, as OpenSSH's does)", () => {
    expect(parseDestinationSpec("admin@", [knownHosts], dir)).toEqual({
      from: { keys: [] },
      to: { user: "admin", keys: [] },
    });
  });

  it("fails as ssh-add does (JG_AGENT_DESTINATION, exit 255)", () => {
    const none = fatal("nohost");
    expect(none.code).toBe("JG_AGENT_DESTINATION");
    expect(none.exitCode).toBe(255);
    expect(none.message).toMatch(/^No host keys found for destination "nohost"/);
    expect(fatal("u@jaguar>jaguar").message).toBe(
      "Invalid key constraint u@jaguar: cannot specify user on 'from' host",
    );
    expect(fatal(">jaguar").message).toBe(
      'Invalid key destination constraint "": does not specify user or host',
    );
    expect(fatal("mcg.lab>nohost").code).toBe("JG_AGENT_DESTINATION");
  });

  it("-h and -H are options with values, as in ssh-add", () => {
    const args = parseAddArgs(["-H", knownHosts, "-h", "jaguar", "-hjaguar>mcg.lab", "key"]);
    expect(args.destinations).toEqual(["jaguar", "jaguar>mcg.lab"]);
    expect(args.hostKeyFiles).toEqual([knownHosts]);
    expect(args.files).toEqual(["key"]);
    expect(() => parseAddArgs(["-h"])).toThrow(/requires an argument/);
  });
});
