/**
 * The emulated Exchange Online REST endpoint: `POST /adminapi/{beta|v1.0}/{tenant}/InvokeCommand`
 * (and GET/POST on its `@odata.nextLink`), with the real envelope, headers, paging, error bodies,
 * authorization from the bearer token, per-app throttling, latency and injected faults.
 * The server (TLS, listeners, identity, Graph) lives elsewhere and passes what it knows as `ExchangeDeps`.
 *
 * Order of checks per request, so each failure looks the way a client would meet it:
 * injected fault → route → token (401) → ManageAsApp / directory role / propagation (401/403) →
 * throttling (429) → latency → body and $skiptoken (400) → cmdlet and parameters (400) → cmdlet
 * permission (403) → work (404 for unknown identities) → one page of results.
 */

import { randomBytes, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { MailboxDataset } from "../data/mailboxes.js";
import { createFaultInjector, type FaultInjector } from "../faults.js";
import type { AccessTokenClaims, FaultOptions, TenantInfo, ThrottleOptions } from "../types.js";
import {
  type AuthorizationFailure,
  authorizeCaller,
  authorizeCmdlet,
  invalidToken,
} from "./authorization.js";
import { BoundParameters, findCmdlet, MailboxOverlay, MORE_RESULTS_WARNING } from "./cmdlets.js";
import { CmdletError, commandNotFound, type ODataErrorBody, plainError } from "./errors.js";
import {
  type Continuation,
  DEFAULT_PAGE_SIZE,
  invocationHash,
  readPage,
  requestedPageSize,
  SkipTokenCodec,
} from "./paging.js";
import { BACKEND_SERVER } from "./properties.js";
import { AppThrottle } from "./throttle.js";

export type { MailboxDataset } from "../data/mailboxes.js";

export interface ExchangeDeps {
  /** the Exchange origin = expected token `aud` */
  origin: string;
  /** signature, exp/nbf; null when the token is not acceptable */
  verifyAccessToken(token: string): AccessTokenClaims | null;
  /**
   * Whether `aud` names Exchange Online besides `origin` (https://outlook.office365.com, its appId):
   * tokens echo the resource identifier the client asked for. Absent: only `origin`.
   */
  acceptsAudience?(aud: string): boolean;
  /** GUID or domain → tenant */
  resolveTenant(segment: string): TenantInfo | undefined;
  /** false while a new role grant is still replicating */
  authorizationPropagated(claims: AccessTokenClaims): boolean;
  dataset(tenantId: string): MailboxDataset;
  options(): { latencyMs: number; throttle?: ThrottleOptions; faults?: FaultOptions };
  onStat(kind: "exchangeRequests" | "throttled" | "faultsInjected"): void;
  /** ms epoch */
  clock(): number;
  /** how latency is waited for (default setTimeout); tests inject a recorder */
  sleep?(ms: number): Promise<void>;
}

const JSON_CONTENT_TYPE =
  "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";
const ROUTE = /^\/adminapi\/(beta|v1\.0)\/([^/]+)\/InvokeCommand$/i;
const MAX_BODY_BYTES = 1024 * 1024;
const COMMA = Buffer.from(",");

/** A response decided before or instead of the work. */
class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly body: ODataErrorBody | null,
    readonly headers: Record<string, string> = {},
  ) {
    super(body?.error.message ?? `HTTP ${status}`);
  }
  static from(failure: AuthorizationFailure): HttpFailure {
    return new HttpFailure(failure.status, failure.body, failure.headers);
  }
}

function badRequest(message: string): HttpFailure {
  return new HttpFailure(400, plainError("BadRequest", message));
}

