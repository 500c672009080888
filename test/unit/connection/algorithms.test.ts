import { describe, expect, it } from "vitest";
import { resolve } from "../../../src/config/resolve.js";
import { ssh2Algorithms } from "../../../src/connection/algorithms.js";
import { JumpgateError } from "../../../src/errors.js";

function optionsFor(...config: string[]) {
  return resolve({
    items: [
      ...config.map((value) => ({ kind: "option" as const, value })),
      { kind: "destination", value: "h" },
    ],
    configFile: "none",
  }).options;
}

describe("ssh2Algorithms", () => {
  it("keeps OpenSSH's default order and quietly drops what ssh2 lacks", () => {
    const a = ssh2Algorithms(optionsFor());
    expect(a.cipher[0]).toBe("chacha20-poly1305@openssh.com");
    expect(a.hmac).not.toContain("umac-64-etm@openssh.com");
    expect(a.hmac[0]).toBe("hmac-sha2-256-etm@openssh.com");
    expect(a.kex).not.toContain("sntrup761x25519-sha512@openssh.com");
    expect(a.kex).toContain("curve25519-sha256");
    expect(a.serverHostKey[0]).toBe("ssh-ed25519");
    expect(a.compress).toEqual(["none"]);
  });

  it("uses exactly the list the user wrote", () => {
    const a = ssh2Algorithms(optionsFor("Ciphers=aes256-ctr,aes128-ctr", "Compression=yes"));
    expect(a.cipher).toEqual(["aes256-ctr", "aes128-ctr"]);
    expect(a.compress[0]).toBe("zlib@openssh.com");
  });

  it("refuses a name the user asked for that ssh2 cannot do", () => {
    let error: unknown;
    try {
      ssh2Algorithms(optionsFor("MACs=umac-64-etm@openssh.com,hmac-sha2-256"));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(JumpgateError);
    expect((error as JumpgateError).code).toBe("JG_ALGORITHM_UNSUPPORTED");
    expect((error as JumpgateError).message).toMatch(/umac-64-etm@openssh.com/);
  });

  it("accepts removals of names ssh2 lacks anyway", () => {
    expect(ssh2Algorithms(optionsFor("MACs=-umac*")).hmac).toContain("hmac-sha2-256");
  });
});
