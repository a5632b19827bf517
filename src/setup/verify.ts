import { PROPAGATING_AADSTS } from "../auth/identity-errors.js";
import type { CloudEndpoints } from "../cloud/environments.js";
import { AuthenticationError, AuthorizationError } from "../errors.js";
import type { HttpTransport } from "../http/transport.js";

/**
 * The end-to-end proof: sign in as the app with its certificate and run a harmless cmdlet. Each attempt
 * uses a new connection (a new MSAL client, no token cache): Exchange reads the app's roles from the
 * token, so a token minted before the role assignment would keep failing (docs/setup.md, "Verification while roles propagate").
 */
export interface VerifyInput {
  appId: string;
  organization: string;
  tenantId: string;
  certificate: { certificatePem: string; privateKeyPem: string };
  endpoints: CloudEndpoints;
  transport: HttpTransport;
}

export interface VerifyOutcome {
  /** What Get-OrganizationConfig said the organization is called. */
  organizationName?: string;
}

export type Verifier = (input: VerifyInput) => Promise<VerifyOutcome>;

export const exchangeVerifier: Verifier = async (input) => {
  const { connectExchangeOnline } = await import("../exchange/connect.js");
  const exo = await connectExchangeOnline({
    appId: input.appId,
    organization: input.organization,
    tenantId: input.tenantId,
    certificate: input.certificate,
    cloud: input.endpoints,
    transport: input.transport,
    // Propagation waits are ours (with the run's deadline); the client should report at once.
    retry: { maxAttempts: 1 },
  });
  try {
    const [config] = await exo.invoke("Get-OrganizationConfig");
    const name = config?.Name ?? config?.DisplayName ?? config?.Identity;
    return typeof name === "string" ? { organizationName: name } : {};
  } finally {
    await exo.disconnect();
  }
};

/**
 * Failures that mean "not visible to Exchange or the token service yet" right after setup: the app, its
 * service principal or its key not replicated to the token endpoint, or Exchange not seeing the
 * permission or role yet (401/403; each attempt uses a fresh token). Anything else is a real error and
 * stops at once.
 */
export function isPropagationFailure(error: unknown): boolean {
  if (error instanceof AuthenticationError) {
    return error.aadstsCode !== undefined && PROPAGATING_AADSTS.includes(error.aadstsCode);
  }
  if (error instanceof AuthorizationError) {
    return ["permission-missing", "role-missing", "propagating", "unknown"].includes(error.reason);
  }
  return false;
}
