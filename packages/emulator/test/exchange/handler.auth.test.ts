import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SUPPORTED_ROLES } from "../../src/exchange/authorization.js";
import { type Harness, startHarness, TEST_APP_ID, TEST_TENANT } from "../support/exchange-harness.js";

const DIRECTORY_READERS = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b";
const ROLE_NOT_SUPPORTED = `The role assigned to application ${TEST_APP_ID} isn't supported in this scenario. Please check online documentation for assigning correct Directory Roles to Azure AD Application for EXO App-Only Authentication.`;

let h: Harness;
let user: string;

beforeAll(async () => {
  h = await startHarness({ count: 30 });
  user = h.dataset.mailbox(3).userPrincipalName;
});
afterAll(() => h.close());

describe("authentication (401)", () => {
  it("refuses a request without a bearer token", async () => {
    const r = await h.invoke("Get-Mailbox", {}, { token: null });
    expect(r.status).toBe(401);
    expect(r.headers.get("www-authenticate")).toMatch(/^Bearer .*error="invalid_token"/);
    expect(r.json.error.code).toBe("Unauthorized");
  });

  it("refuses a token that does not verify or has expired", async () => {
    expect((await h.invoke("Get-Mailbox", {}, { token: h.token({}, "forged") })).status).toBe(401);
    const past = Math.floor(h.now.ms / 1000) - 7200;
    const expired = h.token({ iat: past, nbf: past, exp: past + 3600 });
    expect((await h.invoke("Get-Mailbox", {}, { token: expired })).status).toBe(401);
  });

  it("refuses a token for another audience (e.g. a Graph token)", async () => {
    const r = await h.invoke("Get-Mailbox", {}, { token: h.token({ aud: "https://graph.microsoft.com" }) });
    expect(r.status).toBe(401);
    expect(r.json.error.message).toContain("audience");
  });

  it("refuses a token of another tenant and an unknown organization", async () => {
    const other = h.token({ tid: "00000000-1111-4222-8333-444444444444" });
    expect((await h.invoke("Get-Mailbox", {}, { token: other })).status).toBe(401);
    const url = h.invokeUrl.replace(TEST_TENANT.domain, "fabrikam.onmicrosoft.com");
    const r = await h.invoke("Get-Mailbox", {}, { url });
    expect(r.status).toBe(401);
    expect(r.json.error.message).toContain("fabrikam.onmicrosoft.com");
    const garbled = await h.invoke(
      "Get-Mailbox",
      {},
      { url: h.invokeUrl.replace(TEST_TENANT.domain, "%E0%A4%A") },
    );
    expect(garbled.status).toBe(401);
  });

  it("refuses an app without Exchange.ManageAsApp with the role-not-supported text", async () => {
    const r = await h.invoke("Get-Mailbox", {}, { token: h.token({ roles: ["Exchange.ManageAsAppV2"] }) });
    expect(r.status).toBe(401);
    expect(r.json).toEqual({
      error: {
        code: "Unauthorized",
        message: ROLE_NOT_SUPPORTED,
        innererror: {
          message: ROLE_NOT_SUPPORTED,
          type: "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
        },
      },
    });
  });
});

