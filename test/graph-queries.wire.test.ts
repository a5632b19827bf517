import type { RunningEmulator } from "@exo-cba/emulator";
import { startEmulator } from "@exo-cba/emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDoctor } from "../src/diagnostics/doctor.js";
import { type HttpRequest, type HttpResponse, HttpTransport } from "../src/http/transport.js";
import { rotateCertificate } from "../src/lifecycle/rotate.js";
import { doctorDeps, rotationDeps } from "../src/session/wiring.js";
import { teardownExchangeApp } from "../src/setup/teardown.js";
import { provisionedHome, resolvedProfile } from "./helpers/ops-emulator.js";

/**
 * The exact Graph requests setup, doctor, rotation and teardown put on the wire, recorded in the HTTPS
 * transport (what leaves the client, whatever the emulator thinks of it) and checked against what Graph
 * documents (docs/graph-queries.md): `$filter` only on properties Graph documents as filterable for that
 * collection, `$select` only of real properties, no advanced-query features, no unexpected headers.
 */
class RecordingTransport extends HttpTransport {
  readonly sent: Array<{ method: string; url: URL; headers: Record<string, string> }> = [];
  override request(req: HttpRequest): Promise<HttpResponse> {
    const url = typeof req.url === "string" ? new URL(req.url) : req.url;
    this.sent.push({ method: req.method, url, headers: { ...req.headers } });
    return super.request(req);
  }
}

/** Documented `$filter` properties per collection (docs/graph-queries.md, with the source of each). */
const FILTERABLE: Record<string, string[]> = {
  "/v1.0/applications": ["appId", "displayName"],
  "/v1.0/servicePrincipals": ["appId", "displayName"],
  "/v1.0/roleManagement/directory/roleAssignments": ["principalId", "roleDefinitionId", "directoryScopeId"],
};
/** Properties of each resource type that a `$select` may name. */
const SELECTABLE: Record<string, string[]> = {
  application: ["id", "appId", "displayName", "uniqueName", "requiredResourceAccess", "keyCredentials"],
  servicePrincipal: ["id", "appId", "displayName", "appRoles"],
  organization: ["id", "displayName", "verifiedDomains"],
};
const ALLOWED_HEADERS = new Set(["authorization", "accept", "content-type", "prefer"]);

const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
/** `GET /v1.0/applications(uniqueName='{key}')?$select=…` with ids and keys replaced, for exact comparison. */
function shape(r: { method: string; url: URL }): string {
  const path = decodeURIComponent(r.url.pathname)
    .replace(/\(uniqueName='[^']*'\)/, "(uniqueName='{name}')")
    .replace(GUID, "{id}")
    .replace(/roleAssignments\/[^/]+$/, "roleAssignments/{id}")
    .replace(/appRoleAssignments\/[^/]+$/, "appRoleAssignments/{id}");
  const query = [...r.url.searchParams.entries()]
    .map(([k, v]) => `${k}=${v.replace(GUID, "{id}")}`)
    .join("&");
  return `${r.method} ${path}${query ? `?${query}` : ""}`;
}

function resourceOf(path: string): string | undefined {
  if (/^\/v1\.0\/applications(\/[^/]+|\([^)]*\))?$/.test(path)) return "application";
  if (/^\/v1\.0\/servicePrincipals(\/[^/]+|\([^)]*\))?$/.test(path)) return "servicePrincipal";
  if (path === "/v1.0/organization") return "organization";
  return undefined;
}

