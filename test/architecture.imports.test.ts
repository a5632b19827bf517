import { describe, expect, it } from "vitest";
import { buildImportGraph, edgesWhere, importCircles } from "./helpers/import-graph.js";

/**
 * The direction of imports (docs/architecture.md): cli → features → clients → auth → http; product
 * code never imports the emulator. New violations fail here. The KNOWN_* lists are debts recorded when
 * this check was introduced (issue 12 removes them); a listed debt that disappears must be taken off
 * the list too, so the lists only ever shrink.
 */
const graph = buildImportGraph(process.cwd());

/** The only product files allowed to load the emulator: the commands that run it, and the demo. */
const EMULATOR_USERS = new Set([
  "src/cli/commands/emulator.ts",
  "src/cli/commands/demo.ts",
  "src/demo/run.ts",
]);

/** A test harness that lives in src/emulator (issue 12 moves harnesses into the emulator's test folder). */
const KNOWN_EMULATOR_TO_PRODUCT = ["src/emulator/identity/test-support.ts -> src/http/transport.ts"];

const KNOWN_LOWER_TO_CLI = [
  "src/demo/run.ts -> src/cli/context.ts",
  "src/demo/run.ts -> src/cli/main.ts",
  "src/log/command-log.ts -> src/cli/context.ts",
  "src/report/csv.ts -> src/cli/render.ts",
];

const KNOWN_CIRCLES = [
  ["src/cli/commands/demo.ts", "src/cli/main.ts", "src/cli/registry.ts", "src/demo/run.ts"],
];

describe("import rules", () => {
  it("sees the product sources (a broken scan would pass every rule)", () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get("src/cli/main.ts")?.length).toBeGreaterThan(0);
  });

  it("product code never imports the emulator, except the emulator and demo commands", () => {
    const offending = edgesWhere(
      graph,
      (from, to) =>
        to.startsWith("src/emulator/") && !from.startsWith("src/emulator/") && !EMULATOR_USERS.has(from),
    );
    expect(offending).toEqual([]);
  });

  it("the emulator never imports product code other than the shared errors and utilities", () => {
    const offending = edgesWhere(
      graph,
      (from, to) =>
        from.startsWith("src/emulator/") &&
        !to.startsWith("src/emulator/") &&
        to !== "src/errors.ts" &&
        !to.startsWith("src/util/"),
    );
    expect(offending).toEqual(KNOWN_EMULATOR_TO_PRODUCT);
  });

  it("nothing below cli/ imports cli/ (besides the recorded debts)", () => {
    const offending = edgesWhere(
      graph,
      (from, to) => to.startsWith("src/cli/") && !from.startsWith("src/cli/"),
    );
    expect(offending).toEqual(KNOWN_LOWER_TO_CLI);
  });

  it("no import circles (besides the recorded debts)", () => {
    expect(importCircles(graph)).toEqual(KNOWN_CIRCLES);
  });
});
