/** The gate's check of a client's request context: malformed input is JG_GATE_PROTOCOL, never an internal error. */
import { describe, expect, it } from "vitest";
import { checkContext } from "../../../src/gate/resolve.js";

const base = { cwd: "/", env: { PATH: "/bin" } };

describe("checkContext", () => {
  it("accepts well-formed items", () => {
    const items = [
      { kind: "destination", value: "mcgonagall" },
      { kind: "identity", value: "/k" },
      { kind: "forwardAgent", value: true },
    ];
    expect(checkContext({ ...base, items }).items).toEqual(items);
  });

  it.each([
    [{ kind: "identity" }],
    [{ kind: "identity", value: 3 }],
    [{ kind: "forwardAgent", value: "yes" }],
    [{ kind: "no-such-kind", value: "x" }],
    [null],
    ["destination"],
  ])("refuses the item %j with JG_GATE_PROTOCOL", (item) => {
    expect(() => checkContext({ ...base, items: [item] })).toThrow(
      expect.objectContaining({ code: "JG_GATE_PROTOCOL" }),
    );
  });
});
