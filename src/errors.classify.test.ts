import { describe, expect, it } from "vitest";
import { asExpectedError, ExitCode, exitCodeFor } from "./errors.js";

/** Plain Node/library errors of the outside world map to documented exit codes; our bugs stay exit 1. */
describe("asExpectedError / exitCodeFor", () => {
  const coded = (code: string, extra: Record<string, unknown> = {}) =>
    Object.assign(new Error(`${code} happened`), { code, ...extra });

  it("maps DNS to 6, TLS to 2, SQLite busy to 6 and corrupt to 2, through wrapping causes", () => {
    expect(exitCodeFor(coded("ENOTFOUND", { hostname: "x.invalid" }))).toBe(ExitCode.TransientExhausted);
    expect(asExpectedError(coded("ENOTFOUND", { hostname: "x.invalid" }))?.message).toBe(
      "Cannot resolve the host name x.invalid (DNS: ENOTFOUND).",
    );
    const wrapped = new Error("outer", { cause: coded("SELF_SIGNED_CERT_IN_CHAIN") });
    expect(exitCodeFor(wrapped)).toBe(ExitCode.Usage);
    expect(exitCodeFor({ errorCode: "network_error", error: coded("CERT_HAS_EXPIRED") })).toBe(
      ExitCode.Usage,
    );
    expect(exitCodeFor(coded("SQLITE_BUSY_SNAPSHOT"))).toBe(ExitCode.TransientExhausted);
    expect(exitCodeFor(coded("SQLITE_CORRUPT"))).toBe(ExitCode.Usage);
    expect(exitCodeFor(coded("SQLITE_NOTADB"))).toBe(ExitCode.Usage);
  });

  it("maps a refused path (permission, read-only, full disk) to 2 naming the path", () => {
    const e = asExpectedError(coded("EACCES", { path: "/srv/x.json", syscall: "open" }));
    expect(e?.exitCode).toBe(ExitCode.Usage);
    expect(e?.message).toBe("Cannot access /srv/x.json: permission denied (EACCES).");
    expect(exitCodeFor(coded("ENOSPC", { path: "/srv/x.json" }))).toBe(ExitCode.Usage);
  });

  it("leaves anything else an internal error (exit 1)", () => {
    expect(asExpectedError(new TypeError("x is undefined"))).toBeUndefined();
    expect(exitCodeFor(new TypeError("x is undefined"))).toBe(ExitCode.Internal);
    expect(exitCodeFor(coded("EACCES"))).toBe(ExitCode.Internal); // no path: cannot say what to fix
  });
});
