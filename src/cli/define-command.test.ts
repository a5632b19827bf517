import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capturedContext } from "../../test/helpers/cli.js";
import { UsageError } from "../errors.js";
import type { CommandGroup, DefinedCommand, RunContext } from "./define-command.js";
import { defineCommand, option, runWithSession } from "./define-command.js";
import { main } from "./main.js";
import { number, oneOf, text } from "./option-schemas.js";
import { commandLoaders } from "./registry.js";

/** Every command the registry can load, with its path (`["cert", "new"]`). */
async function registeredCommands(): Promise<Array<{ path: string[]; command: DefinedCommand }>> {
  const out: Array<{ path: string[]; command: DefinedCommand }> = [];
  for (const load of Object.values(commandLoaders)) {
    const { command } = (await load()) as { command: DefinedCommand | CommandGroup };
    if (command.kind === "group") {
      for (const sub of command.subcommands) out.push({ path: [command.name, sub.name], command: sub });
    } else out.push({ path: [command.name], command });
  }
  return out;
}

let home: string;
beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "exo-cba-commands-"));
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

describe("every registered command is declared with defineCommand", () => {
  it("has --help with an example of itself, and every option it parses is declared by its schema", async () => {
    const commands = await registeredCommands();
    expect(commands.length).toBeGreaterThanOrEqual(20);
    for (const { path, command } of commands) {
      const name = path.join(" ");
      const c = capturedContext();
      expect(await main([...path, "--help"], c.ctx), name).toBe(0);
      const help = c.stdout();
      expect(help, name).toContain("Examples:");
      expect(
        command.examples.some((e) => e.includes(`exo-cba ${name}`)),
        `${name}: an example runs it`,
      ).toBe(true);

      // The schema is the one source: its keys are exactly the declared options and arguments…
      const keys = Object.keys((await command.schema()).shape).sort();
      expect(keys, name).toEqual([...Object.keys(command.options), ...Object.keys(command.arguments)].sort());
      // …and commander parses no option that is not declared there (nothing added on the side).
      const registered = command.register(new Command("exo-cba"), c.ctx);
      const parsed = registered.options.map((o) => o.attributeName()).sort();
      expect(parsed, name).toEqual(Object.keys(command.options).sort());
      expect(["exchange", "admin", "none"], name).toContain(command.needs);
      for (const o of Object.values(command.options)) expect(help, name).toContain(o.flags);
    }
  });

  it("runs return data: the offline commands give rows or an object to render", async () => {
    const commands = new Map((await registeredCommands()).map((c) => [c.path.join(" "), c.command]));
    const env = { EXO_CBA_HOME: home };
    const run = async (name: string, raw: Record<string, unknown>) => {
      const c = capturedContext(env);
      const command = commands.get(name)!;
      return runWithSession(c.ctx, new Command(name), command.needs, (ctx) => command.execute(ctx, raw));
    };
    expect(await run("cert list", { output: "json" })).toEqual([]);
    expect(await run("cert check", { output: "json", warnDays: "30" })).toEqual([]);
    const entry = (await run("schedule", {
      command: ["cert", "check"],
      cron: true,
      every: "daily",
      at: "02:30",
      output: "json",
    })) as { kind: string; files: unknown[] };
    expect(entry.kind).toBe("cron");
    expect(entry.files.length).toBeGreaterThan(0);
  });
});

describe("defineCommand", () => {
  const probe = defineCommand({
    name: "probe",
    description: "a command for this test",
    examples: ["exo-cba probe --size 3"],
    options: {
      size: option("--size <n>", "how many", number({ min: 1, max: 9 }), { default: "2" }),
      mode: option("--mode <m>", "which", oneOf(["a", "b"]), { default: "a" }),
      label: option("--label <text>", "free text", text()),
    },
    needs: "none",
    run: (_ctx, opts) => ({ size: opts.size * 10, mode: opts.mode, label: opts.label ?? null }),
    render: () => {},
  });

  const ctx = () => capturedContext().ctx as RunContext;

  it("parses values with the schema: numbers one way, defaults as typed, enums from the schema", async () => {
    expect(await probe.execute(ctx(), { size: "3", mode: "b" })).toEqual({
      size: 30,
      mode: "b",
      label: null,
    });
    expect(probe.options.mode!.schema.choices).toEqual(["a", "b"]);
  });

  it("turns a refused value into a UsageError naming the flag and what it takes", async () => {
    const error = await probe.execute(ctx(), { size: "12", mode: "a" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe("--size must be a whole number from 1 to 9, not '12'.");
  });

  it("gives commander the flags, defaults and choices, so --help and refusals come from the declaration", async () => {
    const program = new Command("exo-cba").exitOverride();
    let out = "";
    program.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
    const cmd = probe.register(program, capturedContext().ctx).exitOverride();
    cmd.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
    expect(cmd.helpInformation()).toMatch(/--size <n>\s+how many \(default: "2"\)/);
    expect(cmd.helpInformation()).toMatch(/--mode <m>\s+which \(choices: "a", "b", default: "a"\)/);
    await expect(program.parseAsync(["probe", "--mode", "c"], { from: "user" })).rejects.toThrow();
    expect(out).toContain("Allowed choices are a, b");
  });

  it("refuses a declaration whose key is not the flag's name", () => {
    const bad = defineCommand({
      name: "bad",
      description: "d",
      examples: ["exo-cba bad"],
      options: { size: option("--count <n>", "n", text()) },
      needs: "none",
      run: () => undefined,
    });
    expect(() => bad.register(new Command("exo-cba"), capturedContext().ctx)).toThrow(/--count/);
  });
});
