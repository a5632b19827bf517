import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * Code comments cite our own documents (docs/*.md, README.md), never files outside the repository: a
 * clone must make sense alone (docs/architecture.md). Every `*.md` a source, test, script or benchmark
 * names must exist in this repository, and nothing may point above it.
 */
const root = process.cwd();
const SCANNED = ["src", "test", "scripts", "bench", "packages", "bin"];
const CODE = /\.(ts|js|mjs|cjs)$/;
/** A markdown file name, with the path in front of it if any (relative to the repository root). */
const MD_REFERENCE = /(?<![\w.-])((?:\.{1,2}\/)*(?:[\w.-]+\/)*[\w-]+\.md)(?![\w-])/g;

function codeFiles(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "dist" || name.startsWith(".")) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) codeFiles(path, out);
    else if (CODE.test(name)) out.push(path);
  }
  return out;
}

/** `file:line: reference` for every markdown reference that does not name a file of this repository. */
function foreignCitations(repoRoot: string, files: string[]): string[] {
  const found: string[] = [];
  for (const file of files) {
    const lines = readFileSync(file, "utf8").split("\n");
    lines.forEach((line, i) => {
      for (const m of line.matchAll(MD_REFERENCE)) {
        const ref = m[1] ?? "";
        const inRepo = !ref.startsWith("../") && !ref.startsWith("/") && existsSync(join(repoRoot, ref));
        if (!inRepo) found.push(`${relative(repoRoot, file)}:${i + 1}: ${ref}`);
      }
      if (/\.\.\/shared\b|\/work\/shared\b/.test(line))
        found.push(`${relative(repoRoot, file)}:${i + 1}: shared path`);
    });
  }
  return found;
}

describe("citations in code", () => {
  const files = SCANNED.flatMap((d) => codeFiles(join(root, d)));

  it("scans the sources, tests, scripts and benchmarks", () => {
    expect(files.length).toBeGreaterThan(200);
  });

  it("every *.md a comment names is a file of this repository (docs/…, README.md), nothing outside it", () => {
    expect(foreignCitations(root, files)).toEqual([]);
  });

  it("names a citation of a file outside the repository, and passes one of ours", () => {
    const dir = mkdtempSync(join(tmpdir(), "exo-citations-"));
    const file = join(dir, "sample.ts");
    const outside = ["entra-provisioning", "md"].join(".");
    const shared = ["..", "shared", "notes"].join("/");
    writeFileSync(file, `// see docs/setup.md and README.md\n// see ${outside} §2\n// see ${shared}\n`);
    expect(foreignCitations(root, [file]).map((f) => f.replace(/^.*sample\.ts:/, ""))).toEqual([
      `2: ${outside}`,
      "3: shared path",
    ]);
  });
});
