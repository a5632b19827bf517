import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { AppThrottle } from "../exchange/throttle.js";
import {
  BodyTooLargeError,
  clientRequestId,
  createFaultGate,
  delay,
  type EmulatorContext,
  type Handler,
  readBody,
  sendJson,
} from "../server.js";
import { applications, segmentNotFound } from "./applications.js";
import { authenticate, authorize } from "./authz.js";
import { type GraphRequest, type GraphResult, metadata, ok } from "./context.js";
import { GraphError, graphErrorBody } from "./errors.js";
import { applySelect } from "./odata.js";
import { isResourceManagerPath, resourceManager } from "./resource-manager.js";
import { roleManagement } from "./role-management.js";
import { servicePrincipals } from "./service-principals.js";

/** The Microsoft Graph listener: the v1.0 subset that provisioning for Exchange app-only access uses. */

const GRAPH_JSON =
  "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

export function createGraphHandler(ctx: EmulatorContext): Handler {
  const fault = createFaultGate(ctx, "graph");
  const throttle = new AppThrottle();
  return (req, res) => {
    const decision = fault();
    if (decision === "drop") {
      req.socket.destroy();
      return;
    }
    void serve(ctx, req, res, decision === "none" ? undefined : decision, throttle);
  };
}

/** A 429 with Graph's Retry-After: whole seconds. */
class Throttled extends GraphError {
  constructor(readonly retryAfterSeconds: number) {
    super(
      429,
      "TooManyRequests",
      "Too many requests for this tenant. Please retry after the number of seconds in the Retry-After header.",
    );
  }
}

/**
 * The tenant a request is charged to under `graphThrottle`: the `tid` of its bearer token, read without
 * verifying (authentication happens later and is not weakened by this); "anonymous" without one.
 */
function budgetOf(req: IncomingMessage): string {
  const auth = req.headers.authorization ?? "";
  const payload = auth.replace(/^Bearer\s+/i, "").split(".")[1];
  if (!payload) return "anonymous";
  try {
    const tid = (JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { tid?: unknown }).tid;
    return typeof tid === "string" ? tid : "anonymous";
  } catch {
    return "anonymous";
  }
}

async function serve(
  ctx: EmulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  fault?: "503" | "504",
  throttle?: AppThrottle,
): Promise<void> {
  const ids = { requestId: randomUUID(), clientRequestId: clientRequestId(req) };
  const headers = { "request-id": ids.requestId, "client-request-id": ids.clientRequestId };
  ctx.stats.graphRequests++;
  try {
    if (ctx.settings.latencyMs > 0) await delay(ctx.settings.latencyMs);
    if (fault === "503") {
      throw new GraphError(
        503,
        "serviceNotAvailable",
        "The service is temporarily unavailable. Please retry later.",
      );
    }
    if (fault === "504")
      throw new GraphError(504, "gatewayTimeout", "The operation timed out. Please retry later.");
    if (ctx.settings.graphThrottle && throttle) {
      const admission = throttle.admit(budgetOf(req), ctx.clock(), ctx.settings.graphThrottle);
      if (!admission.allowed) {
        ctx.stats.graphThrottled++;
        throw new Throttled(Math.max(1, Math.ceil(admission.retryAfterSeconds)));
      }
      res.once("close", admission.release);
    }
    const result = await dispatch(ctx, req);
    if (result.text !== undefined) {
      res.writeHead(result.status, {
        ...headers,
        ...result.headers,
        "content-type": "text/plain; charset=utf-8",
        "content-length": Buffer.byteLength(result.text),
        "cache-control": "no-cache",
      });
      res.end(result.text);
      return;
    }
    if (result.body === undefined) {
      res.writeHead(result.status, { ...headers, ...result.headers, "cache-control": "no-cache" });
      res.end();
      return;
    }
    sendJson(res, result.status, result.body, { ...headers, ...result.headers }, GRAPH_JSON);
  } catch (error) {
    const e =
      error instanceof GraphError
        ? error
        : error instanceof BodyTooLargeError
          ? new GraphError(413, "Request_EntityTooLarge", "The request body is too large.")
          : new GraphError(500, "generalException", "An internal server error occurred.");
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const retry: Record<string, string> =
      e instanceof Throttled
        ? { "retry-after": String(e.retryAfterSeconds) }
        : e.status === 503 || e.status === 429
          ? { "retry-after": "1" }
          : {};
    sendJson(res, e.status, graphErrorBody(e, ids, ctx.clock()), { ...headers, ...retry }, GRAPH_JSON);
  }
}

