import { PublicClientApplication } from "@azure/msal-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulatorWith } from "../../src/index.js";
import type { RunningEmulator } from "../../src/types.js";
import { msalNetworkClient } from "../support/https.js";
import { EmulatorClient, fakeExchange, jwtPayload } from "../support/identity.js";

/** Device-code sign-in without auto-approval: pending until someone approves on the emulator's page. */

const CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
const HELPDESK_ROLE = "729827e3-9c14-49f7-bb1b-9608f156bbb8";

let emu: RunningEmulator;
let client: EmulatorClient;

beforeAll(async () => {
  emu = await startEmulatorWith({ deviceCodeAutoApprove: false }, fakeExchange);
  client = new EmulatorClient(emu);
});

afterAll(async () => {
  client.close();
  await emu.close();
});

const approve = (userCode: string, user: string) =>
  client.call("POST", `${emu.authorityHost}/devicelogin`, {
    form: { user_code: userCode, upn: `${user}@${emu.tenant.domain}` },
  });

describe("device code with approval on the emulator page", () => {
  it("stays pending until approved, then issues the approving user's token once", async () => {
    const base = `${emu.authorityHost}/${emu.tenant.id}/oauth2/v2.0`;
    const dc = await client.call("POST", `${base}/devicecode`, {
      form: { client_id: CLIENT_ID, scope: "Application.ReadWrite.All openid profile offline_access" },
    });
    expect(dc.status).toBe(200);
    expect(dc.body).toMatchObject({ verification_uri: `${emu.authorityHost}/devicelogin`, expires_in: 900 });
    expect(dc.body.user_code).toMatch(/^[A-Z2-9]{9}$/);
    expect(dc.body.message).toContain(dc.body.user_code);

    const poll = () =>
      client.call("POST", `${base}/token`, {
        form: {
          grant_type: "urn:ietf:params:oauth:grant-type:device_code",
          client_id: CLIENT_ID,
          device_code: dc.body.device_code,
        },
      });
    const pending = await poll();
    expect(pending.status).toBe(400);
    expect(pending.body.error).toBe("authorization_pending");
    expect(pending.body.error_codes).toEqual([70016]);

    const page = await client.call("GET", `${emu.authorityHost}/devicelogin`);
    expect(page.text).toContain(`helpdesk@${emu.tenant.domain}`);
    expect(page.headers["content-security-policy"]).toContain("default-src 'none'");
    expect((await approve("WRONGCODE", "helpdesk")).status).toBe(400);
    const approved = await approve(dc.body.user_code.toLowerCase(), "helpdesk");
    expect(approved.status).toBe(200);
    expect(approved.text).toContain(`Signed in as helpdesk@${emu.tenant.domain}`);

    const done = await poll();
    expect(done.status).toBe(200);
    const claims = jwtPayload(done.body.access_token);
    expect(claims).toMatchObject({
      idtyp: "user",
      upn: `helpdesk@${emu.tenant.domain}`,
      scp: "Application.ReadWrite.All",
    });
    expect(claims.wids).toContain(HELPDESK_ROLE);
    expect(JSON.parse(Buffer.from(done.body.client_info, "base64url").toString())).toEqual({
      uid: claims.oid,
      utid: emu.tenant.id,
    });
    expect(jwtPayload(done.body.id_token)).toMatchObject({
      aud: CLIENT_ID,
      preferred_username: `helpdesk@${emu.tenant.domain}`,
    });

    const again = await poll();
    expect(again.body.error).toBe("invalid_grant");
  });

  it("refuses a device-code request for a non-Graph resource: AADSTS70011", async () => {
    const r = await client.call("POST", `${emu.authorityHost}/${emu.tenant.id}/oauth2/v2.0/devicecode`, {
      form: { client_id: CLIENT_ID, scope: `${emu.exchangeEndpoint}/.default` },
    });
    expect(r.status).toBe(400);
    expect(r.body.error_codes).toEqual([70011]);
  });

  it("lets MSAL's PublicClientApplication poll until the page approves", async () => {
    const pca = new PublicClientApplication({
      auth: {
        clientId: CLIENT_ID,
        authority: `${emu.authorityHost}/organizations`,
        knownAuthorities: [new URL(emu.authorityHost).host],
      },
      system: { networkClient: msalNetworkClient(emu.caPem) },
    });
    let approval: Promise<unknown> = Promise.resolve();
    const result = await pca.acquireTokenByDeviceCode({
      scopes: [`${emu.graphEndpoint}/.default`],
      deviceCodeCallback: (r) => {
        approval = approve(r.userCode, "appadmin");
      },
    });
    await approval;
    expect(result?.account?.username).toBe(`appadmin@${emu.tenant.domain}`);
    expect(jwtPayload(result!.accessToken).scp).toBe(
      "Application.ReadWrite.All AppRoleAssignment.ReadWrite.All RoleManagement.ReadWrite.Directory",
    );
  });
});
