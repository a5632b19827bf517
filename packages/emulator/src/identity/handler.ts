import type { IncomingMessage, ServerResponse } from "node:http";
import {
  BodyTooLargeError,
  createFaultGate,
  delay,
  type EmulatorContext,
  type Handler,
  readBody,
  sendJson,
} from "../server.js";
import type { TenantState } from "../state.js";
import { type AadstsError, aadsts, aadstsBody, tenantNotFound } from "./aadsts.js";
import {
  DEVICE_CODE_INTERVAL_S,
  DEVICE_CODE_LIFETIME_S,
  type DeviceCodeStore,
  deviceLoginPage,
} from "./device-code.js";
import { instanceDiscovery, openIdConfiguration, openIdConfigurationV1 } from "./discovery.js";
import { deviceCodeScopeError, handleTokenRequest } from "./token-endpoint.js";

/** Tenant-independent authority segments: discovery works there; sign-ins land in the default tenant. */
const DEFAULT_USER_TENANT_SEGMENTS = new Set(["common", "organizations", "consumers"]);

/**
 * The identity listener (login.microsoftonline.com): discovery documents, JWKS, the token
 * endpoint, the device-code endpoint and its sign-in page.
 */
export function createIdentityHandler(ctx: EmulatorContext, devices: DeviceCodeStore): Handler {
  const fault = createFaultGate(ctx, "identity");
  return (req, res) => {
    const decision = fault();
    if (decision === "drop") {
      req.socket.destroy();
      return;
    }
    if (decision !== "none") {
      const e = aadsts(
        Number(decision),
        "temporarily_unavailable",
        90033,
        "A transient error has occurred. Please try again.",
      );
      res.setHeader("retry-after", "1");
      sendAadsts(ctx, req, res, e);
      return;
    }
    void route(ctx, devices, req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const e =
        error instanceof BodyTooLargeError
          ? aadsts(413, "invalid_request", 90015, "Request body is too large.")
          : aadsts(500, "server_error", 90033, "A transient error has occurred. Please try again.");
      sendAadsts(ctx, req, res, e);
    });
  };
}

function sendAadsts(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, e: AadstsError): void {
  const url = new URL(req.url ?? "/", ctx.origins.identity);
  const correlation =
    url.searchParams.get("client-request-id") ?? (req.headers["client-request-id"] as string | undefined);
  const body = aadstsBody(e, ctx.clock(), correlation);
  sendJson(res, e.status, body, {
    "x-ms-request-id": String(body.trace_id),
    "client-request-id": String(body.correlation_id),
  });
}

async function route(
  ctx: EmulatorContext,
  devices: DeviceCodeStore,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (ctx.settings.latencyMs > 0) await delay(ctx.settings.latencyMs);
  const url = new URL(req.url ?? "/", ctx.origins.identity);
  const segments = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  const method = req.method ?? "GET";
  const path = segments.slice(1).join("/");
  const first = segments[0] ?? "";

  if (first === "devicelogin") return deviceLogin(ctx, devices, req, res, method);
  if (first === "common" && path === "discovery/instance" && method === "GET") {
    const answer = instanceDiscovery(ctx, url.searchParams.get("authorization_endpoint"));
    if ("code" in answer) return sendAadsts(ctx, req, res, answer);
    return sendJson(res, 200, answer);
  }

  const generic = DEFAULT_USER_TENANT_SEGMENTS.has(first.toLowerCase());
  const tenant = generic ? undefined : ctx.store.tenant(first);

  const v1Discovery = path === ".well-known/openid-configuration";
  if (method === "GET" && (v1Discovery || path === "v2.0/.well-known/openid-configuration")) {
    const build = v1Discovery ? openIdConfigurationV1 : openIdConfiguration;
    if (generic) return sendJson(res, 200, build(ctx, first.toLowerCase(), undefined));
    if (!tenant) return sendAadsts(ctx, req, res, tenantNotFound(first));
    return sendJson(res, 200, build(ctx, tenant.tenant.id, tenant.tenant.id));
  }
  // v2 keys per tenant; v1 keys at /common/discovery/keys (the v1 document's jwks_uri) and per tenant
  if (method === "GET" && (path === "discovery/v2.0/keys" || path === "discovery/keys")) {
    if (!generic && !tenant) return sendAadsts(ctx, req, res, tenantNotFound(first));
    return sendJson(res, 200, ctx.issuer.jwks());
  }
  if (method === "POST" && (path === "oauth2/v2.0/token" || path === "oauth2/token")) {
    ctx.stats.tokenRequests++;
    const form = new URLSearchParams(await readBody(req));
    // A user sign-in at /organizations or /common lands in the emulator's (default) tenant.
    const target =
      generic && form.get("grant_type") !== "client_credentials" ? ctx.store.defaultTenant : tenant;
    const result = handleTokenRequest(ctx, devices, {
      tenant: target,
      tenantSegment: first,
      form,
      version: path === "oauth2/token" ? "v1" : "v2",
    });
    if (!result.ok) return sendAadsts(ctx, req, res, result.error);
    return sendJson(res, 200, result.body, {
      "client-request-id": url.searchParams.get("client-request-id") ?? "",
    });
  }
  if (method === "POST" && path === "oauth2/v2.0/devicecode") {
    const t = generic ? ctx.store.defaultTenant : tenant;
    if (!t) return sendAadsts(ctx, req, res, tenantNotFound(first));
    return deviceCode(ctx, devices, t, new URLSearchParams(await readBody(req)), req, res);
  }
  sendJson(res, 404, {
    error: "not_found",
    error_description: `No such endpoint: ${method} ${url.pathname}`,
  });
}

