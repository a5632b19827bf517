import { randomUUID } from "node:crypto";
import { verifyCertificateJwt } from "../identity/assertion.js";
import type { ApplicationRecord, TenantState } from "../state.js";
import { authorize } from "./authz.js";
import { type GraphRequest, type GraphResult, metadata, noContent, notReplicatedYet, ok } from "./context.js";
import { federatedIdentityCredentials, listCollection, owners } from "./directory-extras.js";
import { badRequest, GraphError, insufficientPrivileges, notFound } from "./errors.js";
import { keyCredentialJson, newKeyCredential, replaceKeyCredentials } from "./key-credentials.js";
import { applySelect, type FilterSpec, selects } from "./odata.js";
import { deleteServicePrincipalCascade } from "./service-principals.js";
import { PROOF_AUDIENCE } from "./well-known.js";

/** /applications: create, read, update (incl. uniqueName upsert), delete, addKey/removeKey. */

const WRITABLE = new Set([
  "displayName",
  "description",
  "signInAudience",
  "requiredResourceAccess",
  "keyCredentials",
  "identifierUris",
  "tags",
  "isFallbackPublicClient",
  "publicClient",
  "web",
  "spa",
  "api",
  "appRoles",
  "notes",
  "info",
  "optionalClaims",
  "parentalControlSettings",
  "uniqueName",
  "passwordCredentials",
]);
const SIGN_IN_AUDIENCES = [
  "AzureADMyOrg",
  "AzureADMultipleOrgs",
  "AzureADandPersonalMicrosoftAccount",
  "PersonalMicrosoftAccount",
];
const ARRAY_PROPERTIES = [
  "requiredResourceAccess",
  "identifierUris",
  "tags",
  "appRoles",
  "passwordCredentials",
];
/**
 * `$filter` on applications as Graph's application resource page documents it; `uniqueName` is an
 * alternate key (`/applications(uniqueName='…')`), not filterable (400 Request_UnsupportedQuery).
 */
const APPLICATION_FILTER: FilterSpec = {
  appId: ["eq", "ne", "not", "in", "startsWith"],
  displayName: ["eq", "ne", "not", "in", "startsWith", "endsWith"],
  id: ["eq", "ne", "not", "in"],
  identifierUris: ["any", "not"],
  tags: ["any", "not"],
  publisherDomain: ["eq", "ne", "not", "in", "startsWith"],
  signInAudience: ["eq", "ne", "not", "in"],
};
/** Proofs for addKey/removeKey live at most 10 minutes (application-addkey doc). */
const PROOF_MAX_LIFETIME_S = 600;
const PROOF_SKEW_S = 300;

export function applicationJson(
  req: GraphRequest,
  app: ApplicationRecord,
  withKeys: boolean,
): Record<string, unknown> {
  const p = app.properties;
  return {
    id: app.id,
    deletedDateTime: null,
    appId: app.appId,
    applicationTemplateId: null,
    createdDateTime: app.createdDateTime,
    description: p.description ?? null,
    displayName: app.displayName,
    identifierUris: p.identifierUris ?? [],
    isFallbackPublicClient: p.isFallbackPublicClient ?? null,
    notes: p.notes ?? null,
    publisherDomain: req.caller.tenant.tenant.domain,
    signInAudience: p.signInAudience ?? "AzureADMyOrg",
    tags: p.tags ?? [],
    uniqueName: app.uniqueName,
    api: p.api ?? {
      acceptMappedClaims: null,
      knownClientApplications: [],
      requestedAccessTokenVersion: null,
      oauth2PermissionScopes: [],
      preAuthorizedApplications: [],
    },
    appRoles: p.appRoles ?? [],
    info: p.info ?? {
      logoUrl: null,
      marketingUrl: null,
      privacyStatementUrl: null,
      supportUrl: null,
      termsOfServiceUrl: null,
    },
    keyCredentials: app.keyCredentials.map((k) => keyCredentialJson(k, withKeys)),
    optionalClaims: p.optionalClaims ?? null,
    parentalControlSettings: p.parentalControlSettings ?? {
      countriesBlockedForMinors: [],
      legalAgeGroupRule: "Allow",
    },
    passwordCredentials: [],
    publicClient: p.publicClient ?? { redirectUris: [] },
    requiredResourceAccess: p.requiredResourceAccess ?? [],
    spa: p.spa ?? { redirectUris: [] },
    web: p.web ?? {
      homePageUrl: null,
      logoutUrl: null,
      redirectUris: [],
      implicitGrantSettings: { enableAccessTokenIssuance: false, enableIdTokenIssuance: false },
    },
  };
}

