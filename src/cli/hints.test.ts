import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { capturedContext } from "../../test/helpers/cli.js";
import { buildProgram } from "./main.js";

/**
 * Every `--flag` a hint tells the user to pass exists (issue 14: a hint once named a retry setting the CLI
 * does not have). Hints are the `hint:`/`hint =` texts of the product code and the help's examples.
 */
const SRC = join(import.meta.dirname, "..");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "emulator" ? [] : sourceFiles(path);
    return name.endsWith(".ts") && !name.endsWith(".test.ts") ? [path] : [];
  });
}

/** The text of each hint: from `hint` to the end of its expression (the next line ending a property). */
function hintTexts(source: string): string[] {
  const out: string[] = [];
  const lines = source.split("\n");
  lines.forEach((line, i) => {
    if (!/\bhint\??\s*[:=]\s*|\bhint:\s*$/.test(line)) return;
    const window = [line];
    for (let j = i + 1; j < Math.min(lines.length, i + 6) && !/[,;]\s*$/.test(window.at(-1) ?? ""); j++) {
      window.push(lines[j]!);
    }
    out.push(window.join("\n"));
  });
  return out;
}

function allLongOptions(cmd: Command, into = new Set<string>()): Set<string> {
  for (const o of cmd.options) if (o.long) into.add(o.long);
  for (const sub of cmd.commands) allLongOptions(sub, into);
  return into;
}

// The full command tree (buildProgram loads the command modules lazily, so it is async).
const program = await buildProgram(capturedContext().ctx);

describe("hints name real flags only", () => {
  const flags = allLongOptions(program);
  flags.add("--help");
  const named = new Map<string, string>();
  for (const file of sourceFiles(SRC)) {
    for (const text of hintTexts(readFileSync(file, "utf8"))) {
      for (const [flag] of text.matchAll(/(?<![\w-])--[a-z][a-z0-9-]+/g)) named.set(flag, file);
    }
  }

  it("finds the hints (the scan itself works)", () => {
    expect(named.get("--resume")).toBeDefined();
    expect(named.size).toBeGreaterThan(15);
  });

  it("every flag a hint names is an option of some command", () => {
    const unknown = [...named].filter(([flag]) => !flags.has(flag)).map(([f, file]) => `${f} (${file})`);
    expect(unknown).toEqual([]);
  });
});
