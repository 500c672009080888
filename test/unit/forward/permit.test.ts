/** PermitRemoteOpen's matching, as OpenSSH's open_match: literal names, `*` for host or port. */
import { describe, expect, it } from "vitest";
import { remoteOpenAllowed } from "../../../src/forward/permit.js";

describe("remoteOpenAllowed", () => {
  it.each([
    [[], "10.0.0.1", 22, true],
    [["any"], "10.0.0.1", 22, true],
    [["none"], "127.0.0.1", 80, false],
    [["127.0.0.1:80"], "127.0.0.1", 80, true],
    [["127.0.0.1:80"], "127.0.0.1", 81, false],
    [["127.0.0.1:80"], "localhost", 80, false],
    [["*:443"], "example.internal", 443, true],
    [["*:443"], "example.internal", 80, false],
    [["db:*"], "db", 5432, true],
    [["[::1]:8080"], "::1", 8080, true],
    [["a:1", "b:2"], "b", 2, true],
    [["a:1", "b:2"], "b", 1, false],
  ] as const)("%j allows %s:%d -> %s", (permits, host, port, want) => {
    expect(remoteOpenAllowed(permits, host, port)).toBe(want);
  });
});
