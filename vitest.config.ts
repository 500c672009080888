import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    // Starting a lab (keys, sshd, namespaces, bridges) happens in beforeAll.
    hookTimeout: 120_000,
    // Labs spawn detached children and install a process "exit" hook; forks give each file its own process.
    pool: "forks",
  },
});
