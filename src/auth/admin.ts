import { spawn } from "node:child_process";
import type { AccountInfo, AuthenticationResult, PublicClientApplication } from "@azure/msal-node";
import type { CloudEndpoints } from "../cloud/environments.js";
import { AuthenticationError, AuthorizationError, ExoCbaError, UsageError } from "../errors.js";
import type { HttpTransport } from "../http/transport.js";
import { decodeJwtClaims } from "./jwt.js";
import { createMsalNetworkClient } from "./msal-network.js";

/**
 * Admin sign-in for setup/teardown: a *delegated* Graph token for a human administrator.
 *
 * Default public client: Microsoft Graph Command Line Tools (the Graph PowerShell SDK's client). Unlike
 * the Azure CLI / Azure PowerShell first-party clients it supports dynamic consent of arbitrary Graph
 * scopes, so we can ask for exactly the three we need instead of `.default` (docs/setup.md, "Admin sign-in").
 * `--admin-client-id` takes the caller's own public-client app where this one is blocked.
 */
export const DEFAULT_ADMIN_CLIENT_ID = "14d82eec-204b-4c2f-b7e8-296a70dab67e";

/** The only delegated scopes setup/teardown need (docs/setup.md, "Admin sign-in"). */
export const ADMIN_SCOPE_NAMES = [
  "Application.ReadWrite.All",
  "AppRoleAssignment.ReadWrite.All",
  "RoleManagement.ReadWrite.Directory",
] as const;

export const adminScopes = (endpoints: CloudEndpoints) =>
  ADMIN_SCOPE_NAMES.map((s) => `${endpoints.graphEndpoint}/${s}`);

export type AdminSignInMethod = "device-code" | "browser" | "access-token";

export interface AdminSignInOptions {
  endpoints: CloudEndpoints;
  /** Tenant domain or id: the authority is `<authorityHost>/<organization>`. */
  organization: string;
  transport: HttpTransport;
  /** `device-code` (default: works over SSH), `browser` (loopback redirect). Ignored when a token is given. */
  method?: "device-code" | "browser";
  clientId?: string;
  /** A ready delegated Graph token (EXO_ADMIN_ACCESS_TOKEN), used as is. */
  accessToken?: string;
  /** Where the device-code message or the sign-in URL is shown (stderr in the CLI). */
  onMessage?: (text: string) => void;
  /** Opens the sign-in URL; the default prints it and tries the system browser. */
  openBrowser?: (url: string) => Promise<void>;
}

export interface AdminSession {
  method: AdminSignInMethod;
  /** A valid token for the Graph scopes; refreshed silently when it nears expiry. */
  getToken(): Promise<string>;
  /** The signed-in user, when known. */
  username?: string;
}

