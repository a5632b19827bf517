import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Harness,
  type InvokeResult,
  startHarness,
  TEST_APP_ID,
  TEST_TENANT,
} from "../support/exchange-harness.js";

const MORE =
  "There are more results available than are currently displayed. To view them, increase the value for the ResultSize parameter.";

let h: Harness;
/** aliases Get-Mailbox should list by default: the active mailboxes, in index order */
let active: string[];

beforeAll(async () => {
  h = await startHarness({ count: 1500, seed: 11 });
  active = [];
  for (let i = 0; i < h.dataset.count; i++) {
    const m = h.dataset.mailbox(i);
    if (!m.inactive) active.push(m.alias);
  }
});
afterAll(() => h.close());

async function collect(
  params: Record<string, unknown>,
  options: { pageSize?: number; followWith?: "GET" | "POST" } = {},
): Promise<{ names: string[]; pages: InvokeResult[] }> {
  const pages: InvokeResult[] = [];
  let result = await h.invoke("Get-Mailbox", params, { pageSize: options.pageSize });
  pages.push(result);
  while (result.status === 200 && result.json["@odata.nextLink"]) {
    result = await h.invoke("Get-Mailbox", params, {
      url: result.json["@odata.nextLink"],
      method: options.followWith ?? "POST",
      pageSize: options.pageSize,
    });
    pages.push(result);
    if (pages.length > 100) throw new Error("paging does not end");
  }
  for (const page of pages) expect(page.status).toBe(200);
  return { names: pages.flatMap((p) => p.json.value.map((row: { Alias: string }) => row.Alias)), pages };
}