describe("directory roles (403)", () => {
  it("refuses an app without a directory role with an empty body and the reason in x-ms-diagnostics", async () => {
    const r = await h.invoke("Get-Mailbox", {}, { token: h.token({ wids: [] }) });
    expect(r.status).toBe(403);
    expect(r.text).toBe("");
    expect(r.headers.get("x-ms-diagnostics")).toContain(ROLE_NOT_SUPPORTED);
  });

  it("refuses a role Exchange does not support (Directory Readers)", async () => {
    const r = await h.invoke("Get-Mailbox", {}, { token: h.token({ wids: [DIRECTORY_READERS] }) });
    expect(r.status).toBe(403);
  });

  it("looks the same while a new role grant is still propagating", async () => {
    h.propagated.value = false;
    try {
      const r = await h.invoke("Get-Mailbox", {});
      expect(r.status).toBe(403);
      expect(r.text).toBe("");
    } finally {
      h.propagated.value = true;
    }
    expect((await h.invoke("Get-Mailbox", {})).status).toBe(200);
  });

  it("admits every supported role: Get-OrganizationConfig works for each", async () => {
    for (const [name, id] of Object.entries(SUPPORTED_ROLES)) {
      const r = await h.invoke("Get-OrganizationConfig", {}, { token: h.token({ wids: [id] }) });
      expect(r.status, name).toBe(200);
    }
  });

  it("each role runs the cmdlets of its Exchange role group and no others (docs/exchange-rbac.md)", async () => {
    const R = SUPPORTED_ROLES;
    // Written out by hand from the documented table, not computed from the emulator's own map.
    const expected: Record<string, Record<string, boolean>> = {
      "Get-Mailbox": {
        globalAdministrator: true,
        exchangeAdministrator: true,
        globalReader: true,
        exchangeRecipientAdministrator: true,
        helpdeskAdministrator: true,
        complianceAdministrator: true,
        securityAdministrator: false,
        securityReader: false,
      },
      "Get-MailboxStatistics": {
        globalAdministrator: true,
        exchangeAdministrator: true,
        globalReader: true,
        exchangeRecipientAdministrator: true,
        helpdeskAdministrator: true,
        complianceAdministrator: true,
        securityAdministrator: false,
        securityReader: false,
      },
      "Get-AcceptedDomain": {
        globalAdministrator: true,
        exchangeAdministrator: true,
        globalReader: true,
        exchangeRecipientAdministrator: true,
        helpdeskAdministrator: false,
        complianceAdministrator: true,
        securityAdministrator: true,
        securityReader: true,
      },
      "Set-Mailbox": {
        globalAdministrator: true,
        exchangeAdministrator: true,
        globalReader: false,
        exchangeRecipientAdministrator: true,
        helpdeskAdministrator: false,
        complianceAdministrator: false,
        securityAdministrator: false,
        securityReader: false,
      },
    };
    const params: Record<string, Record<string, unknown>> = {
      "Get-Mailbox": { Identity: user },
      "Get-MailboxStatistics": { Identity: user },
      "Get-AcceptedDomain": {},
      "Set-Mailbox": { Identity: user, CustomAttribute3: "matrix" },
    };
    for (const [cmdlet, byRole] of Object.entries(expected)) {
      for (const [role, allowed] of Object.entries(byRole)) {
        const token = h.token({ wids: [R[role as keyof typeof R]] });
        const r = await h.invoke(cmdlet, params[cmdlet] ?? {}, { token });
        expect(r.status, `${role} ${cmdlet}`).toBe(allowed ? 200 : 403);
        if (!allowed) {
          expect(r.json.error).toMatchObject({
            code: "Forbidden",
            message: `User is not allowed to call ${cmdlet}`,
          });
        }
      }
    }
  });

  it("lets Global Reader read but not write", async () => {
    const token = h.token({ wids: [SUPPORTED_ROLES.globalReader] });
    expect((await h.invoke("Get-MailboxStatistics", { Identity: user }, { token })).status).toBe(200);
    const r = await h.invoke("Set-Mailbox", { Identity: user, CustomAttribute1: "x" }, { token });
    expect(r.status).toBe(403);
    const stillEmpty = await h.invoke("Get-Mailbox", { Identity: user });
    expect(stillEmpty.json.value[0].CustomAttribute1).toBe("");
  });

  it("lets a reader that also holds a writing role write", async () => {
    const token = h.token({
      wids: [SUPPORTED_ROLES.globalReader, SUPPORTED_ROLES.exchangeRecipientAdministrator],
    });
    const r = await h.invoke("Set-Mailbox", { Identity: user, CustomAttribute2: "both" }, { token });
    expect(r.status).toBe(200);
  });
});
