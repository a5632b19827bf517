import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulatorWith } from "../../src/index.js";
import type { AccessTokenClaims, RunningEmulator } from "../../src/types.js";
import {
  EmulatorClient,
  EXCHANGE_ADMIN_ROLE,
  EXO_APP_ID,
  fakeExchange,
  jwtPayload,
  MANAGE_AS_APP,
  makeCertificate,
  provisionApp,
  signAssertion,
  type TestCertificate,
  type TestResponse,
} from "../support/identity.js";

const GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10";
const PROOF_AUD = "00000002-0000-0000-c000-000000000000";

let emu: RunningEmulator;
let client: EmulatorClient;
let admin: string;
let certA: TestCertificate;
let certB: TestCertificate;
let certC: TestCertificate;
/** Added to the real clock: lets tests pass replication delays and token lifetimes without waiting. */
let offsetMs = 0;
let exchangeDeps: { authorizationPropagated(claims: AccessTokenClaims): boolean };
let exoSpId: string;

beforeAll(async () => {
  emu = await startEmulatorWith(
    { clock: () => Date.now() + offsetMs },
    {
      ...fakeExchange,
      createHandler: (deps: typeof exchangeDeps) => {
        exchangeDeps = deps;
        return fakeExchange.createHandler();
      },
    },
  );
  client = new EmulatorClient(emu);
  admin = emu.issueAdminToken();
  [certA, certB, certC] = await Promise.all([makeCertificate(), makeCertificate(), makeCertificate()]);
  const exo = await client.graph("GET", `servicePrincipals?$filter=appId eq '${EXO_APP_ID}'`, admin);
  exoSpId = exo.body.value[0].id;
});

afterAll(async () => {
  client.close();
  await emu.close();
});

const tokenFor = (upn: string, scopes?: string[]) =>
  emu.issueAdminToken({ userPrincipalName: `${upn}@${emu.tenant.domain}`, ...(scopes ? { scopes } : {}) });

const createApp = async (token = admin, body: Record<string, unknown> = {}) =>
  client.graph("POST", "applications", token, { displayName: "graph-test", ...body });

