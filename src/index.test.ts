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
});
