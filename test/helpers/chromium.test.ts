import { describe, expect, it } from "vitest";
import { browserUnavailableReason, findChromium } from "./chromium.js";

describe("finding a browser for the headless tests", () => {
  it("takes CHROMIUM_PATH as given, even when it does not exist (a typo must fail, not skip)", () => {
    expect(findChromium({ CHROMIUM_PATH: "/opt/my chrome/chrome" })).toBe("/opt/my chrome/chrome");
  });

  it("gives a printable reason off CI and refuses to skip on CI", () => {
    expect(browserUnavailableReason("/usr/bin/chromium", {})).toBeUndefined();
    expect(browserUnavailableReason(undefined, {})).toMatch(/CHROMIUM_PATH/);
    expect(() => browserUnavailableReason(undefined, { CI: "true" })).toThrow(/CI must run/);
  });
});