/** Sign the admin in (or take EXO_ADMIN_ACCESS_TOKEN) and return a token source for Graph calls. */
export async function signInAdmin(options: AdminSignInOptions): Promise<AdminSession> {
  if (options.accessToken) {
    const token = options.accessToken.trim();
    return { method: "access-token", getToken: async () => token };
  }
  const { LogLevel, PublicClientApplication } = await import("@azure/msal-node");
  const authorityUrl = new URL(options.endpoints.authorityHost);
  const pca: PublicClientApplication = new PublicClientApplication({
    auth: {
      clientId: options.clientId ?? DEFAULT_ADMIN_CLIENT_ID,
      authority: `${options.endpoints.authorityHost}/${options.organization}`,
      // Custom endpoints (emulator, sovereign proxies): trust this host and skip Microsoft's instance discovery.
      ...(options.endpoints.custom ? { knownAuthorities: [authorityUrl.host] } : {}),
    },
    system: {
      networkClient: createMsalNetworkClient(options.transport),
      // MSAL must not write to the console or log PII/tokens; our errors carry what the user needs.
      loggerOptions: { piiLoggingEnabled: false, logLevel: LogLevel.Error, loggerCallback: () => {} },
    },
  });
  const scopes = adminScopes(options.endpoints);
  const say = options.onMessage ?? (() => {});
  const method = options.method ?? "device-code";
  let result: AuthenticationResult | null;
  try {
    if (method === "browser") {
      result = await pca.acquireTokenInteractive({
        scopes,
        openBrowser: options.openBrowser ?? ((url) => printAndLaunch(url, say)),
        successTemplate: "Signed in. You can close this window and return to exo-cba.",
        errorTemplate: "Sign-in failed: {{error}}. Return to exo-cba for details.",
      });
    } else {
      result = await pca.acquireTokenByDeviceCode({
        scopes,
        deviceCodeCallback: (response) => say(response.message),
      });
    }
  } catch (error) {
    throw mapSignInError(error, method, options.organization);
  }
  if (!result) throw new AuthenticationError("The admin sign-in returned no token.");
  let current: AuthenticationResult = result;
  const account: AccountInfo | null = result.account;
  return {
    method,
    ...(account?.username ? { username: account.username } : {}),
    async getToken() {
      // Refresh five minutes before expiry so a long propagation wait never sends an expired token.
      const expiresOn = current.expiresOn?.getTime() ?? Number.POSITIVE_INFINITY;
      if (account && expiresOn - Date.now() < 5 * 60_000) {
        try {
          current = await pca.acquireTokenSilent({ account, scopes });
        } catch (error) {
          throw mapSignInError(error, method, options.organization);
        }
      }
      return current.accessToken;
    },
  };
}

/**
 * Check that the organization exists before any sign-in and learn its tenant id. MSAL alone reports an
 * unknown tenant only as an endpoint-resolution error; the discovery document carries AADSTS90002.
 */
export async function resolveTenantId(
  endpoints: CloudEndpoints,
  organization: string,
  transport: HttpTransport,
): Promise<string> {
  const url = `${endpoints.authorityHost}/${encodeURIComponent(organization)}/v2.0/.well-known/openid-configuration`;
  const res = await transport.request({ method: "GET", url, timeoutMs: 60_000 });
  const text = await res.text();
  let body: { issuer?: string; error?: string; error_description?: string; error_codes?: number[] } = {};
  try {
    body = JSON.parse(text);
  } catch {
    // handled below
  }
  if (res.status === 200 && body.issuer) {
    const tid = /\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\//i.exec(
      `${body.issuer}/`,
    )?.[1];
    if (tid) return tid.toLowerCase();
  }
  const code = body.error_codes?.[0] ?? aadstsCodeOf(body.error_description ?? "");
  if (code === 90002 || body.error === "invalid_tenant") {
    throw new AuthenticationError(`AADSTS90002: the organization '${organization}' was not found.`, {
      aadstsCode: 90002,
      oauthError: body.error ?? "invalid_tenant",
      httpStatus: res.status,
      hint: "Check the spelling; use the tenant's primary *.onmicrosoft.com domain or its tenant id (Entra admin center > Overview).",
    });
  }
  throw new AuthenticationError(
    `Cannot read the sign-in metadata of '${organization}' (HTTP ${res.status}): ${body.error_description ?? text.slice(0, 200)}`,
    { httpStatus: res.status, ...(code !== undefined ? { aadstsCode: code } : {}) },
  );
}

/**
 * Graph acts on the tenant of the token, whatever `--organization` says: a pasted EXO_ADMIN_ACCESS_TOKEN
 * for another tenant would provision the wrong directory. Not a trust decision (Graph verifies the
 * token), just a guard against a costly mix-up; an undecodable token is left to Graph.
 */
export function assertTokenTenant(token: string, tenantId: string, organization: string): void {
  const tid = decodeJwtClaims(token)?.tid;
  if (typeof tid === "string" && tid.toLowerCase() !== tenantId.toLowerCase()) {
    throw new UsageError(
      `The admin token is for tenant ${tid}, but --organization ${organization} is tenant ${tenantId}.`,
      { hint: "Get a token for the right tenant (EXO_ADMIN_ACCESS_TOKEN), or fix --organization." },
    );
  }
}

