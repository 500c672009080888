import { describe, expect, it } from "vitest";
import { sessionEnvironment } from "../../../../src/cli/ssh/env.js";

describe("sessionEnvironment", () => {
  it("sends SetEnv pairs and the local variables SendEnv names", () => {
    const env = sessionEnvironment(["FOO=bar", "EMPTY="], ["LANG", "LC_*"], {
      LANG: "fr_FR.UTF-8",
      LC_TIME: "C",
      HOME: "/root",
      FOO: "local",
    });
    expect(env).toEqual({ FOO: "bar", EMPTY: "", LANG: "fr_FR.UTF-8", LC_TIME: "C" });
  });

  it("sends nothing by default", () => {
    expect(sessionEnvironment([], [], { HOME: "/root", SECRET: "x" })).toEqual({});
  });
});
