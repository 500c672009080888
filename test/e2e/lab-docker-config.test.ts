/**
 * docker/sshd_config must be what the lab's one sshd template renders for the Docker paths, so the
 * Docker lab and the test lab cannot drift apart. Regenerate after changing the template:
 *   npx vitest run test/e2e/lab-docker-config.test.ts -u
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeE2E, ensurePrivsepDir, labProgram } from "../support/lab.js";
import { runCommand } from "../support/proc.js";
import { DOCKER_SSHD_PATHS, dockerSshdConfig } from "../support/sshd-config.js";

const DOCKER_SSHD_CONFIG = fileURLToPath(new URL("../../docker/sshd_config", import.meta.url));

describe("docker/sshd_config", () => {
  it("is exactly dockerSshdConfig() (regenerate with -u)", async () => {
    await expect(dockerSshdConfig()).toMatchFileSnapshot(DOCKER_SSHD_CONFIG);
  });
});

describeE2E("docker/sshd_config against this OpenSSH", "sshd", () => {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "jg-docker-config-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("passes sshd -t", async () => {
    // The image's host key does not exist here; -h supplies a stand-in so -t checks everything else.
    const hostKey = path.join(dir, "host_key");
    const keygen = await runCommand(labProgram("sshKeygen"), [
      "-q",
      "-t",
      "ed25519",
      "-N",
      "",
      "-f",
      hostKey,
    ]);
    expect(keygen.code).toBe(0);
    ensurePrivsepDir();
    const r = await runCommand(labProgram("sshd"), ["-t", "-f", DOCKER_SSHD_CONFIG, "-h", hostKey]);
    // Only the missing image host key may be reported.
    const complaints = r.stderr
      .split("\n")
      .filter((line) => line !== "" && line !== `Unable to load host key: ${DOCKER_SSHD_PATHS.hostKeyPath}`);
    expect(complaints).toEqual([]);
    expect(r.code).toBe(0);
  });
});
