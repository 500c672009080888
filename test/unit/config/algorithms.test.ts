import { describe, expect, it } from "vitest";
import {
  ALL_CIPHERS,
  ALL_KEX,
  ALL_KEY_ALGS,
  ALL_MACS,
  algorithmListValid,
  assembleNames,
  DEFAULT_CIPHERS,
  DEFAULT_KEX,
  DEFAULT_KEY_ALGS,
  DEFAULT_MACS,
} from "../../../src/config/algorithms.js";

const ciphers = (value: string | undefined) => assembleNames(value, DEFAULT_CIPHERS, ALL_CIPHERS);

describe("assembleNames (kex.c kex_assemble_names)", () => {
  it("no value or an empty one gives the defaults", () => {
    expect(ciphers(undefined)).toBe(DEFAULT_CIPHERS);
    expect(ciphers("")).toBe(DEFAULT_CIPHERS);
  });

  it("'+' appends names not already present", () => {
    expect(ciphers("+aes128-cbc")).toBe(`${DEFAULT_CIPHERS},aes128-cbc`);
    expect(ciphers("+aes128-ctr")).toBe(DEFAULT_CIPHERS);
    expect(ciphers("+")).toBe(DEFAULT_CIPHERS);
  });

  it("'+' expands wildcards against everything supported, in that order", () => {
    expect(ciphers("+*-cbc")).toBe(`${DEFAULT_CIPHERS},3des-cbc,aes128-cbc,aes192-cbc,aes256-cbc`);
  });

  it("'-' removes matching names from the defaults", () => {
    expect(ciphers("-aes128-ctr")).toBe(DEFAULT_CIPHERS.replace("aes128-ctr,", ""));
    expect(ciphers("-aes*")).toBe("chacha20-poly1305@openssh.com");
    expect(ciphers("-nosuch")).toBe(DEFAULT_CIPHERS);
    // Removing everything is not an error at this stage.
    expect(ciphers("-*")).toBe("");
  });

  it("'^' puts names first", () => {
    expect(ciphers("^aes256-cbc")).toBe(`aes256-cbc,${DEFAULT_CIPHERS}`);
    expect(ciphers("^aes256-ctr")).toBe(
      `aes256-ctr,${DEFAULT_CIPHERS.split(",")
        .filter((c) => c !== "aes256-ctr")
        .join(",")}`,
    );
  });

  it("an explicit list replaces the defaults, in the list's order, without duplicates", () => {
    expect(ciphers("aes256-ctr,aes128-ctr")).toBe("aes256-ctr,aes128-ctr");
    expect(ciphers("aes128-ctr,aes128-ctr")).toBe("aes128-ctr");
    expect(ciphers("aes*-ctr")).toBe("aes128-ctr,aes192-ctr,aes256-ctr");
    expect(ciphers("aes256-ctr,aes*-ctr")).toBe("aes256-ctr,aes128-ctr,aes192-ctr");
  });

  it("a list that matches nothing is null (OpenSSH refuses it)", () => {
    expect(ciphers("nosuch")).toBeNull();
    expect(ciphers("nosuch*")).toBeNull();
    expect(ciphers("+")).not.toBeNull();
  });

  it("negations are not allowed outside '-'", () => {
    expect(ciphers("!aes128-ctr")).toBeNull();
    expect(ciphers("aes128-ctr,!aes192-ctr")).toBeNull();
    expect(ciphers("+!aes128-cbc")).toBeNull();
  });

  it("works the same for MACs, kex and key types", () => {
    expect(assembleNames("hmac-sha2-*", DEFAULT_MACS, ALL_MACS)).toBe(
      "hmac-sha2-256,hmac-sha2-512,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com",
    );
    expect(assembleNames("-diffie-hellman*", DEFAULT_KEX, ALL_KEX)).not.toContain("diffie-hellman");
    expect(assembleNames("ssh-ed25519*", DEFAULT_KEY_ALGS, ALL_KEY_ALGS)).toBe(
      "ssh-ed25519,ssh-ed25519-cert-v01@openssh.com",
    );
  });
});

describe("algorithmListValid (ciphers_valid, mac_valid, kex_names_valid, sshkey_names_valid2)", () => {
  it("accepts known names, with or without +, ^", () => {
    expect(algorithmListValid("cipher", "aes128-ctr,chacha20-poly1305@openssh.com")).toBe(true);
    expect(algorithmListValid("cipher", "+aes128-cbc")).toBe(true);
    expect(algorithmListValid("cipher", "^aes256-cbc")).toBe(true);
    expect(algorithmListValid("mac", "hmac-sha2-256")).toBe(true);
    expect(algorithmListValid("kex", "curve25519-sha256")).toBe(true);
    expect(algorithmListValid("key", "ssh-ed25519,rsa-sha2-512-cert-v01@openssh.com")).toBe(true);
  });

  it("refuses unknown names and empty lists", () => {
    expect(algorithmListValid("cipher", "nosuch")).toBe(false);
    expect(algorithmListValid("cipher", "aes128-ctr,nosuch")).toBe(false);
    expect(algorithmListValid("cipher", "")).toBe(false);
    expect(algorithmListValid("cipher", "+")).toBe(false);
    expect(algorithmListValid("cipher", "^nosuch")).toBe(false);
    expect(algorithmListValid("mac", "hmac-sha3")).toBe(false);
    expect(algorithmListValid("kex", "aes128-ctr")).toBe(false);
    // Names of one kind are not names of another.
    expect(algorithmListValid("cipher", "hmac-sha1")).toBe(false);
  });

  it("never checks a '-' list", () => {
    expect(algorithmListValid("cipher", "-nosuch")).toBe(true);
  });

  it("wildcards are allowed only in key type lists, and must match something", () => {
    expect(algorithmListValid("cipher", "aes*")).toBe(false);
    expect(algorithmListValid("mac", "hmac-sha2-*")).toBe(false);
    expect(algorithmListValid("key", "ssh-ed25519*")).toBe(true);
    expect(algorithmListValid("key", "+*-cert-v01@openssh.com")).toBe(true);
    expect(algorithmListValid("key", "nosuch*")).toBe(false);
  });

  // The C validators loop `for (p = strsep(...); p && *p != '\0'; ...)`: the first empty element
  // ends the check. `ssh -G` accepts `Ciphers aes128-ctr,` and `Ciphers ,aes128-ctr` (and prints
  // `ciphers aes128-ctr`), and even `Ciphers aes128-ctr,,nosuch`.
  it("stops checking at the first empty element, like the C validators", () => {
    expect(algorithmListValid("cipher", "aes128-ctr,")).toBe(true);
    expect(algorithmListValid("cipher", ",aes128-ctr")).toBe(true);
    expect(algorithmListValid("cipher", "aes128-ctr,,nosuch")).toBe(true);
    expect(algorithmListValid("mac", "hmac-sha1,")).toBe(true);
  });

  // sshkey_type_from_name() also accepts the short names of plain key types, case-insensitively:
  // `ssh -G` accepts `HostKeyAlgorithms ssh-ed25519,rsa` and `PubkeyAcceptedAlgorithms ssh-ed25519,ECDSA`.
  it("accepts short key type names (RSA, ECDSA, ED25519, ...) in key lists", () => {
    expect(algorithmListValid("key", "ssh-ed25519,rsa")).toBe(true);
    expect(algorithmListValid("key", "ssh-ed25519,ECDSA")).toBe(true);
    expect(algorithmListValid("key", "ED25519")).toBe(true);
  });
});