/** Validate writable properties and apply them to `app` (new or existing). */
function applyProperties(
  req: GraphRequest,
  app: ApplicationRecord,
  body: Record<string, unknown>,
  creating: boolean,
): void {
  for (const [k, v] of Object.entries(body)) {
    if (k.startsWith("@odata.")) continue;
    if (!WRITABLE.has(k))
      throw badRequest(`Property '${k}' does not exist on type 'microsoft.graph.application'.`);
    if (ARRAY_PROPERTIES.includes(k) && !Array.isArray(v)) {
      throw badRequest(`Invalid value specified for property '${k}' of resource 'Application'.`);
    }
  }
  if ("displayName" in body) {
    if (typeof body.displayName !== "string" || !body.displayName.trim()) {
      throw badRequest("Invalid value specified for property 'displayName' of resource 'Application'.");
    }
    app.displayName = body.displayName;
  }
  if ("signInAudience" in body && !SIGN_IN_AUDIENCES.includes(String(body.signInAudience))) {
    throw badRequest("Invalid value specified for property 'signInAudience' of resource 'Application'.");
  }
  if (Array.isArray(body.passwordCredentials) && body.passwordCredentials.length > 0) {
    throw badRequest("Password credentials cannot be set with this request; use addPassword.");
  }
  if ("uniqueName" in body) {
    const u = body.uniqueName;
    if (typeof u !== "string" || !u)
      throw badRequest("Invalid value specified for property 'uniqueName' of resource 'Application'.");
    if (!creating && app.uniqueName !== null && app.uniqueName !== u) {
      throw badRequest("Property 'uniqueName' is read-only once set and cannot be changed.");
    }
    const clash = req.caller.tenant.applications.find(
      (a) => a !== app && a.uniqueName?.toLowerCase() === u.toLowerCase(),
    );
    if (clash) {
      throw new GraphError(
        400,
        "Request_MultipleObjectsWithSameKeyValue",
        `Another object with the same value for property uniqueName already exists.`,
      );
    }
    app.uniqueName = u;
  }
  if ("keyCredentials" in body) {
    app.keyCredentials = replaceKeyCredentials(body.keyCredentials, app.keyCredentials, req.ctx.clock());
  }
  for (const [k, v] of Object.entries(body)) {
    if (
      k.startsWith("@odata.") ||
      ["displayName", "uniqueName", "keyCredentials", "passwordCredentials"].includes(k)
    )
      continue;
    app.properties[k] = v;
  }
}

function createApplication(
  req: GraphRequest,
  body: Record<string, unknown>,
  uniqueName?: string,
): ApplicationRecord {
  const now = req.ctx.clock();
  const app: ApplicationRecord = {
    id: randomUUID(),
    appId: randomUUID(),
    displayName: "",
    uniqueName: null,
    createdDateTime: `${new Date(now).toISOString().slice(0, 19)}Z`,
    createdAtMs: now,
    properties: {},
    keyCredentials: [],
  };
  applyProperties(req, app, uniqueName === undefined ? body : { ...body, uniqueName }, true);
  if (!app.displayName)
    throw badRequest("Invalid value specified for property 'displayName' of resource 'Application'.");
  req.caller.tenant.applications.push(app);
  return app;
}

