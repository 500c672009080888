import { describe, expect, it } from "vitest";
import {
  generateEd25519,
  isSafeLabPath,
  knownHostsName,
  publicKeyBody,
  renderKnownHosts,
  renderSshConfig,
} from "../../../src/demo/files.js";

describe("demo lab files", () => {
  it("generates OpenSSH-format ed25519 keys", () => {
    const key = generateEd25519("c@d");
    expect(key.privateKey).toMatch(
      /^-----BEGIN OPENSSH PRIVATE KEY-----\n[\s\S]+-----END OPENSSH PRIVATE KEY-----\n$/,
    );
    expect(key.publicKey).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\S+ c@d$/);
    expect(publicKeyBody(key.publicKey)).toBe(key.publicKey.split(" ").slice(0, 2).join(" "));
  });

  it("names known hosts like ssh: bare on port 22, bracketed otherwise", () => {
    expect(knownHostsName("mcgonagall", 22)).toBe("mcgonagall");
    expect(knownHostsName("127.0.0.1", 2222)).toBe("[127.0.0.1]:2222");
    expect(renderKnownHosts([{ host: "h", port: 22, publicKey: "ssh-ed25519 AAAA comment here" }])).toBe(
      "h ssh-ed25519 AAAA\n",
    );
  });

  it("accepts only paths OpenSSH's ProxyJump can pass through its unquoted shell command", () => {
    expect(isSafeLabPath("/tmp/jumpgate-demo-Ab12Cd/ssh_config")).toBe(true);
    expect(isSafeLabPath("/home/a.b+c@d,e:f=g_h")).toBe(true);
    for (const bad of [
      "/tmp/my dir",
      "/tmp/100%h",
      "/tmp/a'b",
      '/tmp/a"b',
      "/tmp/$x",
      "/tmp/a;b",
      "/tmp/~x",
      "/tmp/a\nb",
    ]) {
      expect(isSafeLabPath(bad)).toBe(false);
    }
  });

  it("puts Host * last, so the host blocks can override it (first value wins)", () => {
    const text = renderSshConfig({
      jaguarHost: "127.0.0.1",
      jaguarPort: 40000,
      mcgonagallName: "mcgonagall",
      mcgonagallPort: 22,
      user: "demo",
      identityPath: "/x/id_ed25519",
      knownHostsPath: "/x/known_hosts",
    });
    const hosts = text.split("\n").filter((l) => l.startsWith("Host "));
    expect(hosts).toEqual(["Host jaguar", "Host mcgonagall", "Host *"]);
    expect(text).toContain("    UserKnownHostsFile /x/known_hosts\n");
  });
});
