/**
 * The transfer request's checks (what the gate accepts from a CLI) and errors on the wire.
 */
import { describe, expect, it } from "vitest";
import { JumpgateError } from "../../../src/errors.js";
import { errorFromWire } from "../../../src/gate/client.js";
import { checkTransferArgs, hostItems, toWire } from "../../../src/gate/transfer.js";

const base = { items: [], cwd: "/home/me", env: { HOME: "/home/me" } };
const host = { user: null, host: "mcgonagall", port: null };

describe("checkTransferArgs", () => {
  it("accepts a cp request with absolute local paths", () => {
    const args = checkTransferArgs({
      ...base,
      op: "cp",
      sources: [{ kind: "local", path: "/home/me/a.txt" }],
      target: { kind: "remote", host, path: "/tmp/" },
      recursive: true,
    });
    expect(args).toMatchObject({ op: "cp", recursive: true, preserve: false });
  });

  it("refuses a relative local path: the gate's cwd must never be used for the CLI's names", () => {
    const bad = () =>
      checkTransferArgs({
        ...base,
        op: "cp",
        sources: [{ kind: "local", path: "a.txt" }],
        target: { kind: "remote", host, path: "/tmp/" },
      });
    expect(bad).toThrow(/absolute/);
    expect(() =>
      checkTransferArgs({ ...base, op: "push", host, remoteDir: "x", localDir: "app", exclude: [] }),
    ).toThrow(expect.objectContaining({ code: "JG_GATE_PROTOCOL" }));
  });

  it("refuses unknown ops, malformed hosts and a pull with nowhere to write", () => {
    expect(() => checkTransferArgs({ ...base, op: "rm" })).toThrow(/op must be/);
    expect(() =>
      checkTransferArgs({ ...base, op: "pull", host: { host: "" }, remoteDir: "x", localDir: "/x" }),
    ).toThrow(/remote host/);
    expect(() => checkTransferArgs({ ...base, op: "pull", host, remoteDir: "x" })).toThrow(
      /localDir or toFile/,
    );
    expect(() =>
      checkTransferArgs({ ...base, op: "pull", host, remoteDir: "x", localDir: "/x", maxEntries: "9" }),
    ).toThrow(/maxEntries/);
  });

  it("puts the operand's user and port before the common options, the host last", () => {
    expect(
      hostItems({ user: "alice", host: "h", port: 2222 }, [{ kind: "option", value: "Port=22" }]),
    ).toEqual([
      { kind: "user", value: "alice" },
      { kind: "port", value: "2222" },
      { kind: "option", value: "Port=22" },
      { kind: "destination", value: "h" },
    ]);
  });
});

describe("errors on the wire", () => {
  it("keep an exit status that is not the code's usual one", () => {
    const wire = toWire(new JumpgateError("JG_USAGE", "bad destination", { exitCode: 255 }));
    expect(wire).toEqual({ code: "JG_USAGE", message: "bad destination", exitCode: 255 });
    expect(errorFromWire(wire).exitCode).toBe(255);
    expect(toWire(new JumpgateError("JG_CP_NOT_FOUND", "x"))).toEqual({
      code: "JG_CP_NOT_FOUND",
      message: "x",
    });
    expect(errorFromWire({ code: "JG_CP_NOT_FOUND", message: "x" }).exitCode).toBe(1);
  });

  it("an unknown code (a newer gate) becomes JG_INTERNAL with a failing status", () => {
    const e = errorFromWire({ code: "JG_FROM_THE_FUTURE", message: "hm" });
    expect(e.code).toBe("JG_INTERNAL");
    expect(e.message).toBe("JG_FROM_THE_FUTURE: hm");
    expect(e.exitCode).toBe(1);
  });
});
