import { describe, expect, it } from "vitest";
import { terminalSafe } from "../../../src/util/terminal-text.js";

describe("terminalSafe", () => {
  it("turns escapes, bells and C1 controls into '?', keeps newlines, tabs and letters", () => {
    expect(terminalSafe("a\u001b]0;OWNED\u0007b\u001b[31mc\u009bd")).toBe("a?]0;OWNED?b?[31mc?d");
    expect(terminalSafe("line 1\n\tline 2 é ✓")).toBe("line 1\n\tline 2 é ✓");
  });
});
