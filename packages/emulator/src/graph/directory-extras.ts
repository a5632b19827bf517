import { randomUUID } from "node:crypto";
import type {
  ApplicationRecord,
  FederatedIdentityCredentialRecord,
  ServicePrincipalRecord,
} from "../state.js";
import { authorize } from "./authz.js";
import { type GraphRequest, type GraphResult, metadata, noContent, ok } from "./context.js";
import { badRequest, GraphError, notFound } from "./errors.js";
import {
  applySelect,
  checkCount,
  type FilterSpec,
  isAdvancedQuery,
  matches,
  page,
  parseFilter,
} from "./odata.js";

/**
 * What applications and service principals share beyond their own properties (docs/emulator.md,
 * "Microsoft Graph"): collection listing with `$filter`/`$count`/`$select`/paging, `/owners` with
 * `$ref`, and an application's `/federatedIdentityCredentials`.
 */

type Row = Record<string, unknown>;

/**
 * GET of a collection: `$filter` per the resource's documented properties, `$count=true` (needs
 * `ConsistencyLevel: eventual`), the `/$count` segment (text/plain), `$select`, `$top` paging.
 */
export function listCollection(
  req: GraphRequest,
  all: Row[],
  spec: FilterSpec,
  resource: string,
  contextFragment: string,
  countSegment = false,
): GraphResult {
  const consistency = req.header("consistencylevel");
  if (countSegment && (consistency ?? "").trim().toLowerCase() !== "eventual") {
    throw new GraphError(400, "Request_BadRequest", "$count is not currently supported.");
  }
  const withCount = !countSegment && checkCount(consistency, req.url);
  const filter = parseFilter(
    req.url.searchParams.get("$filter"),
    spec,
    resource,
    isAdvancedQuery(consistency, req.url),
  );
  const rows = all.filter((r) => matches(r, filter));
  if (countSegment) return { status: 200, text: String(rows.length) };
  const select = req.url.searchParams.get("$select");
  const body = page(
    rows.map((r) => applySelect(r, select)),
    req.url,
    metadata(req, contextFragment),
  );
  return ok(withCount ? { "@odata.count": rows.length, ...body } : body);
}

type Owned = ApplicationRecord | ServicePrincipalRecord;

/** A user or service principal as a directoryObject, or undefined when no such object exists. */
function directoryObject(req: GraphRequest, id: string): Row | undefined {
  const t = req.caller.tenant;
  const user = t.users.find((u) => u.id === id);
  if (user) {
    return {
      "@odata.type": "#microsoft.graph.user",
      id: user.id,
      displayName: user.displayName,
      userPrincipalName: user.userPrincipalName,
      mail: user.userPrincipalName,
    };
  }
  const sp = t.servicePrincipals.find((s) => s.id === id);
  if (sp) {
    return {
      "@odata.type": "#microsoft.graph.servicePrincipal",
      id: sp.id,
      appId: sp.appId,
      displayName: sp.displayName,
    };
  }
  return undefined;
}

/**
 * `/owners`: GET the list; `POST /owners/$ref` with `{"@odata.id": ".../directoryObjects/{id}"}`;
 * `DELETE /owners/{id}/$ref`.
 */
export async function owners(
  req: GraphRequest,
  target: Owned,
  collection: "applications" | "servicePrincipals",
  rest: string[],
): Promise<GraphResult> {
  const { method, caller } = req;
  const list = target.owners ?? [];
  if (rest.length === 0 && method === "GET") {
    authorize(caller, "read");
    const rows = list.map((id) => directoryObject(req, id)).filter((r): r is Row => r !== undefined);
    return ok(page(rows, req.url, metadata(req, "directoryObjects")));
  }
  if (rest.length === 1 && rest[0] === "$ref" && method === "POST") {
    authorize(caller, "writeApplications");
    const ref = (await req.body())["@odata.id"];
    const id = typeof ref === "string" ? (ref.replace(/\/+$/, "").split("/").pop() ?? "").toLowerCase() : "";
    if (!id) throw badRequest("Invalid object identifier ''.");
    if (!directoryObject(req, id)) throw notFound(id);
    if (list.includes(id)) {
      throw badRequest(
        "One or more added object references already exist for the following modified properties: 'owners'.",
      );
    }
    target.owners = [...list, id];
    await req.ctx.store.commit();
    return noContent();
  }
  if (rest.length === 2 && rest[1] === "$ref" && method === "DELETE") {
    authorize(caller, "writeApplications");
    const id = (rest[0] ?? "").toLowerCase();
    if (!list.includes(id)) throw notFound(id);
    target.owners = list.filter((o) => o !== id);
    await req.ctx.store.commit();
    return noContent();
  }
  throw new GraphError(
    400,
    "BadRequest",
    `Resource not found for the segment '${rest[0] ?? "owners"}' of ${collection}.`,
  );
}