function deviceCode(
  ctx: EmulatorContext,
  devices: DeviceCodeStore,
  t: TenantState,
  form: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const clientId = form.get("client_id");
  if (!clientId) {
    sendAadsts(
      ctx,
      req,
      res,
      aadsts(
        400,
        "invalid_request",
        900144,
        "The request body must contain the following parameter: 'client_id'.",
      ),
    );
    return;
  }
  const scope = form.get("scope") ?? "";
  const scopeError = deviceCodeScopeError(ctx, scope);
  if (scopeError) {
    sendAadsts(ctx, req, res, scopeError);
    return;
  }
  const grant = devices.create({ clientId, tenantId: t.tenant.id, scope }, ctx.clock());
  if (ctx.settings.deviceCodeAutoApprove) {
    const admin = t.users[0];
    if (admin) grant.approvedUserId = admin.id;
  }
  const verificationUri = `${ctx.origins.identity}/devicelogin`;
  sendJson(res, 200, {
    user_code: grant.userCode,
    device_code: grant.deviceCode,
    verification_uri: verificationUri,
    expires_in: DEVICE_CODE_LIFETIME_S,
    interval: DEVICE_CODE_INTERVAL_S,
    message: `To sign in, use a web browser to open the page ${verificationUri} and enter the code ${grant.userCode} to authenticate.`,
  });
}

async function deviceLogin(
  ctx: EmulatorContext,
  devices: DeviceCodeStore,
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
): Promise<void> {
  const t = ctx.store.defaultTenant;
  const page = (status: number, message?: string) => {
    const html = deviceLoginPage(t.users, message);
    res.writeHead(status, {
      "content-type": "text/html; charset=utf-8",
      "content-length": Buffer.byteLength(html),
      "cache-control": "no-store",
      "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
      "x-frame-options": "DENY",
    });
    res.end(html);
  };
  if (method === "GET") return page(200);
  if (method !== "POST") return page(405, "Use the form.");
  const form = new URLSearchParams(await readBody(req));
  const grant = devices.byUserCode(form.get("user_code") ?? "");
  if (!grant || grant.expiresAtMs <= ctx.clock()) return page(400, "That code is unknown or has expired.");
  const tenant = ctx.store.tenantById(grant.tenantId);
  const user = tenant?.users.find(
    (u) => u.userPrincipalName.toLowerCase() === (form.get("upn") ?? "").toLowerCase(),
  );
  if (!user) return page(400, "Pick one of the listed users.");
  grant.approvedUserId = user.id;
  page(
    200,
    `Signed in as ${user.userPrincipalName}. You can close this window and return to the application.`,
  );
}
