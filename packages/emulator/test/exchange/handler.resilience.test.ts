import { afterEach, describe, expect, it } from "vitest";
import {
  type Harness,
  type HarnessOptions,
  OTHER_TENANT,
  startHarness,
} from "../support/exchange-harness.js";

let h: Harness | undefined;
async function harness(options: HarnessOptions): Promise<Harness> {
  h = await startHarness({ count: 20, ...options });
  return h;
}
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Outcome of one request: its status, or "drop" when the connection closed without an answer. */
async function outcome(harness: Harness): Promise<string> {
  try {
    return String((await harness.invoke("Get-OrganizationConfig")).status);
  } catch {
    return "drop";
  }
}

async function outcomes(options: HarnessOptions, n: number): Promise<string[]> {
  const harnessed = await harness(options);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await outcome(harnessed));
  await harnessed.close();
  h = undefined;
  return out;
}

describe("throttling", () => {
  it("answers 429 with a fractional Retry-After once the tenant's bucket is empty", async () => {
    const t = await harness({ throttle: { ratePerSecond: 4, burst: 2 } });
    expect((await t.invoke("Get-OrganizationConfig")).status).toBe(200);
    const second = await t.invoke("Get-OrganizationConfig");
    expect(second.status).toBe(200);
    expect(second.headers.get("rate-limit-limit")).toBe("2");
    expect(second.headers.get("rate-limit-remaining")).toBe("0");
    const refused = await t.invoke("Get-OrganizationConfig");
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("0.25");
    expect(refused.json.error.code).toBe("TooManyRequests");
    // the number is the second-to-last word, as clients that parse the message expect
    expect(refused.json.error.message).toMatch(/ 0\.25 seconds\.$/);
    expect(t.stats.throttled).toBe(1);
    // the budget is the tenant's: another app of the same tenant is refused too ...
    const otherApp = t.token({ appid: "22222222-2222-4333-8444-555555555555" });
    expect((await t.invoke("Get-OrganizationConfig", {}, { token: otherApp })).status).toBe(429);
    // ... while the same (multi-tenant) app has a budget of its own in another tenant
    const inOtherTenant = t.token({ tid: OTHER_TENANT.id });
    const other = await t.invoke(
      "Get-OrganizationConfig",
      {},
      { token: inOtherTenant, url: `${t.origin}/adminapi/beta/${OTHER_TENANT.domain}/InvokeCommand` },
    );
    expect(other.status).toBe(200);
    // after waiting Retry-After (on the injected clock) the app is served again
    t.now.ms += 250;
    expect((await t.invoke("Get-OrganizationConfig")).status).toBe(200);
  });

  it("answers 429 when an app exceeds its concurrent requests", async () => {
    const t = await harness({ throttle: { concurrency: 2 }, latencyMs: 5 });
    t.holdSleeps();
    const first = t.invoke("Get-OrganizationConfig");
    const second = t.invoke("Get-OrganizationConfig");
    // wait until both requests are inside the handler (waiting for their latency)
    while (t.sleeps.length < 2) await new Promise((resolve) => setImmediate(resolve));
    const third = await t.invoke("Get-OrganizationConfig");
    expect(third.status).toBe(429);
    expect(Number(third.headers.get("retry-after"))).toBeGreaterThan(0);
    t.releaseSleeps();
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    expect((await t.invoke("Get-OrganizationConfig")).status).toBe(200);
  });

  it("waits latencyMs per request through the injected sleep", async () => {
    const t = await harness({ latencyMs: 120 });
    await t.invoke("Get-OrganizationConfig");
    await t.invoke("Get-AcceptedDomain");
    expect(t.sleeps).toEqual([120, 120]);
    t.setOptions({ latencyMs: 0 });
    await t.invoke("Get-OrganizationConfig");
    expect(t.sleeps).toEqual([120, 120]);
  });
});

describe("injected faults", () => {
  it("the same seed gives the same sequence of 503, 504 and dropped connections", async () => {
    const options = { faults: { seed: 9, errorRate: 0.3, dropRate: 0.2 } };
    const a = await outcomes(options, 30);
    const b = await outcomes(options, 30);
    expect(a).toEqual(b);
    expect(new Set(a)).toEqual(new Set(["200", "503", "504", "drop"]));
    const c = await outcomes({ faults: { ...options.faults, seed: 10 } }, 30);
    expect(c).not.toEqual(a);
  });

  it("counts faults, answers them with OData error bodies, and stops when faults are switched off", async () => {
    const t = await harness({ faults: { seed: 1, errorRate: 1 } });
    const r = await t.invoke("Get-OrganizationConfig");
    expect([503, 504]).toContain(r.status);
    expect(["ServiceUnavailable", "GatewayTimeout"]).toContain(r.json.error.code);
    expect(t.stats.faultsInjected).toBe(1);
    expect(t.stats.exchangeRequests).toBe(1);
    t.setOptions({});
    expect((await t.invoke("Get-OrganizationConfig")).status).toBe(200);
    expect(t.stats.faultsInjected).toBe(1);
  });

  it("drops every connection at dropRate 1, and only applies to the services listed", async () => {
    const t = await harness({ faults: { dropRate: 1 } });
    await expect(t.invoke("Get-OrganizationConfig")).rejects.toThrow();
    expect(t.stats.faultsInjected).toBe(1);
    t.setOptions({ faults: { dropRate: 1, services: ["identity"] } });
    expect((await t.invoke("Get-OrganizationConfig")).status).toBe(200);
  });
});
