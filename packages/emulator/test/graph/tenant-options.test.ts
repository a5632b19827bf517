import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulatorWith } from "../../src/index.js";
import type { RunningEmulator } from "../../src/types.js";
import {
  EmulatorClient,
  EXO_APP_ID,
  fakeExchange,
  jwtPayload,
  MANAGE_AS_APP,
  makeCertificate,
  provisionApp,
  signAssertion,
} from "../support/identity.js";

/** A tenant that lacks the Exchange Online service principal, with another domain; faults on identity and Graph. */

let emu: RunningEmulator;
let client: EmulatorClient;

beforeAll(async () => {
  emu = await startEmulatorWith(
    { tenantDomain: "Fabrikam.onmicrosoft.com", withoutExchangeServicePrincipal: true },
    fakeExchange,
  );
  client = new EmulatorClient(emu);
});

afterAll(async () => {
  client.close();
  await emu.close();
});

describe("a tenant without the Office 365 Exchange Online service principal", () => {
  it("uses the given domain for the tenant, users and EXO_ORGANIZATION", async () => {
    expect(emu.tenant.domain).toBe("fabrikam.onmicrosoft.com");
    expect(emu.tenant.displayName).toBe("Fabrikam");
    expect(emu.env.EXO_ORGANIZATION).toBe("fabrikam.onmicrosoft.com");
    expect(emu.admin.userPrincipalName).toBe("admin@fabrikam.onmicrosoft.com");
    const org = await client.graph("GET", "organization", emu.issueAdminToken());
    expect(org.body.value[0].verifiedDomains[0].name).toBe("fabrikam.onmicrosoft.com");
  });

  it("has no EXO SP until setup creates it from the well-known appId (tokens refused with AADSTS500011 until then); roles only after the grant", async () => {
    const admin = emu.issueAdminToken();
    const before = await client.graph("GET", `servicePrincipals?$filter=appId eq '${EXO_APP_ID}'`, admin);
    expect(before.body.value).toEqual([]);
    const cert = await makeCertificate();
    const app = await provisionApp(client, admin, { certs: [cert], grant: false, role: null });
    const tokenUrl = `${emu.authorityHost}/${emu.tenant.domain}/oauth2/v2.0/token`;
    const exchangeTokenResponse = () =>
      client.token(
        {
          grant_type: "client_credentials",
          client_id: app.appId,
          scope: "https://outlook.office365.com/.default",
          client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
          client_assertion: signAssertion({ cert, clientId: app.appId, aud: tokenUrl }),
        },
        emu.tenant.domain,
      );
    const exchangeToken = async () => {
      const r = await exchangeTokenResponse();
      expect(r.status).toBe(200);
      return jwtPayload(r.body.access_token);
    };
    // Entra: "The resource principal named https://outlook.office365.com was not found in the tenant"
    const refused = await exchangeTokenResponse();
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe("invalid_resource");
    expect(refused.body.error_codes).toEqual([500011]);
    expect(refused.body.error_description).toContain(
      "The resource principal named https://outlook.office365.com was not found in the tenant named fabrikam.onmicrosoft.com.",
    );

    const created = await client.graph("POST", "servicePrincipals", admin, { appId: EXO_APP_ID });
    expect(created.status).toBe(201);
    expect(created.body.displayName).toBe("Office 365 Exchange Online");
    expect(created.body.appRoles.map((r: { value: string }) => r.value)).toContain("Exchange.ManageAsApp");
    const grant = await client.graph(
      "POST",
      `servicePrincipals/${created.body.id}/appRoleAssignedTo`,
      admin,
      {
        principalId: app.spId,
        resourceId: created.body.id,
        appRoleId: MANAGE_AS_APP,
      },
    );
    expect(grant.status).toBe(201);
    const claims = await exchangeToken();
    expect(claims.roles).toEqual(["Exchange.ManageAsApp"]);
    expect(claims.aud).toBe("https://outlook.office365.com");
  });
});

describe("fault injection on identity and Graph", () => {
  it("answers 503/504 (or drops) while faults name those services, and counts them", async () => {
    const admin = emu.issueAdminToken();
    const metadataUrl = `${emu.authorityHost}/${emu.tenant.id}/v2.0/.well-known/openid-configuration`;
    // faults for Exchange only (the default) leave identity and Graph alone
    emu.configure({ faults: { errorRate: 1 } });
    expect((await client.graph("GET", "organization", admin)).status).toBe(200);
    expect((await client.call("GET", metadataUrl)).status).toBe(200);
    const before = emu.stats().faultsInjected;

    emu.configure({ faults: { errorRate: 1, seed: 3, services: ["identity", "graph"] } });
    try {
      const g = await client.graph("GET", "organization", admin);
      expect([503, 504]).toContain(g.status);
      expect(["serviceNotAvailable", "gatewayTimeout"]).toContain(g.body.error.code);
      const i = await client.call("GET", metadataUrl);
      expect([503, 504]).toContain(i.status);
      expect(i.body.error_codes).toEqual([90033]);
      expect(emu.stats().faultsInjected).toBe(before + 2);
    } finally {
      emu.configure({ faults: undefined });
    }
    expect((await client.graph("GET", "organization", admin)).status).toBe(200);
  });
});
