import { describe, expect, it } from "vitest";
import { AuthenticationError, AuthorizationError } from "../errors.js";
import { isPropagationFailure } from "./verify.js";

describe("what verification treats as 'still propagating'", () => {
  it("the token service not knowing the app, its service principal or its new key yet", () => {
    for (const code of [700016, 7000229, 700027]) {
      expect(isPropagationFailure(new AuthenticationError(`AADSTS${code}`, { aadstsCode: code }))).toBe(true);
    }
  });

  it("Exchange refusing a token that lacks the grant or predates it", () => {
    for (const reason of ["permission-missing", "role-missing", "propagating", "unknown"] as const) {
      expect(isPropagationFailure(new AuthorizationError("403", { reason }))).toBe(true);
    }
  });

  it("not a wrong tenant, a clock problem, a read-only role or anything else", () => {
    for (const code of [90002, 700024, 7000215, 53003]) {
      expect(isPropagationFailure(new AuthenticationError(`AADSTS${code}`, { aadstsCode: code }))).toBe(
        false,
      );
    }
    expect(isPropagationFailure(new AuthorizationError("403", { reason: "read-only-role" }))).toBe(false);
    expect(isPropagationFailure(new Error("boom"))).toBe(false);
  });
});