/** Resolve `applications/{id}`, `applications(appId='…')`, `applications(uniqueName='…')`. */
export function findApplication(t: TenantState, segment: string): ApplicationRecord | undefined {
  const m = /^applications\((appId|uniqueName|id)='((?:[^']|'')*)'\)$/i.exec(segment);
  if (m) {
    const key = (m[1] ?? "").toLowerCase();
    const value = (m[2] ?? "").replace(/''/g, "'").toLowerCase();
    return t.applications.find((a) =>
      key === "appid"
        ? a.appId === value
        : key === "id"
          ? a.id === value
          : a.uniqueName?.toLowerCase() === value,
    );
  }
  return t.applications.find((a) => a.id === segment.toLowerCase());
}

const entityContext = (req: GraphRequest) => metadata(req, "applications/$entity");

export async function applications(req: GraphRequest): Promise<GraphResult> {
  const { segments, method, caller } = req;
  const t = caller.tenant;
  const head = segments[0] ?? "";
  // /applications
  const countSegment = segments.length === 2 && segments[1] === "$count";
  if (head === "applications" && (segments.length === 1 || countSegment)) {
    if (method === "GET") {
      authorize(caller, "read");
      const rows = t.applications.map((a) => applicationJson(req, a, false));
      return listCollection(req, rows, APPLICATION_FILTER, "Application", "applications", countSegment);
    }
    if (method === "POST") {
      authorize(caller, "writeApplications");
      const app = createApplication(req, await req.body());
      await req.ctx.store.commit();
      return {
        status: 201,
        body: { "@odata.context": entityContext(req), ...applicationJson(req, app, false) },
        headers: {
          location: `${req.ctx.origins.graph}/v1.0/directoryObjects/${app.id}/Microsoft.DirectoryServices.Application`,
        },
      };
    }
    throw methodNotAllowed();
  }
  const upsertKey = /^applications\(uniqueName='((?:[^']|'')*)'\)$/i.exec(head);
  const app = findApplication(t, head === "applications" ? (segments[1] ?? "") : head);
  const rest = head === "applications" ? segments.slice(2) : segments.slice(1);
  const id = head === "applications" ? (segments[1] ?? "") : head;

  if (rest.length === 0 && method === "PATCH" && !app && upsertKey) {
    authorize(caller, "writeApplications");
    if (!/create-if-missing/i.test(req.header("prefer") ?? "")) throw notFound(id);
    const body = await req.body();
    // A concurrent upsert of the same uniqueName may have created it while the body was read.
    const raced = findApplication(t, head);
    if (raced) {
      applyProperties(req, raced, body, false);
      await req.ctx.store.commit();
      return noContent();
    }
    const created = createApplication(req, body, (upsertKey[1] ?? "").replace(/''/g, "'"));
    await req.ctx.store.commit();
    return {
      status: 201,
      body: { "@odata.context": entityContext(req), ...applicationJson(req, created, false) },
    };
  }
  if (!app) {
    authorize(caller, "read");
    throw notFound(id);
  }
  if (rest.length === 0) {
    if (method === "GET") {
      authorize(caller, "read");
      if (notReplicatedYet(req, app.createdAtMs)) throw notFound(id);
      const select = req.url.searchParams.get("$select");
      const body = applicationJson(req, app, selects(select, "keyCredentials"));
      return ok(applySelect({ "@odata.context": entityContext(req), ...body }, select));
    }
    if (method === "PATCH") {
      authorize(caller, "writeApplications");
      applyProperties(req, app, await req.body(), false);
      await req.ctx.store.commit();
      return noContent();
    }
    if (method === "DELETE") {
      authorize(caller, "writeApplications");
      t.applications = t.applications.filter((a) => a !== app);
      // Deleting an application removes its service principal in the home tenant too.
      const sp = t.servicePrincipals.find((s) => s.appId === app.appId);
      if (sp) deleteServicePrincipalCascade(t, sp.id);
      await req.ctx.store.commit();
      return noContent();
    }
    throw methodNotAllowed();
  }
  if (rest.length === 1 && method === "POST" && (rest[0] === "addKey" || rest[0] === "removeKey")) {
    return rest[0] === "addKey" ? addKey(req, app) : removeKey(req, app);
  }
  if (rest[0] === "owners") return owners(req, app, "applications", rest.slice(1));
  if (rest[0] === "federatedIdentityCredentials")
    return federatedIdentityCredentials(req, app, rest.slice(1));
  throw segmentNotFound(rest[0] ?? "");
}

