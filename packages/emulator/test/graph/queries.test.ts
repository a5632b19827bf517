import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulatorWith } from "../../src/index.js";
import type { RunningEmulator } from "../../src/types.js";
import { EmulatorClient, fakeExchange, type TestResponse } from "../support/identity.js";

/**
 * Graph queries as Graph documents them for applications and service principals (docs/emulator.md,
 * "$filter, $count, owners, federated credentials"): what works by default, what needs an advanced
 * query, and what Graph refuses.
 */

let emu: RunningEmulator;
let client: EmulatorClient;
let admin: string;
const apps: Array<{ id: string; appId: string; displayName: string }> = [];

beforeAll(async () => {
  emu = await startEmulatorWith({}, fakeExchange);
  client = new EmulatorClient(emu);
  admin = emu.issueAdminToken();
  for (const [displayName, uniqueName] of [
    ["Contoso Reports", "contoso-reports"],
    ["contoso mail", "contoso-mail"],
    ["Fabrikam O'Brien", "fabrikam"],
  ] as const) {
    const r = await client.graph("POST", "applications", admin, {
      displayName,
      uniqueName,
      identifierUris: [`api://${uniqueName}`],
      tags: [displayName.split(" ")[0]!.toLowerCase()],
    });
    expect(r.status).toBe(201);
    apps.push(r.body);
    expect((await client.graph("POST", "servicePrincipals", admin, { appId: r.body.appId })).status).toBe(
      201,
    );
  }
});

afterAll(async () => {
  client.close();
  await emu.close();
});

const names = (r: TestResponse) =>
  (r.body.value as Array<{ displayName: string }>).map((x) => x.displayName).sort();
const get = (path: string, headers?: Record<string, string>) =>
  client.graph("GET", path, admin, undefined, headers);
const filter = (collection: string, f: string, headers?: Record<string, string>) =>
  get(`${collection}?$filter=${encodeURIComponent(f)}`, headers);
const expectError = (r: TestResponse, status: number, code: string, message?: string) => {
  expect(r.status, r.text).toBe(status);
  expect(r.body.error.code).toBe(code);
  if (message) expect(r.body.error.message).toBe(message);
  expect(r.body.error.innerError["request-id"]).toMatch(/^[0-9a-f-]{36}$/);
};

