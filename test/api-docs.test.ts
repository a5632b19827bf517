import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

/**
 * docs/api/ is generated (TypeDoc, tools/api-docs) and committed so that the reference reads on any clone.
 * This test generates it again into a temporary folder and compares: a public signature or TSDoc comment
 * changed without `npm run docs:api` fails here, as does a public type that names an unexported one
 * (warnings are errors in tools/api-docs/typedoc.json).
 */
const root = new URL("..", import.meta.url).pathname;
const toolDir = join(root, "tools", "api-docs");
const committed = join(root, "docs", "api");
let out: string | undefined;

afterAll(async () => {
  if (out) await rm(out, { recursive: true, force: true });
});

async function files(dir: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    found.set(relative(dir, path), await readFile(path, "utf8"));
  }
  return found;
}

describe("docs/api (the library reference)", () => {
  it("is what TypeDoc generates from src/index.ts today", { timeout: 240_000 }, async () => {
    out = await mkdtemp(join(tmpdir(), "exo-api-docs-"));
    const typedoc = join(toolDir, "node_modules", "typedoc", "bin", "typedoc");
    await promisify(execFile)(process.execPath, [typedoc, "--options", "typedoc.json", "--out", out], {
      cwd: toolDir,
      maxBuffer: 16 * 1024 * 1024,
    });
    const [fresh, inRepo] = await Promise.all([files(out), files(committed)]);
    expect([...inRepo.keys()].sort(), "pages (run `npm run docs:api`)").toEqual([...fresh.keys()].sort());
    const stale = [...fresh].filter(([name, text]) => inRepo.get(name) !== text).map(([name]) => name);
    expect(stale, "pages that differ (run `npm run docs:api`)").toEqual([]);
  });
});
