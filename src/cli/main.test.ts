import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { capturedContext } from "../../test/helpers/cli.js";
import { buildProgram, main } from "./main.js";

function context() {
  const c = capturedContext();
  return { ctx: c.ctx, out: c.stdout, err: c.stderr };
}

function allCommands(cmd: Command, path: string[] = []): string[][] {
  return cmd.commands.flatMap((c) => [[...path, c.name()], ...allCommands(c, [...path, c.name()])]);
}

describe("the command line", () => {
  it("every command and group has --help with examples", async () => {
    const paths = allCommands(buildProgram(context().ctx));
    expect(paths.length).toBeGreaterThan(20);
    for (const path of paths) {
      const c = context();
      expect(await main([...path, "--help"], c.ctx), path.join(" ")).toBe(0);
      expect(c.out(), `${path.join(" ")} --help`).toContain("Examples:");
    }
  });

  it("--version prints the package version and exits 0", async () => {
    const c = context();
    expect(await main(["--version"], c.ctx)).toBe(0);
    expect(c.out().trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("an unknown command or option is bad usage (exit 2), with a pointer to --help", async () => {
    const a = context();
    expect(await main(["nosuch"], a.ctx)).toBe(2);
    expect(a.err()).toContain("--help");
    const b = context();
    expect(await main(["cert", "list", "--no-such-flag"], b.ctx)).toBe(2);
  });

  it("expected failures print message and hint without a stack; --debug adds the stack", async () => {
    const plain = context();
    plain.ctx.env = { EXO_CBA_HOME: "/nonexistent-exo-cba-home" };
    expect(
      await main(
        [
          "invoke",
          "Get-Mailbox",
          "--app-id",
          "not-a-guid",
          "--organization",
          "contoso.onmicrosoft.com",
          "--certificate-thumbprint",
          "A".repeat(40),
        ],
        plain.ctx,
      ),
    ).toBe(2);
    expect(plain.err()).toMatch(/^error: .*not a GUID/m);
    expect(plain.err()).toMatch(/^hint: /m);
    expect(plain.err()).not.toMatch(/\n\s+at /);
    const debug = context();
    debug.ctx.env = { EXO_CBA_HOME: "/nonexistent-exo-cba-home" };
    expect(
      await main(
        [
          "--debug",
          "invoke",
          "Get-Mailbox",
          "--app-id",
          "not-a-guid",
          "--organization",
          "contoso.onmicrosoft.com",
        ],
        debug.ctx,
      ),
    ).toBe(2);
    expect(debug.err()).toMatch(/\n\s+at /);
  });
});