function expectGraphError(r: TestResponse, status: number, code: string, message?: string | RegExp) {
  expect(r.status).toBe(status);
  expect(r.body.error.code).toBe(code);
  if (message !== undefined) expect(r.body.error.message).toMatch(message);
  expect(r.body.error.innerError["request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  expect(r.body.error.innerError.date).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
  expect(r.headers["request-id"]).toBe(r.body.error.innerError["request-id"]);
}

describe("authentication", () => {
  it("requires a bearer token for the Graph audience", async () => {
    expectGraphError(
      await client.graph("GET", "applications", ""),
      401,
      "InvalidAuthenticationToken",
      "Access token is empty.",
    );
    expectGraphError(
      await client.graph("GET", "applications", "abc.def.ghi"),
      401,
      "InvalidAuthenticationToken",
    );
  });

  it("refuses an expired token", async () => {
    const token = emu.issueAdminToken();
    offsetMs = 2 * 3600_000;
    try {
      expectGraphError(
        await client.graph("GET", "applications", token),
        401,
        "InvalidAuthenticationToken",
        /expired/,
      );
    } finally {
      offsetMs = 0;
    }
  });

  it("echoes the client's request id", async () => {
    const id = "0a1b2c3d-1111-4222-8333-444455556666";
    const r = await client.graph(
      "GET",
      "applications/00000000-0000-4000-8000-000000000000",
      admin,
      undefined,
      {
        "client-request-id": id,
      },
    );
    expect(r.status).toBe(404);
    expect(r.body.error.innerError["client-request-id"]).toBe(id);
  });
});

describe("applications", () => {
  it("creates an application with a certificate and derives the key credential from it", async () => {
    const r = await createApp(admin, {
      keyCredentials: [{ type: "AsymmetricX509Cert", usage: "Verify", key: certA.keyBase64 }],
    });
    expect(r.status).toBe(201);
    expect(r.headers.location).toContain(r.body.id);
    expect(r.body["@odata.context"]).toBe(`${emu.graphEndpoint}/v1.0/$metadata#applications/$entity`);
    expect(r.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.body.appId).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.body.appId).not.toBe(r.body.id);
    expect(Date.parse(r.body.createdDateTime)).toBeGreaterThan(Date.now() - 60_000);
    expect(r.body.signInAudience).toBe("AzureADMyOrg");
    const [key] = r.body.keyCredentials;
    expect(key.keyId).toMatch(/^[0-9a-f-]{36}$/);
    expect(key.customKeyIdentifier).toBe(createHash("sha1").update(certA.der).digest("base64"));
    expect(key.key).toBeNull();
    expect(key.displayName).toBe("CN=exo-cba-test");
    expect(key.type).toBe("AsymmetricX509Cert");
  });

  it("returns `key` only on a single-object GET with $select=keyCredentials", async () => {
    const app = (
      await createApp(admin, {
        keyCredentials: [{ type: "AsymmetricX509Cert", usage: "Verify", key: certA.keyBase64 }],
      })
    ).body;
    const selected = await client.graph("GET", `applications/${app.id}?$select=keyCredentials`, admin);
    expect(Object.keys(selected.body).sort()).toEqual(["@odata.context", "keyCredentials"]);
    expect(selected.body.keyCredentials[0].key).toBe(certA.keyBase64);
    const plain = await client.graph("GET", `applications/${app.id}`, admin);
    expect(plain.body.keyCredentials[0].key).toBeNull();
    const list = await client.graph(
      "GET",
      `applications?$filter=appId eq '${app.appId}'&$select=keyCredentials`,
      admin,
    );
    expect(list.body.value).toHaveLength(1);
    expect(list.body.value[0].keyCredentials[0].key).toBeNull();
    const byAppId = await client.graph("GET", `applications(appId='${app.appId}')`, admin);
    expect(byAppId.body.id).toBe(app.id);
  });

  it("accepts the key as base64 of PEM text and normalises it to DER", async () => {
    const r = await createApp(admin, {
      keyCredentials: [
        { type: "AsymmetricX509Cert", usage: "Verify", key: Buffer.from(certB.certPem).toString("base64") },
      ],
    });
    expect(r.status).toBe(201);
    const got = await client.graph("GET", `applications/${r.body.id}?$select=keyCredentials`, admin);
    expect(got.body.keyCredentials[0].key).toBe(certB.keyBase64);
  });

  it("filters by displayName and refuses filters on unsupported properties", async () => {
    await createApp(admin, { displayName: "findable-name" });
    const r = await client.graph(
      "GET",
      "applications?$filter=displayName eq 'findable-name'&$select=id,displayName",
      admin,
    );
    expect(r.body.value).toHaveLength(1);
    expect(Object.keys(r.body.value[0]).sort()).toEqual(["displayName", "id"]);
    expectGraphError(
      await client.graph("GET", "applications?$filter=notes eq 'x'", admin),
      400,
      "Request_UnsupportedQuery",
    );
  });

  it("pages with $top and an absolute @odata.nextLink", async () => {
    for (let i = 0; i < 3; i++) await createApp(admin, { displayName: "paged" });
    const first = await client.graph("GET", "applications?$filter=displayName eq 'paged'&$top=2", admin);
    expect(first.body.value).toHaveLength(2);
    const next = first.body["@odata.nextLink"] as string;
    expect(next.startsWith(`${emu.graphEndpoint}/v1.0/applications?`)).toBe(true);
    const second = await client.call("GET", next, { token: admin });
    expect(second.body.value).toHaveLength(1);
    expect(second.body["@odata.nextLink"]).toBeUndefined();
  });

  it("answers an unknown object with 404 Request_ResourceNotFound", async () => {
    const id = "11111111-1111-4111-8111-111111111111";
    expectGraphError(
      await client.graph("GET", `applications/${id}`, admin),
      404,
      "Request_ResourceNotFound",
      `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
    );
  });

  it("upserts by uniqueName: 404 without Prefer, 201 when created, 204 when updated", async () => {
    const path = "applications(uniqueName='exo-cba-upsert')";
    expectGraphError(
      await client.graph("PATCH", path, admin, { displayName: "u1" }),
      404,
      "Request_ResourceNotFound",
    );
    const prefer = { prefer: "create-if-missing" };
    const created = await client.graph("PATCH", path, admin, { displayName: "u1" }, prefer);
    expect(created.status).toBe(201);
    expect(created.body.uniqueName).toBe("exo-cba-upsert");
    const updated = await client.graph("PATCH", path, admin, { displayName: "u2" }, prefer);
    expect(updated.status).toBe(204);
    const got = await client.graph("GET", path, admin);
    expect(got.body).toMatchObject({ id: created.body.id, displayName: "u2" });
    // The alternate-key read setup uses: $select honoured, 404 when no app has that uniqueName.
    const selected = await client.graph("GET", `${path}?$select=id,uniqueName`, admin);
    expect(selected.status).toBe(200);
    expect(selected.body.uniqueName).toBe("exo-cba-upsert");
    expect(selected.body.displayName).toBeUndefined();
    expectGraphError(
      await client.graph("GET", "applications(uniqueName='exo-cba-missing')", admin),
      404,
      "Request_ResourceNotFound",
    );
  });

  it("replaces keyCredentials on PATCH, keeping entries re-sent by keyId with key null", async () => {
    const app = (
      await createApp(admin, {
        keyCredentials: [{ type: "AsymmetricX509Cert", usage: "Verify", key: certA.keyBase64 }],
      })
    ).body;
    const keep = app.keyCredentials[0];
    const both = await client.graph("PATCH", `applications/${app.id}`, admin, {
      keyCredentials: [
        { ...keep, key: null },
        { type: "AsymmetricX509Cert", usage: "Verify", key: certB.keyBase64 },
      ],
    });
    expect(both.status).toBe(204);
    const afterAdd = (await client.graph("GET", `applications/${app.id}?$select=keyCredentials`, admin)).body
      .keyCredentials;
    expect(afterAdd.map((k: { key: string }) => k.key)).toEqual([certA.keyBase64, certB.keyBase64]);
    expect(afterAdd[0].keyId).toBe(keep.keyId);
    await client.graph("PATCH", `applications/${app.id}`, admin, {
      keyCredentials: [{ keyId: afterAdd[1].keyId, type: "AsymmetricX509Cert", usage: "Verify", key: null }],
    });
    const afterRemove = (await client.graph("GET", `applications/${app.id}?$select=keyCredentials`, admin))
      .body.keyCredentials;
    expect(afterRemove.map((k: { key: string }) => k.key)).toEqual([certB.keyBase64]);
  });

  it("validates key credentials like Graph", async () => {
    const bad = (k: Record<string, unknown>) => createApp(admin, { keyCredentials: [k] });
    expectGraphError(
      await bad({ type: "AsymmetricX509Cert", usage: "Encrypt", key: certA.keyBase64 }),
      400,
      "Request_BadRequest",
      'The value for the property "usage" in one of your credentials is invalid. Acceptable values are Sign, Verify.',
    );
    expectGraphError(
      await bad({ type: "Password", usage: "Verify", key: certA.keyBase64 }),
      400,
      "Request_BadRequest",
      /'type'/,
    );
    expectGraphError(
      await bad({
        type: "AsymmetricX509Cert",
        usage: "Verify",
        key: Buffer.from("not a certificate").toString("base64"),
      }),
      400,
      "Request_BadRequest",
      /'key'/,
    );
    expectGraphError(
      await bad({
        type: "AsymmetricX509Cert",
        usage: "Verify",
        key: certA.keyBase64,
        endDateTime: new Date(Date.now() + 5 * 365 * 86_400_000).toISOString(),
      }),
      400,
      "KeyCredentialsInvalidEndDate",
      "Key credential end date is invalid.",
    );
    expectGraphError(await createApp(admin, { favouriteColour: "blue" }), 400, "Request_BadRequest");
  });

  it("deletes an application together with its service principal", async () => {
    const app = (await createApp()).body;
    const sp = (await client.graph("POST", "servicePrincipals", admin, { appId: app.appId })).body;
    expect((await client.graph("DELETE", `applications/${app.id}`, admin)).status).toBe(204);
    expect((await client.graph("GET", `applications/${app.id}`, admin)).status).toBe(404);
    expect((await client.graph("GET", `servicePrincipals/${sp.id}`, admin)).status).toBe(404);
  });
});

describe("service principals and app role assignments", () => {
  it("seeds Office 365 Exchange Online with Exchange.ManageAsApp for applications", async () => {
    const r = await client.graph("GET", `servicePrincipals(appId='${EXO_APP_ID}')`, admin);
    expect(r.body.displayName).toBe("Office 365 Exchange Online");
    expect(r.body.appRoles).toContainEqual(
      expect.objectContaining({
        id: MANAGE_AS_APP,
        value: "Exchange.ManageAsApp",
        allowedMemberTypes: ["Application"],
      }),
    );
  });

  it("creates an SP once (409 on a duplicate) and refuses an appId without an application", async () => {
    const app = (await createApp()).body;
    const sp = await client.graph("POST", "servicePrincipals", admin, { appId: app.appId });
    expect(sp.status).toBe(201);
    expect(sp.body).toMatchObject({
      appId: app.appId,
      displayName: "graph-test",
      servicePrincipalType: "Application",
    });
    expectGraphError(
      await client.graph("POST", "servicePrincipals", admin, { appId: app.appId }),
      409,
      "Request_MultipleObjectsWithSameKeyValue",
      /is already in use/,
    );
    const found = await client.graph("GET", `servicePrincipals?$filter=appId eq '${app.appId}'`, admin);
    expect(found.body.value.map((s: { id: string }) => s.id)).toEqual([sp.body.id]);
    const stray = await client.graph("POST", "servicePrincipals", admin, {
      appId: "22222222-2222-4222-8222-222222222222",
    });
    expectGraphError(stray, 400, "Request_BadRequest", /does not reference a valid application object/);
    expect(stray.body.error.details[0]).toMatchObject({
      code: "NoBackingApplicationObject",
      target: "appId",
    });
  });

  it("grants an app role once and lists, refuses duplicates and unknown roles, deletes", async () => {
    const app = (await createApp()).body;
    const sp = (await client.graph("POST", "servicePrincipals", admin, { appId: app.appId })).body;
    const body = { principalId: sp.id, resourceId: exoSpId, appRoleId: MANAGE_AS_APP };
    const grant = await client.graph("POST", `servicePrincipals/${exoSpId}/appRoleAssignedTo`, admin, body);
    expect(grant.status).toBe(201);
    expect(grant.body).toMatchObject({
      principalId: sp.id,
      principalType: "ServicePrincipal",
      resourceId: exoSpId,
      resourceDisplayName: "Office 365 Exchange Online",
      appRoleId: MANAGE_AS_APP,
    });
    expectGraphError(
      await client.graph("POST", `servicePrincipals/${sp.id}/appRoleAssignments`, admin, body),
      400,
      "Request_BadRequest",
      "Permission being assigned already exists on the object.",
    );
    expectGraphError(
      await client.graph("POST", `servicePrincipals/${exoSpId}/appRoleAssignedTo`, admin, {
        ...body,
        appRoleId: "33333333-3333-4333-8333-333333333333",
      }),
      400,
      "Request_BadRequest",
      "Permission being assigned was not found on application.",
    );
    const mine = await client.graph("GET", `servicePrincipals/${sp.id}/appRoleAssignments`, admin);
    expect(mine.body.value.map((a: { id: string }) => a.id)).toEqual([grant.body.id]);
    const del = await client.graph(
      "DELETE",
      `servicePrincipals/${exoSpId}/appRoleAssignedTo/${grant.body.id}`,
      admin,
    );
    expect(del.status).toBe(204);
    expect(
      (await client.graph("GET", `servicePrincipals/${sp.id}/appRoleAssignments`, admin)).body.value,
    ).toEqual([]);
  });
});

describe("directory roles", () => {
  it("lists built-in role definitions whose id is the template id", async () => {
    const r = await client.graph(
      "GET",
      "roleManagement/directory/roleDefinitions?$filter=displayName eq 'Exchange Administrator'",
      admin,
    );
    expect(r.body.value).toHaveLength(1);
    expect(r.body.value[0]).toMatchObject({
      id: EXCHANGE_ADMIN_ROLE,
      templateId: EXCHANGE_ADMIN_ROLE,
      isBuiltIn: true,
    });
  });

  it("assigns a role once, filters by principal, refuses duplicates, deletes", async () => {
    const app = (await createApp()).body;
    const sp = (await client.graph("POST", "servicePrincipals", admin, { appId: app.appId })).body;
    const body = { principalId: sp.id, roleDefinitionId: EXCHANGE_ADMIN_ROLE, directoryScopeId: "/" };
    const created = await client.graph("POST", "roleManagement/directory/roleAssignments", admin, body);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject(body);
    expectGraphError(
      await client.graph("POST", "roleManagement/directory/roleAssignments", admin, body),
      400,
      "Request_BadRequest",
      "A conflicting object with one or more of the specified property values is present in the directory.",
    );
    const list = await client.graph(
      "GET",
      `roleManagement/directory/roleAssignments?$filter=principalId eq '${sp.id}'`,
      admin,
    );
    expect(list.body.value.map((a: { id: string }) => a.id)).toEqual([created.body.id]);
    const del = await client.graph(
      "DELETE",
      `roleManagement/directory/roleAssignments/${created.body.id}`,
      admin,
    );
    expect(del.status).toBe(204);
    expect(
      (await client.graph("GET", `roleManagement/directory/roleAssignments/${created.body.id}`, admin))
        .status,
    ).toBe(404);
  });

  it("serves the organization with its initial domain", async () => {
    const r = await client.graph("GET", "organization", admin);
    expect(r.body.value[0]).toMatchObject({ id: emu.tenant.id, displayName: emu.tenant.displayName });
    expect(r.body.value[0].verifiedDomains).toContainEqual(
      expect.objectContaining({ name: emu.tenant.domain, isInitial: true }),
    );
  });
});

describe("authorization per seeded user", () => {
  const denied = (r: TestResponse) =>
    expectGraphError(
      r,
      403,
      "Authorization_RequestDenied",
      "Insufficient privileges to complete the operation.",
    );

  it("seeds the documented users and roles", () => {
    const roles = Object.fromEntries(emu.users.map((u) => [u.userPrincipalName.split("@")[0], u.roles]));
    expect(roles.admin).toEqual([GLOBAL_ADMIN]);
    expect(roles.helpdesk).toEqual(["729827e3-9c14-49f7-bb1b-9608f156bbb8"]);
    expect(roles.appadmin).toEqual(["9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"]);
    expect(roles.reader).toEqual(["f2ef992c-3afb-46b9-b7cf-a126ee74c451"]);
    expect(emu.admin.userPrincipalName).toBe(`admin@${emu.tenant.domain}`);
  });

  it("Helpdesk Administrator can read but not create apps", async () => {
    const t = tokenFor("helpdesk");
    expect((await client.graph("GET", "applications", t)).status).toBe(200);
    denied(await createApp(t));
  });

  it("Global Reader can read but not change anything", async () => {
    const t = tokenFor("reader");
    expect((await client.graph("GET", "servicePrincipals", t)).status).toBe(200);
    denied(await createApp(t));
    denied(
      await client.graph("POST", "roleManagement/directory/roleAssignments", t, {
        principalId: emu.admin.objectId,
        roleDefinitionId: EXCHANGE_ADMIN_ROLE,
        directoryScopeId: "/",
      }),
    );
  });

  it("Application Administrator can create and consent but not assign directory roles", async () => {
    const t = tokenFor("appadmin");
    const app = await createApp(t);
    expect(app.status).toBe(201);
    const sp = await client.graph("POST", "servicePrincipals", t, { appId: app.body.appId });
    expect(sp.status).toBe(201);
    const grant = await client.graph("POST", `servicePrincipals/${exoSpId}/appRoleAssignedTo`, t, {
      principalId: sp.body.id,
      resourceId: exoSpId,
      appRoleId: MANAGE_AS_APP,
    });
    expect(grant.status).toBe(201);
    const roleBody = {
      principalId: sp.body.id,
      roleDefinitionId: EXCHANGE_ADMIN_ROLE,
      directoryScopeId: "/",
    };
    denied(await client.graph("POST", "roleManagement/directory/roleAssignments", t, roleBody));
    // ... which a Privileged Role Administrator can, though it cannot create apps.
    const pra = tokenFor("privroleadmin");
    expect(
      (await client.graph("POST", "roleManagement/directory/roleAssignments", pra, roleBody)).status,
    ).toBe(201);
    denied(await createApp(pra));
  });

  it("needs the scope as well as the role", async () => {
    const t = tokenFor("admin", [`${emu.graphEndpoint}/Application.ReadWrite.All`]);
    expect(jwtPayload(t).scp).toBe("Application.ReadWrite.All");
    expect((await createApp(t)).status).toBe(201);
    denied(
      await client.graph("POST", "roleManagement/directory/roleAssignments", t, {
        principalId: emu.admin.objectId,
        roleDefinitionId: EXCHANGE_ADMIN_ROLE,
        directoryScopeId: "/",
      }),
    );
  });
});

describe("replication delay", () => {
  it("hides a new app from SP creation, a new SP from assignments, and new grants from Exchange", async () => {
    emu.configure({ replicationDelayMs: 60_000 });
    try {
      const app = (await createApp()).body;
      const early = await client.graph("POST", "servicePrincipals", admin, { appId: app.appId });
      expectGraphError(early, 400, "Request_BadRequest");
      expect(early.body.error.details[0].code).toBe("NoBackingApplicationObject");
      offsetMs += 61_000;
      const sp = (await client.graph("POST", "servicePrincipals", admin, { appId: app.appId })).body;
      const grantBody = { principalId: sp.id, resourceId: exoSpId, appRoleId: MANAGE_AS_APP };
      const roleBody = { principalId: sp.id, roleDefinitionId: EXCHANGE_ADMIN_ROLE, directoryScopeId: "/" };
      expectGraphError(
        await client.graph("POST", `servicePrincipals/${exoSpId}/appRoleAssignedTo`, admin, grantBody),
        400,
        "Request_BadRequest",
        "Not a valid reference update.",
      );
      expectGraphError(
        await client.graph("POST", "roleManagement/directory/roleAssignments", admin, roleBody),
        404,
        "Request_ResourceNotFound",
      );
      offsetMs += 61_000;
      expect(
        (await client.graph("POST", `servicePrincipals/${exoSpId}/appRoleAssignedTo`, admin, grantBody))
          .status,
      ).toBe(201);
      offsetMs += 30_000;
      expect(
        (await client.graph("POST", "roleManagement/directory/roleAssignments", admin, roleBody)).status,
      ).toBe(201);
      // Directory replication alone does not hold Exchange back: that is its own knob.
      const mintedAt = (ms: number) =>
        ({ tid: emu.tenant.id, oid: sp.id, iat: Math.floor(ms / 1000) }) as AccessTokenClaims;
      expect(exchangeDeps.authorizationPropagated(mintedAt(Date.now() + offsetMs))).toBe(true);
    } finally {
      emu.configure({ replicationDelayMs: 0 });
      offsetMs = 0;
    }
  });

  it("Exchange role propagation: a token minted before the role arrived stays refused; a newer one works", async () => {
    const { spId } = await provisionApp(client, admin, { certs: [certA] });
    const grantedAt = Date.now() + offsetMs;
    const mintedAt = (ms: number) =>
      ({ tid: emu.tenant.id, oid: spId, iat: Math.floor(ms / 1000) }) as AccessTokenClaims;
    const early = mintedAt(grantedAt);
    emu.configure({ exchangeRoleDelayMs: 60_000 });
    try {
      expect(exchangeDeps.authorizationPropagated(early)).toBe(false);
      offsetMs += 61_000; // the role has reached Exchange
      expect(exchangeDeps.authorizationPropagated(early)).toBe(false); // this token predates it, for good
      expect(exchangeDeps.authorizationPropagated(mintedAt(grantedAt + 30_000))).toBe(false);
      expect(exchangeDeps.authorizationPropagated(mintedAt(Date.now() + offsetMs))).toBe(true);
    } finally {
      emu.configure({ exchangeRoleDelayMs: 0 });
      offsetMs = 0;
    }
    // With the knob at 0 (the default) every token is accepted at once.
    expect(exchangeDeps.authorizationPropagated(early)).toBe(true);
  });

  it("directory replication: a read by id right after a create misses the object; a new key is refused (AADSTS700027)", async () => {
    const tokenUrl = `${emu.authorityHost}/${emu.tenant.id}/oauth2/v2.0/token`;
    const signIn = (appId: string, cert: TestCertificate) =>
      client.token({
        grant_type: "client_credentials",
        client_id: appId,
        scope: `${emu.exchangeEndpoint}/.default`,
        client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        client_assertion: signAssertion({ cert, clientId: appId, aud: tokenUrl }),
      });
    emu.configure({ replicationDelayMs: 60_000 });
    try {
      const app = (
        await createApp(admin, {
          keyCredentials: [{ type: "AsymmetricX509Cert", usage: "Verify", key: certA.keyBase64 }],
        })
      ).body;
      expectGraphError(
        await client.graph("GET", `applications/${app.id}`, admin),
        404,
        "Request_ResourceNotFound",
      );
      offsetMs += 61_000;
      expect((await client.graph("GET", `applications/${app.id}`, admin)).status).toBe(200);
      const sp = (await client.graph("POST", "servicePrincipals", admin, { appId: app.appId })).body;
      expectGraphError(
        await client.graph("GET", `servicePrincipals/${sp.id}`, admin),
        404,
        "Request_ResourceNotFound",
      );
      const noSpYet = await signIn(app.appId, certA);
      expect(noSpYet.status).toBe(400);
      expect(noSpYet.body.error_codes).toEqual([7000229]);
      offsetMs += 61_000;
      expect((await client.graph("GET", `servicePrincipals/${sp.id}`, admin)).status).toBe(200);

      expect((await signIn(app.appId, certA)).status).toBe(200);
      const keys = (await client.graph("GET", `applications/${app.id}?$select=keyCredentials`, admin)).body
        .keyCredentials as Array<{ keyId: string }>;
      const patched = await client.graph("PATCH", `applications/${app.id}`, admin, {
        keyCredentials: [
          { type: "AsymmetricX509Cert", usage: "Verify", keyId: keys[0]?.keyId, key: null },
          { type: "AsymmetricX509Cert", usage: "Verify", key: certB.keyBase64 },
        ],
      });
      expect(patched.status).toBe(204);
      const early = await signIn(app.appId, certB);
      expect(early.status).toBe(401);
      expect(early.body.error_codes).toEqual([700027]);
      expect(early.body.error_description).toMatch(/The key was not found/);
      expect((await signIn(app.appId, certA)).status).toBe(200); // the old key keeps working
      offsetMs += 61_000;
      expect((await signIn(app.appId, certB)).status).toBe(200);
    } finally {
      emu.configure({ replicationDelayMs: 0 });
      offsetMs = 0;
    }
  });
});

describe("self-rotation with addKey/removeKey", () => {
  const proof = (cert: TestCertificate, appObjectId: string, claims: Record<string, unknown> = {}) =>
    signAssertion({
      cert,
      clientId: appObjectId,
      aud: PROOF_AUD,
      claims: { sub: undefined, jti: undefined, ...claims },
    });
  const newKey = (cert: TestCertificate) => ({
    type: "AsymmetricX509Cert",
    usage: "Verify",
    key: cert.keyBase64,
  });

  async function appOnlyGraphToken(appId: string, cert: TestCertificate) {
    const url = `${emu.authorityHost}/${emu.tenant.id}/oauth2/v2.0/token`;
    const r = await client.token({
      grant_type: "client_credentials",
      client_id: appId,
      scope: `${emu.graphEndpoint}/.default`,
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: signAssertion({ cert, clientId: appId, aud: url }),
    });
    if (r.status !== 200) throw new Error(r.text);
    return { status: r.status, token: r.body.access_token as string };
  }

  it("lets the app add and remove its own keys with a valid proof, and nobody else", async () => {
    const app = await provisionApp(client, admin, { certs: [certA], role: null, grant: false });
    const { token } = await appOnlyGraphToken(app.appId, certA);

    // delegated callers are refused as Graph does
    expectGraphError(
      await client.graph("POST", `applications/${app.id}/addKey`, admin, {
        keyCredential: newKey(certB),
        passwordCredential: null,
        proof: proof(certA, app.id),
      }),
      401,
      "Authentication_MissingOrMalformed",
    );
    // bad proofs: unknown signing certificate, wrong audience, lifetime over 10 minutes
    const now = Math.floor(Date.now() / 1000);
    for (const bad of [
      proof(certC, app.id),
      proof(certA, app.id, { aud: "00000003-0000-0000-c000-000000000000" }),
      proof(certA, app.id, { nbf: now, exp: now + 3600 }),
      proof(certA, app.appId),
    ]) {
      expectGraphError(
        await client.graph("POST", `applications/${app.id}/addKey`, token, {
          keyCredential: newKey(certB),
          passwordCredential: null,
          proof: bad,
        }),
        401,
        "Authentication_MissingOrMalformed",
      );
    }
    // the proof's x5t is compared as bytes: a padded base64url thumbprint (as MSAL Python and
    // Microsoft's sample make it) names the same certificate
    const paddedX5t = createHash("sha1").update(certA.der).digest("base64url").padEnd(28, "=");
    const added = await client.graph("POST", `applications/${app.id}/addKey`, token, {
      keyCredential: newKey(certB),
      passwordCredential: null,
      proof: signAssertion({
        cert: certA,
        alg: "RS256",
        clientId: app.id,
        aud: PROOF_AUD,
        claims: { sub: undefined, jti: undefined },
        header: { x5t: paddedX5t },
      }),
    });
    expect(added.status).toBe(200);
    expect(added.body.customKeyIdentifier).toBe(createHash("sha1").update(certB.der).digest("base64"));
    const keys = (await client.graph("GET", `applications/${app.id}`, admin)).body.keyCredentials;
    expect(keys).toHaveLength(2);

    // another application's token may not touch this app
    const stranger = await provisionApp(client, admin, { certs: [certC], role: null, grant: false });
    const strangerToken = (await appOnlyGraphToken(stranger.appId, certC)).token;
    expectGraphError(
      await client.graph("POST", `applications/${app.id}/removeKey`, strangerToken, {
        keyId: keys[0].keyId,
        proof: proof(certA, app.id),
      }),
      403,
      "Authorization_RequestDenied",
    );

    // the new key signs the removal of the old one; the old key then no longer authenticates
    const oldKeyId = keys.find(
      (k: { customKeyIdentifier: string }) => k.customKeyIdentifier !== added.body.customKeyIdentifier,
    ).keyId;
    const removed = await client.graph("POST", `applications/${app.id}/removeKey`, token, {
      keyId: oldKeyId,
      proof: proof(certB, app.id),
    });
    expect(removed.status).toBe(204);
    await expect(appOnlyGraphToken(app.appId, certA)).rejects.toThrow(/AADSTS700027/);
    expect((await appOnlyGraphToken(app.appId, certB)).status).toBe(200);
  });
});
