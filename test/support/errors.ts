import { JumpgateError } from "../../src/errors.js";

/** Runs `fn` and returns the JumpgateError it throws; anything else (or no error) fails the test. */
export function jumpgateErrorOf(fn: () => unknown): JumpgateError {
  try {
    fn();
  } catch (error) {
    if (error instanceof JumpgateError) return error;
    throw error;
  }
  throw new Error("expected a JumpgateError, but nothing was thrown");
}