export const methodNotAllowed = () =>
  new GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.");
export const segmentNotFound = (segment: string) =>
  new GraphError(400, "BadRequest", `Resource not found for the segment '${segment}'.`);

const malformed = () =>
  new GraphError(401, "Authentication_MissingOrMalformed", "Access Token missing or malformed.");

/**
 * addKey/removeKey: only the application itself (an app-only token for its own appId), with a proof
 * JWT signed by one of its current certificates (docs/graph-queries.md, "Key credentials").
 */
function checkSelfRotation(req: GraphRequest, app: ApplicationRecord, proof: unknown): void {
  const claims = req.caller.claims;
  if (req.caller.delegated) throw malformed();
  if (claims.appid.toLowerCase() !== app.appId) throw insufficientPrivileges();
  if (typeof proof !== "string" || !proof) throw insufficientPrivileges();
  const now = req.ctx.clock();
  const verified = verifyCertificateJwt(proof, app.keyCredentials, now);
  if (!verified.ok) throw malformed();
  const p = verified.jwt.payload;
  const nowS = Math.floor(now / 1000);
  const nbf = typeof p.nbf === "number" ? p.nbf : undefined;
  const exp = typeof p.exp === "number" ? p.exp : undefined;
  if (
    p.aud !== PROOF_AUDIENCE ||
    typeof p.iss !== "string" ||
    p.iss.toLowerCase() !== app.id ||
    nbf === undefined ||
    exp === undefined ||
    nbf > nowS + PROOF_SKEW_S ||
    exp <= nowS ||
    exp - nbf > PROOF_MAX_LIFETIME_S
  ) {
    throw malformed();
  }
}

async function addKey(req: GraphRequest, app: ApplicationRecord): Promise<GraphResult> {
  const body = await req.body();
  checkSelfRotation(req, app, body.proof);
  if (body.passwordCredential !== null && body.passwordCredential !== undefined) {
    throw badRequest("Password credentials are not supported for this application by the emulator's addKey.");
  }
  if (!body.keyCredential || typeof body.keyCredential !== "object") {
    throw badRequest("Invalid value specified for property 'keyCredential' of resource 'addKey'.");
  }
  const key = newKeyCredential(body.keyCredential as Record<string, unknown>, req.ctx.clock());
  if (app.keyCredentials.some((k) => k.key === key.key)) {
    throw badRequest("The certificate is already registered on the application.");
  }
  app.keyCredentials = [...app.keyCredentials, key];
  await req.ctx.store.commit();
  return ok({
    "@odata.context": metadata(req, "microsoft.graph.keyCredential"),
    ...keyCredentialJson(key, false),
  });
}

async function removeKey(req: GraphRequest, app: ApplicationRecord): Promise<GraphResult> {
  const body = await req.body();
  checkSelfRotation(req, app, body.proof);
  const keyId = typeof body.keyId === "string" ? body.keyId.toLowerCase() : "";
  if (!app.keyCredentials.some((k) => k.keyId === keyId)) throw notFound(keyId || "keyId");
  // Graph's reference is silent about removing the key that signed the proof: allowed.
  app.keyCredentials = app.keyCredentials.filter((k) => k.keyId !== keyId);
  await req.ctx.store.commit();
  return noContent();
}