const FIC_MAX = 20;
const ficJson = (f: FederatedIdentityCredentialRecord) => ({
  id: f.id,
  name: f.name,
  issuer: f.issuer,
  subject: f.subject,
  audiences: f.audiences,
  description: f.description,
});

function validateFic(
  body: Record<string, unknown>,
  partial: boolean,
): Partial<FederatedIdentityCredentialRecord> {
  const out: Partial<FederatedIdentityCredentialRecord> = {};
  const str = (k: "name" | "issuer" | "subject") => {
    const v = body[k];
    if (v === undefined && partial) return;
    if (typeof v !== "string" || !v.trim()) {
      throw badRequest(
        `Invalid value specified for property '${k}' of resource 'FederatedIdentityCredential'.`,
      );
    }
    out[k] = v;
  };
  str("name");
  str("issuer");
  str("subject");
  if (
    out.name !== undefined &&
    (out.name.length > 120 || !/^[A-Za-z0-9_-][A-Za-z0-9 _.-]*$/.test(out.name))
  ) {
    throw badRequest(
      "Invalid value specified for property 'name' of resource 'FederatedIdentityCredential'.",
    );
  }
  if (out.issuer !== undefined && !/^https:\/\//i.test(out.issuer)) {
    throw badRequest(
      "Invalid value specified for property 'issuer' of resource 'FederatedIdentityCredential'.",
    );
  }
  if (body.audiences !== undefined || !partial) {
    const a = body.audiences;
    if (!Array.isArray(a) || a.length !== 1 || typeof a[0] !== "string" || !a[0]) {
      throw badRequest(
        "Invalid value specified for property 'audiences' of resource 'FederatedIdentityCredential'.",
      );
    }
    out.audiences = [a[0]];
  }
  if (body.description !== undefined) {
    out.description = typeof body.description === "string" ? body.description : null;
  }
  return out;
}

/** `/applications/{id}/federatedIdentityCredentials[/{id or name}]`: list, create, get, update, delete. */
export async function federatedIdentityCredentials(
  req: GraphRequest,
  app: ApplicationRecord,
  rest: string[],
): Promise<GraphResult> {
  const { method, caller } = req;
  const list = app.federatedIdentityCredentials ?? [];
  const context = `applications('${app.id}')/federatedIdentityCredentials`;
  if (rest.length === 0 && method === "GET") {
    authorize(caller, "read");
    const spec: FilterSpec = { name: ["eq", "in"], subject: ["eq", "in"], issuer: ["eq", "in"] };
    return listCollection(req, list.map(ficJson), spec, "FederatedIdentityCredential", context);
  }
  if (rest.length === 0 && method === "POST") {
    authorize(caller, "writeApplications");
    const fields = validateFic(await req.body(), false) as Omit<FederatedIdentityCredentialRecord, "id">;
    if (list.some((f) => f.name.toLowerCase() === fields.name.toLowerCase())) {
      throw new GraphError(
        409,
        "Request_MultipleObjectsWithSameKeyValue",
        `FederatedIdentityCredential with name ${fields.name} already exists.`,
      );
    }
    if (list.length >= FIC_MAX) {
      throw badRequest(`An application can have at most ${FIC_MAX} federated identity credentials.`);
    }
    const fic: FederatedIdentityCredentialRecord = {
      id: randomUUID(),
      ...fields,
      description: fields.description ?? null,
    };
    app.federatedIdentityCredentials = [...list, fic];
    await req.ctx.store.commit();
    return ok({ "@odata.context": metadata(req, `${context}/$entity`), ...ficJson(fic) }, 201);
  }
  if (rest.length === 1) {
    const key = (rest[0] ?? "").toLowerCase();
    const fic = list.find((f) => f.id === key || f.name.toLowerCase() === key);
    if (method === "GET") {
      authorize(caller, "read");
      if (!fic) throw notFound(rest[0] ?? "");
      return ok(
        applySelect(
          { "@odata.context": metadata(req, `${context}/$entity`), ...ficJson(fic) },
          req.url.searchParams.get("$select"),
        ),
      );
    }
    if (method === "PATCH" || method === "DELETE") {
      authorize(caller, "writeApplications");
      if (!fic) throw notFound(rest[0] ?? "");
      if (method === "DELETE") {
        app.federatedIdentityCredentials = list.filter((f) => f !== fic);
      } else {
        const fields = validateFic(await req.body(), true);
        if (fields.name !== undefined && fields.name !== fic.name) {
          throw badRequest("Property 'name' is read-only and cannot be changed.");
        }
        Object.assign(fic, fields);
      }
      await req.ctx.store.commit();
      return noContent();
    }
  }
  throw new GraphError(
    405,
    "Request_BadRequest",
    "Specified HTTP method is not allowed for the request target.",
  );
}