describe("InvokeCommand envelope", () => {
  it("answers with the real content type, annotations and headers", async () => {
    const r = await h.invoke("Get-Mailbox", { ResultSize: 2 });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe(
      "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8",
    );
    expect(r.json["@odata.context"]).toBe(
      `${h.origin}/adminapi/beta/${TEST_TENANT.domain}/$metadata#Collection(Exchange.GenericHashTable)`,
    );
    expect(r.json["adminapi.warnings@odata.type"]).toBe("#Collection(String)");
    expect(r.json["@adminapi.warnings"]).toEqual([MORE]);
    expect(r.json.value).toHaveLength(2);
    expect(r.headers.get("request-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.headers.get("x-calculatedbetarget")).toMatch(/\.PROD\.OUTLOOK\.COM$/);
    expect(r.headers.get("rate-limit-limit")).toBe("30000");
    expect(Number(r.headers.get("rate-limit-remaining"))).toBeLessThan(30000);
    expect(Number.isNaN(Date.parse(r.headers.get("rate-limit-reset") ?? ""))).toBe(false);
  });

  it("always carries @adminapi.warnings, empty when there is nothing to say", async () => {
    const r = await h.invoke("Get-OrganizationConfig");
    expect(r.json["@adminapi.warnings"]).toEqual([]);
    expect(r.json["@odata.nextLink"]).toBeUndefined();
  });

  it("accepts v1.0 and the tenant GUID in the path", async () => {
    const url = `${h.origin}/adminapi/v1.0/${TEST_TENANT.id}/InvokeCommand`;
    const r = await h.invoke("Get-AcceptedDomain", {}, { url });
    expect(r.status).toBe(200);
    expect(r.json["@odata.context"]).toContain(`/adminapi/v1.0/${TEST_TENANT.id}/$metadata`);
  });
});

describe("paging", () => {
  it("defaults to 100 rows per page without Prefer", async () => {
    const r = await h.invoke("Get-Mailbox", { ResultSize: "Unlimited" });
    expect(r.json.value).toHaveLength(100);
    expect(r.json["@odata.nextLink"]).toMatch(
      new RegExp(`^${h.origin}/adminapi/beta/${TEST_TENANT.domain}/InvokeCommand\\?\\$skiptoken=[\\w.-]+$`),
    );
    expect(r.headers.get("preference-applied")).toBeNull();
  });

  it("caps odata.maxpagesize at 1000 and says so", async () => {
    const r = await h.invoke("Get-Mailbox", { ResultSize: "Unlimited" }, { pageSize: 5000 });
    expect(r.json.value).toHaveLength(1000);
    expect(r.headers.get("preference-applied")).toBe("odata.maxpagesize=1000");
  });

  it("pages through everything by POST with the same body", async () => {
    const { names, pages } = await collect({ ResultSize: "Unlimited" }, { pageSize: 400 });
    expect(names).toEqual(active);
    expect(pages).toHaveLength(Math.ceil(active.length / 400));
    expect(pages.at(-1)?.json["@adminapi.warnings"]).toEqual([]);
  });

  it("pages through everything by GET on the nextLink", async () => {
    const { names } = await collect({ ResultSize: "unlimited" }, { pageSize: 300, followWith: "GET" });
    expect(names).toEqual(active);
  });

  it("returns what the filter selects across pages, without duplicates", async () => {
    const { names } = await collect(
      { ResultSize: "Unlimited", RecipientTypeDetails: "SharedMailbox" },
      { pageSize: 25, followWith: "GET" },
    );
    const shared = active.filter((a) => a.startsWith("shared"));
    expect(shared.length).toBeGreaterThan(50);
    expect(names).toEqual(shared);
  });

  it("applies the default ResultSize of 1000 with the real warning", async () => {
    const { names, pages } = await collect({}, { pageSize: 300 });
    expect(names).toEqual(active.slice(0, 1000));
    expect(pages.at(-1)?.json["@adminapi.warnings"]).toEqual([MORE]);
    for (const page of pages.slice(0, -1)) expect(page.json["@adminapi.warnings"]).toEqual([]);
  });
});

describe("ResultSize edge cases (page size 10)", () => {
  const cases: Array<[string, unknown, number, boolean]> = [
    ["0", 0, 0, true],
    ["1", 1, 1, true],
    ["exactly a page", 10, 10, true],
    ["a page plus one", 11, 11, true],
    ["as a string", "5", 5, true],
  ];
  for (const [label, resultSize, expected, warned] of cases) {
    it(`ResultSize ${label}`, async () => {
      const { names, pages } = await collect({ ResultSize: resultSize }, { pageSize: 10 });
      expect(names).toEqual(active.slice(0, expected));
      expect(pages).toHaveLength(Math.max(1, Math.ceil(expected / 10)));
      expect(pages.at(-1)?.json["@odata.nextLink"]).toBeUndefined();
      expect(pages.at(-1)?.json["@adminapi.warnings"]).toEqual(warned ? [MORE] : []);
    });
  }

  it("ResultSize equal to the number of rows gives all of them without a warning", async () => {
    const { names, pages } = await collect(
      { ResultSize: active.length, RecipientTypeDetails: ["RoomMailbox", "EquipmentMailbox"] },
      { pageSize: 10 },
    );
    const rooms = [];
    for (let i = 0; i < h.dataset.count; i++) {
      const m = h.dataset.mailbox(i);
      if (
        !m.inactive &&
        (m.recipientTypeDetails === "RoomMailbox" || m.recipientTypeDetails === "EquipmentMailbox")
      ) {
        rooms.push(m.alias);
      }
    }
    expect(names).toEqual(rooms);
    expect(pages.at(-1)?.json["@adminapi.warnings"]).toEqual([]);
  });

  it("a result with no rows is one empty page without nextLink or warning", async () => {
    const { names, pages } = await collect(
      { ResultSize: "Unlimited", Filter: "DisplayName -eq 'nobody at all'" },
      { pageSize: 10 },
    );
    expect(names).toEqual([]);
    expect(pages).toHaveLength(1);
    expect(pages[0]?.json["@adminapi.warnings"]).toEqual([]);
  });

  it("refuses a negative or non-numeric ResultSize", async () => {
    for (const bad of [-1, "lots", 1.5]) {
      const r = await h.invoke("Get-Mailbox", { ResultSize: bad });
      expect(r.status).toBe(400);
      expect(JSON.parse(r.json.error.details[0].message).Message).toContain(
        "Cannot bind parameter 'ResultSize'",
      );
    }
  });
});

describe("$skiptoken integrity", () => {
  async function firstNextLink(params: Record<string, unknown>): Promise<string> {
    const r = await h.invoke("Get-Mailbox", params, { pageSize: 5 });
    expect(r.json["@odata.nextLink"]).toBeDefined();
    return r.json["@odata.nextLink"];
  }

  it("refuses a nextLink replayed with other parameters", async () => {
    const url = await firstNextLink({ ResultSize: "Unlimited", RecipientTypeDetails: "UserMailbox" });
    const r = await h.invoke(
      "Get-Mailbox",
      { ResultSize: "Unlimited", RecipientTypeDetails: "SharedMailbox" },
      { url },
    );
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(/different cmdlet or different parameters/);
    const other = await h.invoke(
      "Get-Recipient",
      { ResultSize: "Unlimited", RecipientTypeDetails: "UserMailbox" },
      { url },
    );
    expect(other.status).toBe(400);
  });

  it("accepts the same parameters in another key order and case", async () => {
    const url = await firstNextLink({ ResultSize: "Unlimited", RecipientTypeDetails: "UserMailbox" });
    const r = await h.invoke(
      "get-mailbox",
      { recipienttypedetails: "UserMailbox", resultsize: "Unlimited" },
      { url },
    );
    expect(r.status).toBe(200);
  });

  it("refuses a tampered, foreign-app or expired token", async () => {
    const url = await firstNextLink({ ResultSize: "Unlimited" });
    const tampered = url.replace(/skiptoken=(.)/, (_m, c: string) => `skiptoken=${c === "e" ? "f" : "e"}`);
    expect((await h.invoke("Get-Mailbox", {}, { url: tampered, method: "GET" })).status).toBe(400);
    const otherApp = h.token({ appid: TEST_APP_ID.replace(/^1/, "2") });
    expect((await h.invoke("Get-Mailbox", {}, { url, method: "GET", token: otherApp })).status).toBe(400);
    h.now.ms += 11 * 60_000;
    try {
      const expired = await h.invoke("Get-Mailbox", {}, { url, method: "GET" });
      expect(expired.status).toBe(400);
      expect(expired.json.error.message).toMatch(/expired/);
    } finally {
      h.now.ms -= 11 * 60_000;
    }
  });

  it("refuses GET without a nextLink", async () => {
    const r = await h.invoke("Get-Mailbox", {}, { method: "GET" });
    expect(r.status).toBe(405);
  });
});
