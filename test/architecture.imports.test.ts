import { describe, expect, it } from "vitest";
import { buildImportGraph, edgesWhere, importCircles } from "./helpers/import-graph.js";

/**
 * The direction of imports (docs/architecture.md): cli → features → clients → auth → http; product
 * code never imports the emulator package (packages/emulator), which imports nothing of the product. New violations fail here. The KNOWN_* lists are debts recorded when
 * this check was introduced (issue 12 removes them); a listed debt that disappears must be taken off
 * the list too, so the lists only ever shrink.
 */
const graph = buildImportGraph(process.cwd());

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

/** A test harness that still lives in the emulator's src/ (issue 12 moves harnesses into its test folder). */
const KNOWN_EMULATOR_TO_PRODUCT = ["packages/emulator/src/identity/test-support.ts -> src/http/transport.ts"];

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

  it("the emulator package never imports product code", () => {
    const offending = edgesWhere(
      graph,
      (from, to) => from.startsWith("packages/emulator/") && !to.startsWith("packages/emulator/"),
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
