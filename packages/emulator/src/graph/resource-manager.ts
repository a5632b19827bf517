import type { IncomingMessage } from "node:http";
import { acceptsAudience } from "../identity/access-tokens.js";
import type { EmulatorContext } from "../server.js";
import type { GraphResult } from "./context.js";
import { GraphError } from "./errors.js";

/**
 * The two Azure Resource Manager reads `az login` makes after it has a token (docs/emulator.md, "Azure
 * Resource Manager"), served on the Graph listener so a custom cloud can name it as its
 * `resourceManager` endpoint: `GET /tenants` lists the caller's tenant, `GET /subscriptions` is
 * empty (the emulator has no Azure subscriptions; sign in with `--allow-no-subscriptions`).
 */
export function isResourceManagerPath(first: string | undefined): boolean {
  return first === "tenants" || first === "subscriptions";
}

export function resourceManager(ctx: EmulatorContext, req: IncomingMessage, url: URL): GraphResult {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
  const claims = m?.[1] ? ctx.issuer.verify(m[1], Math.floor(ctx.clock() / 1000)) : null;
  if (!claims || !acceptsAudience(ctx, "arm", claims.aud)) {
    throw new GraphError(
      401,
      "InvalidAuthenticationToken",
      "The access token is invalid, expired, or not issued for Azure Resource Manager.",
    );
  }
  if (req.method !== "GET") {
    throw new GraphError(405, "MethodNotAllowed", `The requested method ${req.method} is not allowed.`);
  }
  if (!url.searchParams.get("api-version")) {
    throw new GraphError(
      400,
      "MissingApiVersionParameter",
      "The api-version query parameter (?api-version=) is required for all requests.",
    );
  }
  const path = url.pathname.replace(/\/+$/, "");
  if (path === "/subscriptions") return { status: 200, body: { value: [] } };
  if (path === "/tenants") {
    const t = ctx.store.tenantById(claims.tid);
    const value = t
      ? [
          {
            id: `/tenants/${t.tenant.id}`,
            tenantId: t.tenant.id,
            countryCode: "US",
            displayName: t.tenant.displayName,
            domains: [t.tenant.domain],
            tenantCategory: "Home",
            defaultDomain: t.tenant.domain,
            tenantType: "AAD",
          },
        ]
      : [];
    return { status: 200, body: { value } };
  }
  throw new GraphError(404, "NotFound", `The resource '${path}' was not found.`);
}
