import { describe, expect, it } from "vitest";
import { runCli } from "./helpers/ops-cli.js";

/** The operations commands are registered and their help shows the flags and examples users need. */
describe("operations commands in --help", () => {
  it("top-level help lists doctor and schedule, and the global logging options", async () => {
    const r = await runCli(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\s+doctor\b/m);
    expect(r.stdout).toMatch(/^\s+schedule\b/m);
    expect(r.stdout).toContain("--log-format <format>");
    expect(r.stdout).toContain("--log-file <file>");
  });

  it("cert help lists check, rotate and revoke", async () => {
    const r = await runCli(["cert", "--help"]);
    for (const sub of ["check", "rotate", "revoke"])
      expect(r.stdout).toMatch(new RegExp(`^\\s+${sub}\\b`, "m"));
  });

  it.each([
    [
      ["doctor", "--help"],
      ["--warn-days", "--fail-on", "--profile", "Examples:"],
    ],
    [
      ["cert", "rotate", "--help"],
      ["--keep-old", "--keep-old-until", "--self", "--certificate-thumbprint", "Examples:"],
    ],
    [
      ["cert", "check", "--help"],
      ["--warn-days", "Examples:"],
    ],
    [
      ["cert", "revoke", "--help"],
      ["<thumbprint>", "--profile", "Examples:"],
    ],
    [
      ["schedule", "--help"],
      ["--cron", "--systemd", "--windows-task", "--every", "--at", "Examples:"],
    ],
  ])("%j shows its options and examples", async (argv, expected) => {
    const r = await runCli(argv);
    expect(r.code).toBe(0);
    for (const text of expected) expect(r.stdout).toContain(text);
  });
});
