import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunningEmulator } from "@exo-cba/emulator";
import { connectExchangeOnline } from "../../src/exchange/connect.js";
import type { HttpTransport } from "../../src/http/transport.js";
import type { TenantTarget } from "../../src/report/usage-report.js";
import { createAppCertificate } from "./invoke-wire.js";

/**
 * Register an app with a certificate in the emulator through its Graph API, the way an admin would:
 * application with the public key, service principal, Exchange.ManageAsApp on the Exchange resource,
 * and a directory role. Only for tests of the invoke path; the real provisioning is `src/setup`.
 */
export const EXCHANGE_RESOURCE_APP_ID = "00000002-0000-0ff1-ce00-000000000000";
export const MANAGE_AS_APP_ROLE_ID = "dc50a0fb-09a3-484d-be87-e023b12c6440";
export const ROLE = {
  exchangeAdministrator: "29232cdf-9323-42fd-ade2-1d097af3e4de",
  globalReader: "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
  securityReader: "5d6b6bb7-de71-4623-b4af-96380a352509",
} as const;

export interface ProvisionedApp {
  appId: string;
  applicationId: string;
  servicePrincipalId: string;
}

function graphCaller(emu: RunningEmulator, transport: HttpTransport) {
  const token = emu.issueAdminToken();
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const req: Parameters<HttpTransport["request"]>[0] = {
      method,
      url: `${emu.graphEndpoint}/v1.0${path}`,
      headers: {
        Authorization: `Bearer ${token}`,
        "Content-Type": "application/json",
        Accept: "application/json",
      },
    };
    if (body !== undefined) req.body = JSON.stringify(body);
    const res = await transport.request(req);
    const text = await res.text();
    if (res.status >= 300) throw new Error(`Graph ${method} ${path}: HTTP ${res.status} ${text}`);
    return (text ? JSON.parse(text) : {}) as T;
  };
}

/** Give a service principal a directory role (template id) at tenant scope. */
export async function assignDirectoryRole(
  emu: RunningEmulator,
  transport: HttpTransport,
  servicePrincipalId: string,
  roleTemplateId: string,
): Promise<void> {
  await graphCaller(emu, transport)("POST", "/roleManagement/directory/roleAssignments", {
    principalId: servicePrincipalId,
    roleDefinitionId: roleTemplateId,
    directoryScopeId: "/",
  });
}

export async function provisionApp(
  emu: RunningEmulator,
  transport: HttpTransport,
  options: {
    certificatePem: string;
    displayName?: string;
    /** grant Exchange.ManageAsApp (default true) */
    permission?: boolean;
    /** directory role template id, or null for none (default Exchange Administrator) */
    role?: string | null;
  },
): Promise<ProvisionedApp> {
  const graph = graphCaller(emu, transport);
  const der = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(
    options.certificatePem,
  )?.[1];
  const key = (der ?? "").replace(/\s+/g, "");
  const app = await graph<{ id: string; appId: string }>("POST", "/applications", {
    displayName: options.displayName ?? `exo-cba-invoke-test-${Date.now()}`,
    keyCredentials: [{ type: "AsymmetricX509Cert", usage: "Verify", key }],
  });
  const sp = await graph<{ id: string }>("POST", "/servicePrincipals", { appId: app.appId });
  if (options.permission !== false) {
    const filter = encodeURIComponent(`appId eq '${EXCHANGE_RESOURCE_APP_ID}'`);
    const exchange = (
      await graph<{ value: Array<{ id: string }> }>("GET", `/servicePrincipals?$filter=${filter}`)
    ).value[0];
    if (!exchange) throw new Error("The emulator tenant has no Exchange service principal.");
    await graph("POST", `/servicePrincipals/${exchange.id}/appRoleAssignedTo`, {
      principalId: sp.id,
      resourceId: exchange.id,
      appRoleId: MANAGE_AS_APP_ROLE_ID,
    });
  }
  const role = options.role === undefined ? ROLE.exchangeAdministrator : options.role;
  if (role) await assignDirectoryRole(emu, transport, sp.id, role);
  return { appId: app.appId, applicationId: app.id, servicePrincipalId: sp.id };
}

/**
 * A report target's `connect` for an app provisioned in the emulator: the real client, with retries sped
 * up (the emulator's Retry-After is still honoured).
 */
export function connectAsApp(
  emu: RunningEmulator,
  transport: HttpTransport,
  app: { appId: string; certificatePem: string; privateKeyPem: string },
): TenantTarget["connect"] {
  return ({ onRetry }) =>
    connectExchangeOnline({
      appId: app.appId,
      organization: emu.tenant.domain,
      certificate: { certificatePem: app.certificatePem, privateKeyPem: app.privateKeyPem },
      endpoints: {
        authorityHost: emu.authorityHost,
        graphEndpoint: emu.graphEndpoint,
        exchangeEndpoint: emu.exchangeEndpoint,
      },
      transport,
      retry: { onRetry, baseDelayMs: 20, maxDelayMs: 200, maxAttempts: 8 },
    });
}

/**
 * An app provisioned in the emulator with its certificate and key in one PEM file (owner-only) in a new
 * temporary folder, and the environment a CLI run needs to sign in as it.
 */
export async function provisionCliApp(
  emu: RunningEmulator,
  transport: HttpTransport,
  options: { commonName: string; role: string; folderPrefix: string },
): Promise<{ appId: string; dir: string; env: NodeJS.ProcessEnv }> {
  const cert = await createAppCertificate(`CN=${options.commonName}`);
  const { appId } = await provisionApp(emu, transport, {
    certificatePem: cert.certificatePem,
    role: options.role,
  });
  const dir = await mkdtemp(join(tmpdir(), options.folderPrefix));
  const pem = join(dir, "app.pem");
  await writeFile(pem, `${cert.certificatePem}${cert.privateKeyPem}`, { mode: 0o600 });
  const env = {
    ...emu.env,
    EXO_CBA_HOME: join(dir, "home"),
    EXO_APP_ID: appId,
    EXO_ORGANIZATION: emu.tenant.domain,
    EXO_CERTIFICATE_FILE_PATH: pem,
  };
  return { appId, dir, env };
}
