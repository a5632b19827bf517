import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { capturedContext } from "../../test/helpers/cli.js";
import { buildProgram, main } from "./main.js";
import { commandLoaders, commandsFor } from "./registry.js";

function context() {
  const c = capturedContext();
  return { ctx: c.ctx, out: c.stdout, err: c.stderr };
}

function allCommands(cmd: Command, path: string[] = []): string[][] {
  return cmd.commands.flatMap((c) => [[...path, c.name()], ...allCommands(c, [...path, c.name()])]);
}

describe("the command line", () => {
  it("every command and group has --help with examples", async () => {
    const paths = allCommands(await buildProgram(context().ctx));
    expect(paths.length).toBeGreaterThan(20);
    for (const path of paths) {
      const c = context();
      expect(await main([...path, "--help"], c.ctx), path.join(" ")).toBe(0);
      expect(c.out(), `${path.join(" ")} --help`).toContain("Examples:");
    }
  });

  it("setup --help says which role a reporting script needs (least privilege) and which cannot report", async () => {
    const c = context();
    expect(await main(["setup", "--help"], c.ctx)).toBe(0);
    const help = c.out().replace(/\s+/g, " ");
    expect(help).toMatch(
      /Reporting scripts \(report usage, Get-Mailbox, Get-MailboxStatistics, Get-Recipient\) need only global-reader/,
    );
    expect(help).toContain("security-reader and security-administrator cannot read mailboxes");
    expect(help).toContain("docs/exchange-rbac.md");
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

describe("which commands a command line loads", () => {
  const all = Object.keys(commandLoaders);

  it("only the command it names, past global options and their values", () => {
    expect(commandsFor(["invoke", "Get-Mailbox", "-Verbose"])).toEqual(["invoke"]);
    expect(commandsFor(["--log-format", "json", "-y", "report", "usage"])).toEqual(["report"]);
    expect(commandsFor(["--log-file=x.log", "cert", "list"])).toEqual(["cert"]);
    expect(commandsFor(["cert", "--help"])).toEqual(["cert"]);
  });

  it("none for a bare --version; all for help, no arguments, or an unknown name", () => {
    expect(commandsFor(["--version"])).toEqual([]);
    expect(commandsFor(["-V"])).toEqual([]);
    expect(commandsFor(["--help"])).toEqual(all);
    expect(commandsFor(["--version", "--help"])).toEqual(all);
    expect(commandsFor([])).toEqual(all);
    expect(commandsFor(["help", "invoke"])).toEqual(all);
    expect(commandsFor(["invok"])).toEqual(all);
  });

  it("a program built for one command runs it like the full tree does", async () => {
    const tree = await buildProgram(context().ctx, ["cert"]);
    expect(tree.commands.map((c) => c.name())).toEqual(["cert"]);
    const c = context();
    expect(await main(["invok"], c.ctx)).toBe(2);
    expect(c.err()).toContain("invoke");
  });
});