async function dispatch(ctx: EmulatorContext, req: IncomingMessage): Promise<GraphResult> {
  const url = new URL(req.url ?? "/", ctx.origins.graph);
  const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  if (isResourceManagerPath(parts[0])) return resourceManager(ctx, req, url);
  if (parts[0] !== "v1.0") {
    throw new GraphError(400, "BadRequest", `Invalid version: ${parts[0] ?? ""}`);
  }
  const caller = authenticate(ctx, req);
  let bodyCache: Promise<Record<string, unknown>> | undefined;
  const graphReq: GraphRequest = {
    ctx,
    caller,
    method: req.method ?? "GET",
    url,
    segments: parts.slice(1),
    body: () => {
      bodyCache ??= readBody(req).then((text) => {
        let parsed: unknown;
        try {
          parsed = text ? JSON.parse(text) : {};
        } catch {
          parsed = undefined;
        }
        if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
          throw new GraphError(
            400,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
          );
        }
        return parsed as Record<string, unknown>;
      });
      return bodyCache;
    },
    header: (name) => {
      const v = req.headers[name.toLowerCase()];
      return Array.isArray(v) ? v.join(", ") : v;
    },
  };
  const head = graphReq.segments[0] ?? "";
  if (head === "applications" || head.startsWith("applications(")) return applications(graphReq);
  if (head === "servicePrincipals" || head.startsWith("servicePrincipals("))
    return servicePrincipals(graphReq);
  if (head === "roleManagement") return roleManagement(graphReq);
  if (head === "organization" && graphReq.segments.length === 1 && graphReq.method === "GET") {
    authorize(caller, "read");
    return organization(graphReq);
  }
  if (head === "me" && graphReq.segments.length === 1 && graphReq.method === "GET") return me(graphReq);
  throw segmentNotFound(head);
}

function organization(req: GraphRequest): GraphResult {
  const t = req.caller.tenant;
  const org = {
    id: t.tenant.id,
    deletedDateTime: null,
    businessPhones: [],
    city: null,
    country: null,
    countryLetterCode: "US",
    createdDateTime: t.createdDateTime,
    displayName: t.tenant.displayName,
    tenantType: "AAD",
    verifiedDomains: [
      {
        capabilities: "Email, OfficeCommunicationsOnline",
        isDefault: true,
        isInitial: true,
        name: t.tenant.domain,
        type: "Managed",
      },
    ],
  };
  return ok({
    "@odata.context": metadata(req, "organization"),
    value: [applySelect(org, req.url.searchParams.get("$select"))],
  });
}

/** The signed-in user (delegated tokens only, as in Graph). */
function me(req: GraphRequest): GraphResult {
  if (!req.caller.delegated) {
    throw new GraphError(400, "BadRequest", "/me request is only valid with delegated authentication flow.");
  }
  const user = req.caller.tenant.users.find((u) => u.id === req.caller.claims.oid);
  if (!user)
    throw new GraphError(
      404,
      "Request_ResourceNotFound",
      `Resource '${req.caller.claims.oid}' does not exist.`,
    );
  return ok(
    applySelect(
      {
        "@odata.context": metadata(req, "users/$entity"),
        id: user.id,
        displayName: user.displayName,
        userPrincipalName: user.userPrincipalName,
        mail: user.userPrincipalName,
      },
      req.url.searchParams.get("$select"),
    ),
  );
}