describe("$filter on applications and service principals", () => {
  it("startswith(displayName,…), displayName eq (case-insensitive, quotes doubled), appId eq, id in (…)", async () => {
    for (const collection of ["applications", "servicePrincipals"]) {
      expect(names(await filter(collection, "startswith(displayName,'contoso')"))).toEqual([
        "Contoso Reports",
        "contoso mail",
      ]);
      expect(names(await filter(collection, "displayName eq 'CONTOSO MAIL'"))).toEqual(["contoso mail"]);
      expect(names(await filter(collection, "displayName eq 'Fabrikam O''Brien'"))).toEqual([
        "Fabrikam O'Brien",
      ]);
      expect(names(await filter(collection, `appId eq '${apps[0]!.appId}'`))).toEqual(["Contoso Reports"]);
      expect(
        names(
          await filter(
            collection,
            `appId in ('${apps[1]!.appId}', '${apps[2]!.appId}') and startswith(displayName,'c')`,
          ),
        ),
      ).toEqual(["contoso mail"]);
      expect(
        names(await filter(collection, "displayName eq 'contoso mail' or displayName eq 'Contoso Reports'")),
      ).toEqual(["Contoso Reports", "contoso mail"]);
    }
    expect(names(await filter("applications", `id in ('${apps[0]!.id}','${apps[2]!.id}')`))).toEqual([
      "Contoso Reports",
      "Fabrikam O'Brien",
    ]);
    expect(names(await filter("applications", "identifierUris/any(x:x eq 'api://fabrikam')"))).toEqual([
      "Fabrikam O'Brien",
    ]);
  });

  it("servicePrincipalNames/any(c:c eq '…') finds a service principal by appId or identifier URI", async () => {
    expect(
      names(await filter("servicePrincipals", `servicePrincipalNames/any(c:c eq '${apps[1]!.appId}')`)),
    ).toEqual(["contoso mail"]);
    const exo = await filter(
      "servicePrincipals",
      "servicePrincipalNames/any(c:c eq 'https://outlook.office365.com')",
    );
    expect(names(exo)).toEqual(["Office 365 Exchange Online"]);
    expect(
      names(await filter("servicePrincipals", "servicePrincipalNames/any(c:startswith(c,'api://contoso-'))")),
    ).toEqual(["Contoso Reports", "contoso mail"]);
  });

  it("refuses what Graph does not document: uniqueName (an alternate key), notes, ge, an eq on a collection", async () => {
    expectError(
      await filter("applications", "uniqueName eq 'contoso-mail'"),
      400,
      "Request_UnsupportedQuery",
      "Unsupported or invalid query filter clause specified for property 'uniqueName' of resource 'Application'.",
    );
    // the alternate key is how a uniqueName is looked up
    expect((await get("applications(uniqueName='contoso-mail')")).body.displayName).toBe("contoso mail");
    for (const [collection, f] of [
      ["applications", "notes eq 'x'"],
      ["applications", "displayName ge 'a'"],
      ["servicePrincipals", "servicePrincipalNames eq 'x'"],
      ["servicePrincipals", "startswith(servicePrincipalType,'App')"],
    ] as const) {
      expectError(await filter(collection, f), 400, "Request_UnsupportedQuery");
    }
    expectError(await filter("applications", "displayName eq 'unterminated"), 400, "BadRequest");
    expectError(await filter("applications", "displayName eq 'a' and"), 400, "BadRequest");
  });

  it("ne, not and endswith only as advanced queries (ConsistencyLevel: eventual + $count=true)", async () => {
    expectError(
      await filter("applications", "displayName ne 'contoso mail'"),
      400,
      "Request_UnsupportedQuery",
      "Operator 'ne' is not supported because the 'ConsistencyLevel:eventual' header is missing. Refer to https://aka.ms/graph-docs/advanced-queries for more information",
    );
    const eventual = { ConsistencyLevel: "eventual" };
    const advanced = (f: string) =>
      get(`applications?$count=true&$filter=${encodeURIComponent(f)}`, eventual);
    const ne = await advanced("displayName ne 'contoso mail'");
    expect(ne.status).toBe(200);
    expect(names(ne)).toEqual(["Contoso Reports", "Fabrikam O'Brien"]);
    expect(ne.body["@odata.count"]).toBe(2);
    expect(names(await advanced("not(startswith(displayName,'contoso'))"))).toEqual(["Fabrikam O'Brien"]);
    expect(names(await advanced("endswith(displayName,'reports')"))).toEqual(["Contoso Reports"]);
  });
});

describe("$count", () => {
  it("with ConsistencyLevel: eventual: @odata.count over all pages, and the /$count segment as text", async () => {
    const eventual = { ConsistencyLevel: "eventual" };
    const r = await get("servicePrincipals?$count=true&$top=1", eventual);
    expect(r.status).toBe(200);
    expect(r.body.value).toHaveLength(1);
    // 3 apps' service principals + Microsoft Graph + Office 365 Exchange Online
    expect(r.body["@odata.count"]).toBe(5);
    const text = await get("applications/$count", eventual);
    expect(text.status).toBe(200);
    expect(text.headers["content-type"]).toMatch(/^text\/plain/);
    expect(text.text).toBe("3");
    expect(
      (
        await get(
          `applications/$count?$filter=${encodeURIComponent("startswith(displayName,'contoso')")}`,
          eventual,
        )
      ).text,
    ).toBe("2");
  });

  it("without the header: 400 Request_BadRequest", async () => {
    expectError(
      await get("applications?$count=true"),
      400,
      "Request_BadRequest",
      "$count is not currently supported.",
    );
    expectError(await get("applications/$count"), 400, "Request_BadRequest");
  });
});

