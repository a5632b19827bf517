import { describe, expect, it } from "vitest";
import { buildImportGraph, edgesWhere, importCircles } from "./helpers/import-graph.js";

/**
 * The direction of imports (docs/architecture.md): cli → features → clients → auth → http; product
 * code never imports the emulator package (packages/emulator), which imports nothing of the product.
 * New violations fail here.
 */
const graph = buildImportGraph(process.cwd());
/** The same with every test file and test helper. */
const withTests = buildImportGraph(process.cwd(), { tests: true });

/**
 * The only product files allowed to load the emulator, and only through its package's public entry
 * (`@exo-cba/emulator`, packages/emulator): the command that runs it, and the demo.
 */
const EMULATOR_PACKAGE = "@exo-cba/emulator";
const isEmulatorUser = (file: string) =>
  file === "src/cli/commands/emulator.ts" || file.startsWith("src/demo/");
const isEmulator = (target: string) =>
  target.startsWith("packages/emulator/") ||
  target === EMULATOR_PACKAGE ||
  target.startsWith(`${EMULATOR_PACKAGE}/`);

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

  it("sees the emulator package's sources", () => {
    expect(graph.get("packages/emulator/src/index.ts")?.length).toBeGreaterThan(0);
    expect(graph.get("src/cli/commands/emulator.ts")).toContain(EMULATOR_PACKAGE);
  });

  it("product code imports the emulator only by its package name, only in the emulator and demo commands", () => {
    const offending = edgesWhere(
      graph,
      (from, to) =>
        from.startsWith("src/") && isEmulator(to) && !(to === EMULATOR_PACKAGE && isEmulatorUser(from)),
    );
    expect(offending).toEqual([]);
  });

  it("tests reach the emulator only through its package: the public entry or its testing harnesses", () => {
    expect(withTests.get("packages/emulator/test/support/index.ts")?.length).toBeGreaterThan(0);
    const offending = edgesWhere(
      withTests,
      (from, to) =>
        !from.startsWith("packages/emulator/") &&
        isEmulator(to) &&
        to !== EMULATOR_PACKAGE &&
        to !== `${EMULATOR_PACKAGE}/testing`,
    );
    expect(offending).toEqual([]);
  });

  it("the emulator package, its tests included, never imports product code", () => {
    const offending = edgesWhere(
      withTests,
      (from, to) => from.startsWith("packages/emulator/") && !to.startsWith("packages/emulator/"),
    );
    expect(offending).toEqual([]);
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
      return from.startsWith("src/") && !above.includes(a) && above.includes(b);
    });
    expect(offending).toEqual([]);
  });

  it("a command file never imports another command (what two commands share lives below them)", () => {
    const topLevelCommand = (file: string) => /^src\/cli\/commands\/[^/]+\.ts$/.test(file);
    expect(edgesWhere(graph, (from, to) => topLevelCommand(from) && topLevelCommand(to))).toEqual([]);
  });

  it("no import circles", () => {
    expect(importCircles(graph)).toEqual([]);
  });
});