export function aadstsCodeOf(text: string): number | undefined {
  const m = /AADSTS(\d+)/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** MSAL errors → our typed errors, with the AADSTS code shown and a next step. */
export function mapSignInError(error: unknown, method: AdminSignInMethod, organization: string): Error {
  if (error instanceof ExoCbaError) return error;
  const e = error as { errorCode?: string; errorMessage?: string; message?: string; correlationId?: string };
  const text = `${e.errorMessage ?? ""} ${e.message ?? ""}`;
  const code = aadstsCodeOf(text);
  const details = {
    ...(code !== undefined ? { aadstsCode: code } : {}),
    ...(e.errorCode ? { oauthError: e.errorCode } : {}),
    ...(e.correlationId ? { correlationId: e.correlationId } : {}),
    cause: error,
  };
  const firstLine = (e.errorMessage ?? e.message ?? String(error)).split(/\r?\n/)[0];
  switch (code) {
    case 90002:
      return new AuthenticationError(`AADSTS90002: the organization '${organization}' was not found.`, {
        ...details,
        hint: "Use the tenant's primary *.onmicrosoft.com domain or its tenant id.",
      });
    case 53003:
      return new AuthenticationError(`AADSTS53003: Conditional Access blocked the ${method} sign-in.`, {
        ...details,
        hint:
          method === "device-code"
            ? "Your tenant blocks the device code flow; run again with --browser, or pass a token in EXO_ADMIN_ACCESS_TOKEN."
            : "Sign in from a compliant device or location, or ask for an exclusion for this admin task.",
      });
    case 65001:
    case 65004:
    case 90094:
    case 90008:
      return new AuthorizationError(
        `Consent to the admin scopes was refused or needs an administrator (${firstLine}).`,
        {
          reason: "admin-rights",
          cause: error,
          hint: `Sign in as a Global Administrator (or Privileged Role Administrator + Application Administrator) and accept the scopes ${ADMIN_SCOPE_NAMES.join(", ")} for the organization.`,
        },
      );
    case 700016:
      return new AuthenticationError(
        `The admin sign-in client app is not available in this tenant (${firstLine}).`,
        {
          ...details,
          hint: "Your tenant may block Microsoft Graph Command Line Tools; pass --admin-client-id with your own public client app.",
        },
      );
    case 7000218:
      return new AuthenticationError(
        `The admin client app does not allow public client flows (${firstLine}).`,
        {
          ...details,
          hint: "Enable 'Allow public client flows' on the app given to --admin-client-id, or use another client.",
        },
      );
    default:
      break;
  }
  if (e.errorCode === "authorization_declined" || e.errorCode === "access_denied") {
    return new AuthenticationError("The admin sign-in was declined.", {
      ...details,
      hint: "Run setup again and approve the sign-in.",
    });
  }
  if (e.errorCode === "expired_token" || e.errorCode === "code_expired") {
    return new AuthenticationError("The device code expired before the sign-in finished.", {
      ...details,
      hint: "Run setup again and finish the sign-in within the time shown, or use --browser.",
    });
  }
  return new AuthenticationError(`Admin sign-in failed: ${firstLine}`, {
    ...details,
    hint: "Check --organization and the network; --debug shows the full error.",
  });
}

/** Print the URL (always: headless servers have no browser) and try the platform's opener. */
async function printAndLaunch(url: string, say: (text: string) => void): Promise<void> {
  say(`To sign in, open this URL in a browser on this machine:\n${url}`);
  const opener =
    process.platform === "darwin"
      ? ["open", [url]]
      : process.platform === "win32"
        ? ["cmd", ["/c", "start", "", url]]
        : ["xdg-open", [url]];
  try {
    const child = spawn(opener[0] as string, opener[1] as string[], { stdio: "ignore", detached: true });
    child.on("error", () => {
      // No browser here (SSH, container): the printed URL is the way in.
    });
    child.unref();
  } catch {
    // same as above
  }
}
