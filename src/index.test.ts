import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as library from "./index.js";

/**
 * The library's public surface is a deliberate list (src/index.ts). Adding or removing an export is an API
 * decision: it must change this list, docs/api/ (`npm run docs:api`) and, for a removal, the major version.
 */
const PUBLIC_RUNTIME_EXPORTS = [
  "AuthenticationError",
  "AuthorizationError",
  "CertStore",
  "CheckFailedError",
  "ExitCode",
  "ExoCbaError",
  "HttpTransport",
  "PartialResultError",
  "ServerError",
  "TransientError",
  "UsageError",
  "checkCertificates",
  "connectExchangeOnline",
  "createSelfSignedCertificate",
  "exitCodeFor",
  "exportCertificate",
  "importCertificate",
  "runUsageReport",
  "setupExchangeApp",
  "teardownExchangeApp",
];

describe("the library entry (exo-cba)", () => {
  it("exports exactly the pinned list of values", () => {
    expect(Object.keys(library).sort()).toEqual([...PUBLIC_RUNTIME_EXPORTS].sort());
  });

  it("exports functions and classes, nothing half-built", () => {
    for (const name of PUBLIC_RUNTIME_EXPORTS) {
      const value = (library as Record<string, unknown>)[name];
      if (name === "ExitCode") expect(Object.values(value as object)).toContain(0);
      else expect(typeof value, name).toBe("function");
    }
  });

  it("keeps the typed errors in one hierarchy with the README's exit codes", () => {
    const errors = [
      [new library.UsageError("u"), 2],
      [new library.AuthenticationError("a"), 3],
      [new library.TransientError("t"), 6],
      [new library.PartialResultError("p"), 7],
    ] as const;
    for (const [error, code] of errors) {
      expect(error).toBeInstanceOf(library.ExoCbaError);
      expect(library.exitCodeFor(error)).toBe(code);
    }
  });

  it("has a page in docs/api/ for every export and none for anything else (run `npm run docs:api`)", () => {
    const api = join(import.meta.dirname, "..", "docs", "api");
    const pages = (folder: string) => {
      try {
        return readdirSync(join(api, folder)).map((f) => f.replace(/\.md$/, ""));
      } catch {
        return [];
      }
    };
    const valuePages = new Set([...pages("classes"), ...pages("functions"), ...pages("variables")]);
    expect([...valuePages].sort()).toEqual([...PUBLIC_RUNTIME_EXPORTS].sort());
    // Type-only exports, read from the entry's source: `type X` inside export lists and `export type { … }`.
    const source = readFileSync(join(import.meta.dirname, "index.ts"), "utf8");
    const typeNames = new Set<string>();
    for (const [, typeOnly, list] of source.matchAll(/export (type )?\{([^}]*)\}/g)) {
      for (const item of list!.split(",").map((x) => x.trim())) {
        if (typeOnly && item) typeNames.add(item);
        else if (item.startsWith("type ")) typeNames.add(item.slice(5).trim());
      }
    }
    const typePages = new Set([...pages("interfaces"), ...pages("type-aliases")]);
    // ExitCode is both a value and a type of the same name.
    typePages.delete("ExitCode");
    expect([...typePages].sort()).toEqual([...typeNames].sort());
  });
});