export function createExchangeHandler(
  deps: ExchangeDeps,
): (req: IncomingMessage, res: ServerResponse) => void {
  const codec = new SkipTokenCodec(randomBytes(32));
  const throttle = new AppThrottle();
  const overlays = new Map<string, MailboxOverlay>();
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  // The injector is rebuilt when the fault options object changes (the emulator's configure()).
  let faults: { options: FaultOptions; injector: FaultInjector } | undefined;

  function injectorFor(options: FaultOptions | undefined): FaultInjector | undefined {
    if (!options) return undefined;
    if (faults?.options !== options) faults = { options, injector: createFaultInjector(options) };
    return faults.injector;
  }

  function overlayFor(tenantId: string): MailboxOverlay {
    let overlay = overlays.get(tenantId);
    if (!overlay) {
      overlay = new MailboxOverlay();
      overlays.set(tenantId, overlay);
    }
    return overlay;
  }

  async function handle(req: IncomingMessage, res: ServerResponse, baseHeaders: Record<string, string>) {
    const options = deps.options();
    const injector = injectorFor(options.faults);
    if (injector?.appliesTo("exchange")) {
      const decision = injector.next();
      if (decision !== "none") {
        deps.onStat("faultsInjected");
        if (decision === "drop") {
          req.socket.destroy();
          return;
        }
        if (decision === "429") {
          const seconds = options.faults?.throttleRetryAfterSeconds ?? 1;
          throw new HttpFailure(
            429,
            plainError("TooManyRequests", `Too many requests. Please retry after ${seconds} seconds.`),
            { "Retry-After": String(seconds) },
          );
        }
        throw decision === "503"
          ? new HttpFailure(
              503,
              plainError("ServiceUnavailable", "The service is temporarily unavailable. Please retry."),
            )
          : new HttpFailure(
              504,
              plainError("GatewayTimeout", "The backend did not answer in time. Please retry."),
            );
      }
    }

    const url = new URL(req.url ?? "/", deps.origin);
    const route = ROUTE.exec(url.pathname);
    if (!route) throw new HttpFailure(404, plainError("NotFound", `No endpoint at ${url.pathname}.`));
    const [, version, segment] = route as unknown as [string, string, string];
    if (req.method !== "POST" && req.method !== "GET") {
      throw new HttpFailure(
        405,
        plainError("MethodNotAllowed", "InvokeCommand accepts POST (and GET on a nextLink)."),
        {
          Allow: "POST, GET",
        },
      );
    }

    const claims = authenticate(req);
    const organization = safeDecode(segment);
    const tenant = organization === undefined ? undefined : deps.resolveTenant(organization);
    if (!tenant || tenant.id !== claims.tid) {
      throw HttpFailure.from(
        invalidToken(
          `The organization '${organization ?? segment}' in the URL is not the tenant of the access token.`,
        ),
      );
    }
    const denied = authorizeCaller(claims, deps.authorizationPropagated(claims));
    if (denied) throw HttpFailure.from(denied);

    // One budget per tenant, shared by its apps; a multi-tenant app has a separate one in each tenant
    // (docs/emulator-exchange.md "Throttling").
    const admission = throttle.admit(claims.tid, deps.clock(), options.throttle);
    baseHeaders["Rate-Limit-Limit"] = String(admission.limit);
    baseHeaders["Rate-Limit-Reset"] = new Date(admission.resetMs).toISOString();
    if (!admission.allowed) {
      deps.onStat("throttled");
      baseHeaders["Rate-Limit-Remaining"] = "0";
      const seconds = admission.retryAfterSeconds;
      const what = admission.reason === "rate" ? "Too many requests" : "Too many concurrent requests";
      throw new HttpFailure(
        429,
        plainError(
          "TooManyRequests",
          `${what} for tenant ${tenant.id} (application ${claims.appid}). Please retry after ${seconds} seconds.`,
        ),
        { "Retry-After": String(seconds) },
      );
    }
    baseHeaders["Rate-Limit-Remaining"] = String(admission.remaining);
    res.once("close", admission.release);

    if (options.latencyMs > 0) await sleep(options.latencyMs);

    // What to run: the body (POST), the $skiptoken (GET on a nextLink), or both (POST on a nextLink).
    const skipToken = url.searchParams.get("$skiptoken");
    let continuation: Continuation | undefined;
    if (skipToken !== null) {
      const decoded = codec.decode(skipToken, deps.clock());
      if (!decoded.ok)
        throw badRequest(`The $skiptoken is not valid (${decoded.reason}). Start the query again.`);
      continuation = decoded.continuation;
      if (continuation.tenantId !== tenant.id || continuation.appId !== claims.appid) {
        throw badRequest(
          "The $skiptoken was issued to another tenant or application. Start the query again.",
        );
      }
    }
    let cmdletName: string;
    let rawParams: Record<string, unknown>;
    if (req.method === "GET") {
      if (!continuation) {
        throw new HttpFailure(
          405,
          plainError("MethodNotAllowed", "GET is only accepted on an @odata.nextLink URL."),
          {
            Allow: "POST",
          },
        );
      }
      cmdletName = continuation.cmdlet;
      rawParams = continuation.params;
    } else {
      const input = parseInvocation(await readBody(req), req.headers["x-cmdletname"]);
      cmdletName = input.cmdletName;
      rawParams = input.params;
      if (continuation && continuation.hash !== invocationHash(cmdletName, rawParams)) {
        throw badRequest(
          "The $skiptoken belongs to a different cmdlet or different parameters. Start the query again.",
        );
      }
    }

    const cmdlet = findCmdlet(cmdletName);
    if (!cmdlet) throw commandNotFound(cmdletName);
    const forbidden = authorizeCmdlet(claims, cmdlet.name);
    if (forbidden) throw HttpFailure.from(forbidden);
    const params = BoundParameters.bind(rawParams, cmdlet.parameters);
    const source = cmdlet.run(
      { tenant, dataset: deps.dataset(tenant.id), overlay: overlayFor(tenant.id) },
      params,
    );

    const asked = requestedPageSize([req.headers.prefer, req.headers["x-prefer"]]);
    const pageSize = asked ?? continuation?.pageSize ?? DEFAULT_PAGE_SIZE;
    const emitted = continuation?.emitted ?? 0;
    const page = readPage(source, continuation?.cursor ?? 0, emitted, pageSize);
    const warnings = [...(source.warnings ?? [])];
    if (page.truncated) warnings.push(MORE_RESULTS_WARNING);

    const envelope: Record<string, unknown> = {
      "@odata.context": `${deps.origin}/adminapi/${version}/${segment}/$metadata#Collection(Exchange.GenericHashTable)`,
      "adminapi.warnings@odata.type": "#Collection(String)",
      "@adminapi.warnings": warnings,
    };
    let nextLink: string | undefined;
    if (page.nextCursor !== undefined) {
      const next = codec.encode({
        cmdlet: cmdlet.name,
        params: rawParams,
        hash: invocationHash(cmdletName, rawParams),
        tenantId: tenant.id,
        appId: claims.appid,
        cursor: page.nextCursor,
        emitted: emitted + page.rows.length,
        pageSize,
        issuedMs: deps.clock(),
      });
      nextLink = `${deps.origin}${url.pathname}?$skiptoken=${next}`;
    }
    // The rows are already JSON; splice them into the envelope instead of re-serializing objects.
    const head = JSON.stringify(envelope).slice(0, -1);
    const tail = nextLink === undefined ? "]}" : `],"@odata.nextLink":${JSON.stringify(nextLink)}}`;
    const parts: Buffer[] = [Buffer.from(`${head},"value":[`, "utf8")];
    page.rows.forEach((row, i) => {
      if (i > 0) parts.push(COMMA);
      parts.push(row);
    });
    parts.push(Buffer.from(tail, "utf8"));
    const body = Buffer.concat(parts);
    const headers: Record<string, string> = {
      ...baseHeaders,
      "Content-Type": JSON_CONTENT_TYPE,
      "OData-Version": "4.0",
    };
    if (asked !== undefined) headers["Preference-Applied"] = `odata.maxpagesize=${asked}`;
    send(res, 200, headers, body);
  }

  function authenticate(req: IncomingMessage): AccessTokenClaims {
    const header = req.headers.authorization ?? "";
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw HttpFailure.from(invalidToken("A bearer access token is required."));
    const claims = deps.verifyAccessToken(match[1]!);
    if (!claims || typeof claims.aud !== "string" || typeof claims.appid !== "string") {
      throw HttpFailure.from(invalidToken("The access token is invalid or expired."));
    }
    const audience = claims.aud.replace(/\/+$/, "");
    if (audience !== deps.origin.replace(/\/+$/, "") && !deps.acceptsAudience?.(claims.aud)) {
      throw HttpFailure.from(
        invalidToken(`The access token's audience '${claims.aud}' is not ${deps.origin}.`),
      );
    }
    return claims;
  }

  return (req, res) => {
    deps.onStat("exchangeRequests");
    const headers: Record<string, string> = {
      "request-id": randomUUID(),
      "X-CalculatedBETarget": BACKEND_SERVER,
      "Cache-Control": "private",
    };
    handle(req, res, headers).catch((error: unknown) => {
      if (res.headersSent || res.destroyed) return;
      if (error instanceof CmdletError) {
        send(
          res,
          error.status,
          { ...headers, "x-ExceptionType": error.exceptionType },
          JSON.stringify(error.toBody()),
        );
      } else if (error instanceof HttpFailure) {
        send(
          res,
          error.status,
          { ...headers, ...error.headers },
          error.body ? JSON.stringify(error.body) : "",
        );
      } else {
        const message = error instanceof Error ? error.message : String(error);
        send(
          res,
          500,
          headers,
          JSON.stringify(plainError("InternalServerError", `Emulator failure: ${message}`)),
        );
      }
    });
  };
}

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: string | Buffer,
): void {
  // Encode once: a page can be megabytes, and byteLength + end(string) would walk it twice.
  const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  const all: Record<string, string | number> = { ...headers, "Content-Length": bytes.length };
  if (bytes.length > 0 && !("Content-Type" in all)) all["Content-Type"] = JSON_CONTENT_TYPE;
  res.writeHead(status, all);
  res.end(bytes);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw new HttpFailure(413, plainError("RequestEntityTooLarge", "The request body is too large."));
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseInvocation(
  text: string,
  headerName: string | string[] | undefined,
): { cmdletName: string; params: Record<string, unknown> } {
  let body: unknown = {};
  if (text.trim()) {
    try {
      body = JSON.parse(text);
    } catch {
      throw badRequest("The request body is not valid JSON.");
    }
  }
  const input = (body as { CmdletInput?: { CmdletName?: unknown; Parameters?: unknown } } | null)
    ?.CmdletInput;
  const fromHeader = Array.isArray(headerName) ? headerName[0] : headerName;
  const name =
    typeof input?.CmdletName === "string" && input.CmdletName.trim() ? input.CmdletName : fromHeader;
  if (!name?.trim()) throw badRequest("CmdletInput.CmdletName is required.");
  const params = input?.Parameters ?? {};
  if (typeof params !== "object" || params === null || Array.isArray(params)) {
    throw badRequest("CmdletInput.Parameters must be an object.");
  }
  return { cmdletName: name.trim(), params: params as Record<string, unknown> };
}