/** Every problem with one request, in words; empty when it is all documented. */
function undocumented(r: { method: string; url: URL; headers: Record<string, string> }): string[] {
  const problems: string[] = [];
  const path = decodeURIComponent(r.url.pathname);
  for (const [name, value] of r.url.searchParams) {
    if (name === "$filter") {
      const allowed = FILTERABLE[path];
      if (!allowed) {
        problems.push(`$filter on ${path}`);
        continue;
      }
      for (const clause of value.split(/\s+and\s+/)) {
        const m = /^(\w+) eq '(?:[^']|'')*'$/.exec(clause.trim());
        if (!m) problems.push(`$filter clause '${clause}'`);
        else if (!allowed.includes(m[1] ?? "")) problems.push(`$filter on ${m[1]} of ${path}`);
      }
    } else if (name === "$select") {
      const resource = resourceOf(path);
      const allowed = resource ? SELECTABLE[resource] : undefined;
      for (const prop of value.split(",")) {
        if (!allowed?.includes(prop)) problems.push(`$select=${prop} on ${path}`);
      }
    } else {
      problems.push(`query option ${name}`);
    }
  }
  for (const header of Object.keys(r.headers)) {
    const h = header.toLowerCase();
    if (!ALLOWED_HEADERS.has(h)) problems.push(`header ${header}`);
    if (h === "prefer" && !(r.method === "PATCH" && /\(uniqueName='/.test(path))) {
      problems.push(`Prefer on ${r.method} ${path}`);
    }
  }
  return problems;
}

let emu: RunningEmulator;
let transport: RecordingTransport;

beforeAll(async () => {
  emu = await startEmulator({ mailboxes: 2 });
  transport = new RecordingTransport({ caPem: [emu.caPem] });
});
afterAll(async () => {
  transport?.close();
  await emu?.close();
});

const graphRequests = () => transport.sent.filter((r) => r.url.origin === new URL(emu.graphEndpoint).origin);

describe("Graph requests on the wire", () => {
  it("setup, doctor, rotation and teardown send only documented Graph queries", async () => {
    const start = transport.sent.length;
    const { env } = await provisionedHome(emu, transport, "wire");
    const setupRequests = graphRequests().filter((r) => transport.sent.indexOf(r) >= start);
    const setupShapes = setupRequests.map(shape);

    // Setup reads its app by the documented alternate key, never with `$filter` on uniqueName.
    expect(setupShapes).toContain(
      "GET /v1.0/applications(uniqueName='{name}')?$select=id,appId,displayName,uniqueName,requiredResourceAccess",
    );
    expect(setupShapes).toContain("PATCH /v1.0/applications(uniqueName='{name}')");
    expect(setupRequests.some((r) => (r.url.searchParams.get("$filter") ?? "").includes("uniqueName"))).toBe(
      false,
    );
    // The upsert carries the documented Prefer header.
    const upsert = setupRequests.find((r) => r.method === "PATCH" && r.url.pathname.includes("uniqueName"));
    expect(upsert?.headers.prefer).toBe("create-if-missing");

    const adminEnv = { ...env, EXO_ADMIN_ACCESS_TOKEN: emu.issueAdminToken() };
    const checks = await runDoctor(
      doctorDeps(await resolvedProfile(adminEnv, "wire"), { env: adminEnv, transport }),
    );
    expect(checks.filter((c) => c.status === "fail")).toEqual([]);
    await rotateCertificate(
      await rotationDeps(await resolvedProfile(adminEnv, "wire"), { env: adminEnv, transport }),
    );
    const down = await teardownExchangeApp({
      home: env.EXO_CBA_HOME as string,
      env,
      transport,
      signIn: { accessToken: emu.issueAdminToken() },
    });
    expect(down.status).toBe("removed");

    const all = graphRequests().filter((r) => transport.sent.indexOf(r) >= start);
    const shapes = new Set(all.map(shape));
    // Every kind of request the four commands make, exactly (ids and names replaced).
    expect([...shapes].sort()).toEqual(
      [
        "DELETE /v1.0/applications/{id}",
        "DELETE /v1.0/roleManagement/directory/roleAssignments/{id}",
        "DELETE /v1.0/servicePrincipals/{id}",
        "DELETE /v1.0/servicePrincipals/{id}/appRoleAssignments/{id}",
        "GET /v1.0/applications(appId='{id}')?$select=id,appId,displayName,uniqueName,requiredResourceAccess",
        "GET /v1.0/applications(uniqueName='{name}')?$select=id,appId,displayName,uniqueName,requiredResourceAccess",
        "GET /v1.0/applications/{id}?$select=id,keyCredentials",
        "GET /v1.0/roleManagement/directory/roleAssignments?$filter=principalId eq '{id}'",
        "GET /v1.0/servicePrincipals/{id}/appRoleAssignments",
        "GET /v1.0/servicePrincipals?$filter=appId eq '{id}'&$select=id,appId,displayName,appRoles",
        "PATCH /v1.0/applications(uniqueName='{name}')",
        "PATCH /v1.0/applications/{id}",
        "POST /v1.0/roleManagement/directory/roleAssignments",
        "POST /v1.0/servicePrincipals",
        "POST /v1.0/servicePrincipals/{id}/appRoleAssignedTo",
      ].sort(),
    );
    const problems = all.flatMap((r) => undocumented(r).map((p) => `${shape(r)}: ${p}`));
    expect(problems).toEqual([]);
  });

  it("the checker itself flags an undocumented filter, an advanced query and a stray header", () => {
    const req = (url: string, headers: Record<string, string> = {}) => ({
      method: "GET",
      url: new URL(url),
      headers,
    });
    expect(undocumented(req("https://g/v1.0/applications?$filter=uniqueName eq 'x'"))).toEqual([
      "$filter on uniqueName of /v1.0/applications",
    ]);
    expect(
      undocumented(req("https://g/v1.0/applications?$count=true", { ConsistencyLevel: "eventual" })),
    ).toEqual(["query option $count", "header ConsistencyLevel"]);
    expect(
      undocumented(req("https://g/v1.0/servicePrincipals?$filter=appId eq 'a'&$select=id,appId")),
    ).toEqual([]);
  });
});
