import { tokenRights } from "../auth/roles.js";
import type { ResolvedConnection } from "../config/connection.js";
import { AuthorizationError } from "../errors.js";
import type { HttpTransport } from "../http/transport.js";
import {
  type ConnectOptions,
  connectionFromResolved,
  type ExchangeConnection,
  openExchangeConnection,
} from "./connect.js";

/** One link of the chain `exo-cba test` checks, in order. */
export interface TestStep {
  name: "certificate" | "token" | "permission" | "role" | "propagation" | "cmdlet";
  ok: boolean;
  detail: string;
}

export interface TestReport {
  result: "ok";
  organization: string;
  organizationName?: string;
  tenantId?: string;
  appId: string;
  certificateThumbprint?: string;
  certificateExpires?: string;
  certificateDaysLeft?: number;
  permission: string;
  roles: string;
  exchangeEndpoint: string;
}

const DAY_MS = 86_400_000;

/** Which link a refusal of the cmdlet points at, from the diagnosis of the 401/403. */
function linkOf(error: unknown): TestStep["name"] {
  if (!(error instanceof AuthorizationError)) return "cmdlet";
  switch (error.reason) {
    case "permission-missing":
      return "permission";
    case "role-missing":
    case "read-only-role":
    case "cmdlet-not-in-role":
      return "role";
    case "propagating":
      return "propagation";
    default:
      return "cmdlet";
  }
}

/**
 * Connect and run Get-OrganizationConfig, reporting each link as it is checked; the first broken link
 * ends the test with its typed error (so the exit code says which kind of failure it was).
 */
export async function testConnection(
  resolved: ResolvedConnection,
  options: {
    env?: NodeJS.ProcessEnv;
    /** The caller's (the session's) transport; the test leaves it open. */
    transport: HttpTransport;
    onStep?: (step: TestStep) => void;
    /** Told when the cmdlet call ends (see ConnectOptions.onCallEnd). */
    onCallEnd?: ConnectOptions["onCallEnd"];
    now?: () => number;
  },
): Promise<TestReport> {
  const now = options.now ?? Date.now;
  const step = (s: TestStep) => options.onStep?.(s);
  const fail = (name: TestStep["name"], error: unknown): never => {
    const detail = error instanceof Error ? error.message : String(error);
    step({ name, ok: false, detail });
    throw error;
  };

  let connection: ExchangeConnection;
  try {
    connection = await openExchangeConnection(connectionFromResolved(resolved, options.env), {
      transport: options.transport,
      ...(options.onCallEnd ? { onCallEnd: options.onCallEnd } : {}),
    });
  } catch (error) {
    return fail("certificate", error);
  }
  try {
    const cert = connection.certificate;
    const daysLeft = cert?.notAfter ? Math.floor((cert.notAfter.getTime() - now()) / DAY_MS) : undefined;
    step({
      name: "certificate",
      ok: true,
      detail: cert
        ? `${cert.thumbprint ?? "?"} (${cert.subject ?? ""}), expires ${cert.notAfter?.toISOString() ?? "?"}${
            daysLeft !== undefined ? `, ${daysLeft} day(s) left` : ""
          }`
        : "not used",
    });

    let token: string;
    try {
      token = (await connection.tokenProvider.getToken()).token;
    } catch (error) {
      return fail("token", error);
    }
    step({ name: "token", ok: true, detail: `issued by ${connection.endpoints.authorityHost}` });

    const rights = tokenRights(token);
    if (rights.readable && !rights.hasManageAsApp) {
      fail(
        "permission",
        new AuthorizationError("The app's token has no Exchange.ManageAsApp permission.", {
          reason: "permission-missing",
          hint: "Add the Exchange.ManageAsApp application permission (Office 365 Exchange Online) and grant admin consent — `exo-cba setup` does both. If you just ran setup, wait a few minutes and try again.",
        }),
      );
    }
    step({
      name: "permission",
      ok: true,
      detail: rights.readable ? "Exchange.ManageAsApp granted" : "token is opaque; Exchange will decide",
    });
    // No directory role may still work through an Exchange role group, so this link only warns.
    step({
      name: "role",
      ok: !rights.readable || rights.exchangeRoles.length > 0,
      detail: rights.exchangeRoles.length
        ? rights.exchangeRoles.join(", ")
        : rights.readable
          ? "no directory role Exchange accepts (an Exchange role group may still grant access)"
          : "unknown (opaque token)",
    });

    let rows: Record<string, unknown>[];
    try {
      rows = await connection.invoke("Get-OrganizationConfig");
    } catch (error) {
      return fail(linkOf(error), error);
    }
    const org = rows[0] ?? {};
    const organizationName =
      typeof org.DisplayName === "string"
        ? org.DisplayName
        : typeof org.Name === "string"
          ? org.Name
          : undefined;
    step({
      name: "cmdlet",
      ok: true,
      detail: `Get-OrganizationConfig returned ${organizationName ?? "a result"}`,
    });

    const report: TestReport = {
      result: "ok",
      organization: connection.organization,
      appId: connection.appId,
      permission: rights.hasManageAsApp ? "Exchange.ManageAsApp" : "unknown",
      roles: rights.exchangeRoles.join(", ") || (rights.readable ? "(none)" : "unknown"),
      exchangeEndpoint: connection.endpoints.exchangeEndpoint,
    };
    if (organizationName) report.organizationName = organizationName;
    if (rights.tenantId) report.tenantId = rights.tenantId;
    if (cert?.thumbprint) report.certificateThumbprint = cert.thumbprint;
    if (cert?.notAfter) {
      report.certificateExpires = cert.notAfter.toISOString();
      report.certificateDaysLeft = daysLeft ?? 0;
    }
    return report;
  } finally {
    await connection.disconnect();
  }
}
