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

/** Feature rooms: each owns one user-facing capability and uses the layers below, never another feature. */
const FEATURES = ["setup", "report", "diagnostics", "lifecycle", "schedule"];
/** Above the features: the CLI, the composition root, the demo (which drives the CLI), the library entry. */
const ABOVE_FEATURES = ["cli", "session", "demo", "index.ts"];
/** The room of a source file: the folder under src/ (or the file name for src/*.ts). */
const roomOf = (file: string) => file.split("/")[1] ?? "";

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

  it("nothing below cli/ imports cli/", () => {
    const offending = edgesWhere(
      graph,
      (from, to) => to.startsWith("src/cli/") && !from.startsWith("src/cli/"),
    );
    expect(offending).toEqual([]);
  });

  it("no feature room imports another feature room (shared pieces live in a lower layer)", () => {
    const offending = edgesWhere(graph, (from, to) => {
      const a = roomOf(from);
      const b = roomOf(to);
      return a !== b && FEATURES.includes(a) && FEATURES.includes(b);
    });
    expect(offending).toEqual([]);
  });

  it("clients and infrastructure never import a feature, the composition root, the demo or the CLI", () => {
    const offending = edgesWhere(graph, (from, to) => {
      const a = roomOf(from);
      const b = roomOf(to);
      const above = [...FEATURES, ...ABOVE_FEATURES];
      return a !== "emulator" && !above.includes(a) && above.includes(b);
    });
    expect(offending).toEqual([]);
  });

  it("no import circles", () => {
    expect(importCircles(graph)).toEqual([]);
  });
});
