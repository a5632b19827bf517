import { describe, expect, it } from "vitest";
import { exchangeScope, isExchangeRedirectAllowed, resolveEndpoints } from "./environments.js";

/** Resource vs host (docs/invoke.md "Resource and host"): the token's scope never follows the host. */
describe("Exchange resource and endpoint", () => {
  it.each([
    ["O365Default", "https://outlook.office365.com/.default"],
    ["O365USGovGCCHigh", "https://outlook.office365.us/.default"],
    ["O365USGovDoD", "https://outlook-dod.office365.us/.default"],
  ])("%s: the scope is the cloud's resource identifier", (environment, scope) => {
    expect(exchangeScope(resolveEndpoints(environment, {}))).toBe(scope);
  });

  it("a regional or proxied Exchange host of the same cloud keeps the cloud's resource", () => {
    const e = resolveEndpoints(undefined, { EXO_EXCHANGE_ENDPOINT: "https://nam12.outlook.office365.com" });
    expect(e.exchangeEndpoint).toBe("https://nam12.outlook.office365.com");
    expect(exchangeScope(e)).toBe("https://outlook.office365.com/.default");
  });

  it("any other custom endpoint (an emulator) is its own resource, unless EXO_EXCHANGE_RESOURCE says otherwise", () => {
    const emulator = resolveEndpoints(undefined, { EXO_EXCHANGE_ENDPOINT: "https://127.0.0.1:8443" });
    expect(exchangeScope(emulator)).toBe("https://127.0.0.1:8443/.default");
    const proxied = resolveEndpoints(undefined, {
      EXO_EXCHANGE_ENDPOINT: "https://exo-proxy.internal.example",
      EXO_EXCHANGE_RESOURCE: "https://outlook.office365.com",
    });
    expect(proxied.exchangeEndpoint).toBe("https://exo-proxy.internal.example");
    expect(exchangeScope(proxied)).toBe("https://outlook.office365.com/.default");
    const guid = resolveEndpoints(undefined, {
      EXO_EXCHANGE_RESOURCE: "00000002-0000-0FF1-CE00-000000000000",
    });
    expect(exchangeScope(guid)).toBe("00000002-0000-0ff1-ce00-000000000000/.default");
    expect(() => resolveEndpoints(undefined, { EXO_EXCHANGE_RESOURCE: "http://x" })).toThrow(/https/);
  });

  it("follows redirects only to the endpoint's host or the cloud's Exchange sub-hosts, over https", () => {
    const commercial = resolveEndpoints(undefined, {});
    const ok = (e: typeof commercial, url: string) => isExchangeRedirectAllowed(e, new URL(url));
    expect(ok(commercial, "https://outlook.office365.com:446/adminapi/beta/x/InvokeCommand")).toBe(true);
    expect(ok(commercial, "https://nam12.outlook.office365.com/adminapi/beta/x/InvokeCommand")).toBe(true);
    expect(ok(commercial, "http://nam12.outlook.office365.com/")).toBe(false);
    expect(ok(commercial, "https://outlook.office365.com.evil.example/")).toBe(false);
    expect(ok(commercial, "https://evil-outlook.office365.com/")).toBe(false);
    expect(ok(commercial, "https://outlook.office365.us/")).toBe(false);
    const gcch = resolveEndpoints("O365USGovGCCHigh", {});
    expect(ok(gcch, "https://x.outlook.office365.us/")).toBe(true);
    expect(ok(gcch, "https://x.outlook.office365.com/")).toBe(false);
    const custom = resolveEndpoints(undefined, { EXO_EXCHANGE_ENDPOINT: "https://127.0.0.1:8443" });
    expect(ok(custom, "https://127.0.0.1:9443/")).toBe(true);
    expect(ok(custom, "https://localhost:9443/")).toBe(false);
    expect(ok(custom, "https://nam12.outlook.office365.com/")).toBe(false);
  });
});
