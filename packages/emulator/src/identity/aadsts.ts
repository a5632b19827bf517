import { randomUUID } from "node:crypto";

/** An OAuth error of the token/discovery endpoints, in Entra's AADSTS shape (docs/emulator.md, "Identity platform"). */
export interface AadstsError {
  status: number;
  error: string;
  code: number;
  text: string;
}

export const aadsts = (status: number, error: string, code: number, text: string): AadstsError => ({
  status,
  error,
  code,
  text,
});

/** `YYYY-MM-DD HH:MM:SSZ`: Entra's timestamp format (space, no fraction). */
export const aadTimestamp = (ms: number) => `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")}Z`;

/** The JSON body Entra sends with an AADSTS error. */
export function aadstsBody(e: AadstsError, nowMs: number, correlationId?: string): Record<string, unknown> {
  const traceId = randomUUID();
  const correlation = correlationId && /^[0-9a-f-]{36}$/i.test(correlationId) ? correlationId : randomUUID();
  const timestamp = aadTimestamp(nowMs);
  return {
    error: e.error,
    error_description: `AADSTS${e.code}: ${e.text}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlation}\r\nTimestamp: ${timestamp}`,
    error_codes: [e.code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlation,
    error_uri: `https://login.microsoftonline.com/error?code=${e.code}`,
  };
}

export const tenantNotFound = (tenant: string) =>
  aadsts(
    400,
    "invalid_tenant",
    90002,
    `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
  );