describe("owners", () => {
  it("adds, lists and removes owners of an application and a service principal with $ref", async () => {
    const ref = (id: string) => ({ "@odata.id": `https://graph.microsoft.com/v1.0/directoryObjects/${id}` });
    const app = apps[0]!;
    expect((await get(`applications/${app.id}/owners`)).body.value).toEqual([]);
    const add = await client.graph(
      "POST",
      `applications/${app.id}/owners/$ref`,
      admin,
      ref(emu.admin.objectId),
    );
    expect(add.status).toBe(204);
    const again = await client.graph(
      "POST",
      `applications/${app.id}/owners/$ref`,
      admin,
      ref(emu.admin.objectId),
    );
    expectError(again, 400, "Request_BadRequest");
    const listed = await get(`applications/${app.id}/owners`);
    expect(listed.body.value).toMatchObject([
      {
        "@odata.type": "#microsoft.graph.user",
        id: emu.admin.objectId,
        userPrincipalName: emu.admin.userPrincipalName,
      },
    ]);
    const unknown = "11111111-2222-4333-8444-555555555555";
    expectError(
      await client.graph("POST", `applications/${app.id}/owners/$ref`, admin, ref(unknown)),
      404,
      "Request_ResourceNotFound",
    );
    const removed = await client.graph(
      "DELETE",
      `applications/${app.id}/owners/${emu.admin.objectId}/$ref`,
      admin,
    );
    expect(removed.status).toBe(204);
    expect((await get(`applications/${app.id}/owners`)).body.value).toEqual([]);

    const sp = (await filter("servicePrincipals", `appId eq '${app.appId}'`)).body.value[0];
    expect(
      (await client.graph("POST", `servicePrincipals/${sp.id}/owners/$ref`, admin, ref(emu.admin.objectId)))
        .status,
    ).toBe(204);
    expect(
      (await get(`servicePrincipals/${sp.id}/owners`)).body.value.map((o: { id: string }) => o.id),
    ).toEqual([emu.admin.objectId]);
    // a Global Reader may read owners but not change them
    const reader = emu.issueAdminToken({ userPrincipalName: `reader@${emu.tenant.domain}` });
    expect((await client.graph("GET", `servicePrincipals/${sp.id}/owners`, reader)).status).toBe(200);
    expectError(
      await client.graph("DELETE", `servicePrincipals/${sp.id}/owners/${emu.admin.objectId}/$ref`, reader),
      403,
      "Authorization_RequestDenied",
    );
  });
});

describe("federatedIdentityCredentials", () => {
  it("creates, lists, reads by id or name, updates and deletes; validates and refuses duplicate names", async () => {
    const app = apps[1]!;
    const base = `applications/${app.id}/federatedIdentityCredentials`;
    const body = {
      name: "github-main",
      issuer: "https://token.actions.githubusercontent.com",
      subject: "repo:contoso/reports:ref:refs/heads/main",
      audiences: ["api://AzureADTokenExchange"],
    };
    const created = await client.graph("POST", base, admin, body);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      ...body,
      description: null,
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expectError(
      await client.graph("POST", base, admin, body),
      409,
      "Request_MultipleObjectsWithSameKeyValue",
    );
    for (const bad of [
      { ...body, name: "other", audiences: [] },
      { ...body, name: "other", issuer: "not-a-url" },
      { ...body, name: "", subject: "x" },
    ]) {
      expectError(await client.graph("POST", base, admin, bad), 400, "Request_BadRequest");
    }
    expect((await get(base)).body.value).toHaveLength(1);
    expect((await get(`${base}/github-main`)).body.id).toBe(created.body.id);
    const patched = await client.graph("PATCH", `${base}/${created.body.id}`, admin, {
      subject: "repo:contoso/reports:environment:prod",
    });
    expect(patched.status).toBe(204);
    expect((await get(`${base}/${created.body.id}`)).body.subject).toBe(
      "repo:contoso/reports:environment:prod",
    );
    expect((await client.graph("DELETE", `${base}/github-main`, admin)).status).toBe(204);
    expectError(await get(`${base}/github-main`), 404, "Request_ResourceNotFound");
  });
});
