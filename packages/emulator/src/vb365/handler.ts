import type { IncomingMessage, ServerResponse } from "node:http";
import { BodyTooLargeError, readBody, sendEmpty, sendJson } from "../server.js";
import { SessionStore, TokenThrottle } from "./auth.js";
import { LOCAL_CAPACITY_BYTES, type MailboxRow, type RepositoryInfo, type Vb365Dataset } from "./data.js";
import type { Vb365TokenThrottle } from "./types.js";

/**
 * The emulated Veeam Backup for Microsoft 365 REST API (docs/emulator-vb365.md): /v8 (and /v7) token,
 * organizations, repositories, per-organization usage, mailbox/user data and licensed users. Every
 * choice the product documentation leaves open is listed in that document.
 */

export interface Vb365HandlerDeps {
  /** 8 serves /v8 and /v7; 7 serves /v7 only */
  version: 7 | 8;
  username: string;
  password: string;
  /** the organizations, the emulator's tenant first; built on first use, so start-up does not pay for them */
  organizations(): readonly Vb365Dataset[];
  settings(): { tokenLifetimeSeconds: number; tokenThrottle?: Vb365TokenThrottle };
  onStat(kind: "tokenRequests" | "requests" | "throttled"): void;
  clock(): number;
}

type Api = 7 | 8;

export const MAX_LIMIT = 10_000;
export const DEFAULT_LIMIT = 30;
/** Header that carries the antiforgery token (the product does not document its name). */
export const ANTIFORGERY_HEADER = "x-antiforgery-token";
export const ANTIFORGERY_COOKIE = "VB365-Antiforgery";

class RestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errorCode: string | null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const notFound = (what: string) => new RestError(404, what, "ResourceNotFound");
const invalid = (what: string) => new RestError(400, what, "ParameterValidationFailure");
const denied = () => new RestError(401, "Authorization has been denied for this request.", null);

/** RESTExceptionInfo as each API version defines it: v7 knows only ProxyOffline and has no stackTrace. */
function exceptionBody(api: Api, e: RestError): Record<string, unknown> {
  if (api === 7)
    return { message: e.message, errorCode: e.errorCode === "ProxyOffline" ? e.errorCode : null };
  return { message: e.message, errorCode: e.errorCode, stackTrace: null };
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Query parameters by lower-case name (ASP.NET binds them case-insensitively). */
function queryOf(url: URL): Map<string, string> {
  const q = new Map<string, string>();
  for (const [k, v] of url.searchParams) q.set(k.toLowerCase(), v);
  return q;
}

function intParam(q: Map<string, string>, name: string, fallback: number, min: number, max: number): number {
  const raw = q.get(name.toLowerCase());
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!/^\s*-?\d+\s*$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw invalid(
      `The value '${raw}' is not valid for ${name}: expected a whole number from ${min} to ${max}.`,
    );
  }
  return n;
}

function boolParam(q: Map<string, string>, name: string): boolean | undefined {
  const raw = q.get(name.toLowerCase());
  if (raw === undefined || raw === "") return undefined;
  if (/^true$/i.test(raw)) return true;
  if (/^false$/i.test(raw)) return false;
  throw invalid(`The value '${raw}' is not valid for ${name}.`);
}

function guidParam(q: Map<string, string>, name: string): string | undefined {
  const raw = q.get(name.toLowerCase());
  if (raw === undefined || raw === "") return undefined;
  if (!GUID.test(raw)) throw invalid(`The value '${raw}' is not valid for ${name}.`);
  return raw.toLowerCase();
}

/** `*` and `?` wildcards, case-insensitive; without wildcards a substring ("keyword") match. */
export function nameMatcher(pattern: string | undefined): ((value: string) => boolean) | undefined {
  if (pattern === undefined || pattern === "") return undefined;
  const p = pattern.toLowerCase();
  if (!/[*?]/.test(p)) return (v) => v.toLowerCase().includes(p);
  const re = new RegExp(
    `^${p
      .split("")
      .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
      .join("")}$`,
    "s",
  );
  return (v) => re.test(v.toLowerCase());
}

interface Paging {
  offset: number;
  limit: number;
}

function pagingOf(q: Map<string, string>): Paging {
  return {
    limit: intParam(q, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
    offset: intParam(q, "offset", 0, 0, 2 ** 31 - 1),
  };
}

/**
 * A page envelope. `_links` (first/prev/self/next, relative hrefs keeping the other query
 * parameters) only when other pages exist, as the paging documentation describes.
 */
function pageOf(
  url: URL,
  paging: Paging,
  total: number,
  item: (i: number) => unknown,
): Record<string, unknown> {
  const { offset, limit } = paging;
  const end = Math.min(total, offset + limit);
  const results: unknown[] = [];
  for (let i = offset; i < end; i++) results.push(item(i));
  const body: Record<string, unknown> = { offset, limit, results };
  if (offset > 0 || end < total) {
    const href = (o: number) => {
      const u = new URL(url.href);
      for (const k of [...u.searchParams.keys()]) {
        if (/^(offset|limit)$/i.test(k)) u.searchParams.delete(k);
      }
      u.searchParams.set("offset", String(o));
      u.searchParams.set("limit", String(limit));
      return { href: `${u.pathname}${u.search}` };
    };
    const links: Record<string, { href: string }> = { first: href(0) };
    if (offset > 0) links.prev = href(Math.max(0, offset - limit));
    links.self = href(offset);
    if (end < total) links.next = href(end);
    body._links = links;
  }
  return body;
}

/** Form or JSON body of POST /token, as a flat string map. */
function parseTokenBody(req: IncomingMessage, text: string): Map<string, string> {
  const type = String(req.headers["content-type"] ?? "").toLowerCase();
  const out = new Map<string, string>();
  if (type.includes("json")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw invalid("The request body is not valid JSON.");
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
      throw invalid("The request body must be a JSON object.");
    for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
      if (v !== null && v !== undefined) out.set(k.toLowerCase(), String(v));
    }
    return out;
  }
  for (const [k, v] of new URLSearchParams(text)) out.set(k.toLowerCase(), v);
  return out;
}

function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  const m = typeof h === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
  return m?.[1];
}

export function createVb365Handler(
  deps: Vb365HandlerDeps,
): (req: IncomingMessage, res: ServerResponse) => void {
  const sessions = new SessionStore();
  const throttle = new TokenThrottle();
  const versions: Api[] = deps.version === 8 ? [7, 8] : [7];

  function linkTo(api: Api, path: string) {
    return { href: `/v${api}${path}` };
  }

  // ---- token endpoint ----
  async function token(api: Api, req: IncomingMessage, res: ServerResponse): Promise<void> {
    deps.onStat("tokenRequests");
    const now = deps.clock();
    const refused = throttle.admit(now, deps.settings().tokenThrottle);
    if (refused) {
      deps.onStat("throttled");
      throw new RestError(
        429,
        `Quota Exceeded: maximum admitted ${refused.limit} per ${refused.period}.`,
        null,
        {
          "retry-after": String(refused.retryAfterSeconds),
        },
      );
    }
    const form = parseTokenBody(req, await readBody(req));
    const grant = form.get("grant_type") || "password";
    const disableRaw = form.get("disable_antiforgery_token");
    const antiforgery = !(disableRaw !== undefined && /^true$/i.test(disableRaw));
    let userName: string;
    if (grant === "password") {
      const username = form.get("username") ?? "";
      const password = form.get("password") ?? "";
      if (!username || !password)
        throw invalid("The user name and password are required for the password grant.");
      if (username.toLowerCase() !== deps.username.toLowerCase() || password !== deps.password) {
        throw new RestError(400, "Invalid user name or password.", "ResourceAccessDenied");
      }
      userName = deps.username;
    } else if (grant === "refresh_token") {
      const given = form.get("refresh_token") ?? "";
      const session = given ? sessions.byRefreshToken(given, now) : undefined;
      if (!session)
        throw new RestError(400, "The refresh token is invalid or expired.", "ResourceAccessDenied");
      if (
        session.antiforgeryToken &&
        antiforgery &&
        req.headers[ANTIFORGERY_HEADER] !== session.antiforgeryToken
      ) {
        throw new RestError(400, "The antiforgery token is missing or invalid.", null);
      }
      // one-time use: the old pair stops working once the new one is issued
      sessions.close(session);
      userName = session.userName;
    } else if (
      grant === "urn:ietf:params:oauth:grant-type:jwt-bearer" ||
      grant === "operator" ||
      (api === 7 && grant === "integration")
    ) {
      throw invalid(`The grant type '${grant}' is not supported by the emulator.`);
    } else {
      throw invalid(`The grant type '${grant}' is not valid.`);
    }
    const lifetime = deps.settings().tokenLifetimeSeconds;
    const s = sessions.open(userName, now, lifetime, antiforgery);
    const headers: Record<string, string> = {};
    if (s.antiforgeryToken) {
      headers["set-cookie"] =
        `${ANTIFORGERY_COOKIE}=${s.antiforgeryToken}; Path=/; Secure; HttpOnly; SameSite=Strict`;
      headers[ANTIFORGERY_HEADER] = s.antiforgeryToken;
    }
    sendJson(
      res,
      200,
      {
        access_token: s.accessToken,
        refresh_token: s.refreshToken,
        token_type: "bearer",
        expires_in: lifetime,
        userName,
        ".issued": new Date(now).toISOString().replace(/\.\d{3}Z$/, "Z"),
        ".expires": new Date(s.accessExpiresMs).toISOString().replace(/\.\d{3}Z$/, "Z"),
      },
      headers,
    );
  }

  function authenticate(req: IncomingMessage) {
    const t = bearer(req);
    const session = t ? sessions.byAccessToken(t, deps.clock()) : undefined;
    if (!session) throw denied();
    if (session.antiforgeryToken && req.headers[ANTIFORGERY_HEADER] !== session.antiforgeryToken) {
      throw new RestError(400, "The antiforgery token is missing or invalid.", null);
    }
    return session;
  }

  // ---- resources ----
  function organizationJson(api: Api, d: Vb365Dataset, extended: boolean): Record<string, unknown> {
    const o = d.organization;
    const body: Record<string, unknown> = {
      id: o.id,
      name: o.name,
      officeName: o.officeName,
      description: "",
      type: "Office365",
      region: "Worldwide",
      isExchangeOnline: true,
      isSharePointOnline: true,
      isTeamsOnline: true,
      isTeamsChatsOnline: false,
      exchangeOnlineSettings: { officeOrganizationName: o.name, useApplicationOnlyAuth: true },
      sharePointOnlineSettings: { officeOrganizationName: o.name, useApplicationOnlyAuth: true },
    };
    if (api === 8) {
      body.msid = o.msid;
      body.backedUpOrganizationId = o.backedUpOrganizationId;
    }
    if (extended) {
      const ref = d.parameters.referenceMs;
      body.isBackedup = true;
      body.firstBackuptime = new Date(ref - 400 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, "Z");
      body.lastBackuptime = new Date(ref - 3_600_000).toISOString().replace(/\.\d{3}Z$/, "Z");
    }
    body._links = {
      self: linkTo(api, `/Organizations/${o.id}`),
      usedRepositories: linkTo(api, `/Organizations/${o.id}/usedRepositories`),
      licensingInformation: linkTo(api, `/Organizations/${o.id}/LicensingInformation`),
    };
    return body;
  }

  /** A repository's figures over every organization on it. */
  function repositoryTotals(orgs: readonly Vb365Dataset[], r: number) {
    let used = 0;
    let object = 0;
    for (const o of orgs) {
      const u = o.usage(r);
      used += u.usedSpaceBytes;
      object += u.objectStorageUsedSpaceBytes ?? 0;
    }
    return { used, object };
  }

  function repositoryJson(api: Api, orgs: readonly Vb365Dataset[], r: number): Record<string, unknown> {
    const d = orgs[0]!;
    const repo = d.repositories[r]!;
    const totals = repositoryTotals(orgs, r);
    const local = repo.kind === "local";
    const capacity = LOCAL_CAPACITY_BYTES;
    const body: Record<string, unknown> = {
      id: repo.id,
      name: repo.name,
      description: repo.description,
      path: repo.path,
      capacityBytes: local ? capacity : null,
      freeSpaceBytes: local ? capacity - totals.used : null,
      retentionType: "ItemLevel",
      retentionPeriodType: "Yearly",
      yearlyRetentionPeriod: "Years3",
      retentionFrequencyType: "Daily",
      dailyTime: "02:00:00",
      dailyType: "Everyday",
      proxyId: d.organization.proxyId,
      isLongTerm: repo.isLongTerm,
      isOutOfSync: false,
      objectStorageEncryptionEnabled: false,
      encryptionKeyId: null,
    };
    if (api === 8) {
      Object.assign(body, {
        proxyPoolId: null,
        organizationId: null,
        isOutdated: false,
        isIndexed: true,
        isMigrationLocked: false,
        isOutOfOrder: false,
        outOfOrderReason: null,
      });
      if (repo.objectStorage) {
        body.objectStorage = {
          id: repo.objectStorage.id,
          type: repo.objectStorage.type,
          name: repo.objectStorage.name,
          usedSpaceBytes: totals.object,
          sizeLimitEnabled: false,
          sizeLimitGB: null,
        };
      }
    } else {
      body.objectStorageId = repo.objectStorage?.id ?? null;
      body.objectStorageCachePath = repo.objectStorage ? repo.path : null;
    }
    body._links = { self: linkTo(api, `/BackupRepositories/${repo.id}`) };
    return body;
  }

  function usedRepositoryJson(api: Api, d: Vb365Dataset, r: number): Record<string, unknown> {
    const repo = d.repositories[r]!;
    const u = d.usage(r);
    const body: Record<string, unknown> = {};
    if (api === 8) body.repositoryId = repo.id;
    Object.assign(body, {
      usedSpaceBytes: u.usedSpaceBytes,
      localCacheUsedSpaceBytes: u.localCacheUsedSpaceBytes,
      objectStorageUsedSpaceBytes: u.objectStorageUsedSpaceBytes,
      isAvailable: true,
      details: "",
    });
    if (api === 8) body.protectedObjectsCount = u.protectedObjectsCount;
    body._links = {
      backupRepository: linkTo(api, `/BackupRepositories/${repo.id}`),
      organization: linkTo(api, `/Organizations/${d.organization.id}`),
    };
    return body;
  }

  function mailboxJson(api: Api, d: Vb365Dataset, row: MailboxRow): Record<string, unknown> {
    const body: Record<string, unknown> = { id: row.id };
    if (api === 7) body.isDeleted = row.orphan;
    body.itemType = "Mailbox";
    body.repositoryId = row.repositoryId;
    if (api === 7) body.proxyId = d.organization.proxyId;
    Object.assign(body, {
      isArchive: row.isArchive,
      displayName: row.displayName,
      email: row.email,
      backedUpTime: row.backedUpTime,
      organizationId: d.organization.id,
      backedUpOrganizationId: d.organization.backedUpOrganizationId,
      _links: {
        backupRepository: linkTo(api, `/BackupRepositories/${row.repositoryId}`),
        organization: linkTo(api, `/Organizations/${d.organization.id}`),
      },
    });
    return body;
  }

  function repositoryIndex(d: Vb365Dataset, id: string): number {
    const r = d.repositories.findIndex((repo) => repo.id === id.toLowerCase());
    if (r < 0) throw notFound(`Backup repository with ID '${id}' was not found.`);
    return r;
  }

  /** Items of several organizations one after another, as one collection (index → item). */
  function concat(parts: Array<{ count: number; item: (i: number) => unknown }>) {
    const total = parts.reduce((n, p) => n + p.count, 0);
    return {
      total,
      item(i: number): unknown {
        let k = i;
        for (const p of parts) {
          if (k < p.count) return p.item(k);
          k -= p.count;
        }
        return undefined;
      },
    };
  }

  function findOrganization(orgs: readonly Vb365Dataset[], id: string): Vb365Dataset {
    const d = orgs.find((o) => o.organization.id === id.toLowerCase());
    if (!d) throw notFound(`Organization with ID '${id}' was not found.`);
    return d;
  }

  /** The organizations an optional `organizationId` query parameter selects (404 when unknown). */
  function selectOrganizations(
    orgs: readonly Vb365Dataset[],
    q: Map<string, string>,
  ): readonly Vb365Dataset[] {
    const organizationId = guidParam(q, "organizationId");
    return organizationId === undefined ? orgs : [findOrganization(orgs, organizationId)];
  }

  function get(api: Api, segments: string[], url: URL, res: ServerResponse): void {
    const orgs = deps.organizations();
    const main = orgs[0]!;
    const repositories = main.repositories;
    const q = queryOf(url);
    const [head, id, sub, ...rest] = segments.map((s) => decodeURIComponent(s));
    const h = head?.toLowerCase();
    const s = sub?.toLowerCase();
    if (rest.length > 0) throw notFound("The requested resource was not found.");

    if (h === "organizations" && id === undefined) {
      const extended = boolParam(q, "extendedView") ?? false;
      if (api === 7) {
        sendJson(
          res,
          200,
          orgs.map((d) => organizationJson(api, d, extended)),
        );
        return;
      }
      const msid = guidParam(q, "msid");
      const backedUp = q.get("backedUpOrganizationId".toLowerCase());
      const paging = pagingOf(q);
      const list = orgs.filter(
        (d) =>
          (msid === undefined || msid === d.organization.msid.toLowerCase()) &&
          (backedUp === undefined ||
            backedUp === "" ||
            backedUp.toLowerCase() === d.organization.backedUpOrganizationId),
      );
      sendJson(
        res,
        200,
        pageOf(url, paging, list.length, (i) => organizationJson(api, list[i]!, extended)),
      );
      return;
    }
    if (h === "organizations" && id !== undefined) {
      const d = findOrganization(orgs, id);
      if (s === undefined) {
        sendJson(res, 200, organizationJson(api, d, boolParam(q, "extendedView") ?? false));
        return;
      }
      if (s === "usedrepositories") {
        const paging = pagingOf(q);
        const used = repositories.map((r, i) => (r.usedByOrganization ? i : -1)).filter((i) => i >= 0);
        sendJson(
          res,
          200,
          pageOf(url, paging, used.length, (i) => usedRepositoryJson(api, d, used[i]!)),
        );
        return;
      }
      if (s === "licensinginformation") {
        const states = d.licenseStates();
        // the schema: licensedUsers counts licensed users and those over the limit; New ones apart
        sendJson(res, 200, {
          licensedUsers: states.Licensed + states.TemporarilyAssigned + states.Exceeded,
          newUsers: states.New,
        });
        return;
      }
      throw notFound("The requested resource was not found.");
    }
    if (h === "backuprepositories" && id === undefined) {
      const all = repositories.map((_, i) => i);
      const longTerm = boolParam(q, "longTerm");
      const proxyId = guidParam(q, "proxyId");
      if (api === 7) {
        const list = all.filter(
          (i) =>
            (longTerm === undefined || repositories[i]!.isLongTerm === longTerm) &&
            (proxyId === undefined || proxyId === main.organization.proxyId),
        );
        sendJson(
          res,
          200,
          list.map((i) => repositoryJson(api, orgs, i)),
        );
        return;
      }
      const organizationId = guidParam(q, "organizationId");
      guidParam(q, "proxyPoolId");
      const paging = pagingOf(q);
      const list = all.filter((i) => {
        const repo = repositories[i]!;
        if (longTerm !== undefined && repo.isLongTerm !== longTerm) return false;
        if (proxyId !== undefined && proxyId !== main.organization.proxyId) return false;
        // organizationId is the owner of an organization-bound repository; ours are all shared
        if (organizationId !== undefined) return false;
        return true;
      });
      sendJson(
        res,
        200,
        pageOf(url, paging, list.length, (i) => repositoryJson(api, orgs, list[i]!)),
      );
      return;
    }
    if (h === "backuprepositories" && id !== undefined) {
      const r = repositoryIndex(main, id);
      const repo = repositories[r]!;
      if (s === undefined) {
        sendJson(res, 200, repositoryJson(api, orgs, r));
        return;
      }
      if (s === "mailboxdata") {
        const selected = selectOrganizations(orgs, q);
        const pit = q.get("pointintime");
        if (pit && Number.isNaN(Date.parse(pit)))
          throw invalid(`The value '${pit}' is not valid for pointInTime.`);
        const paging = pagingOf(q);
        const match = nameMatcher(q.get("filter"));
        if (!match) {
          const all = concat(
            selected.map((d) => {
              const codes = d.rows(r);
              return { count: codes.length, item: (i: number) => mailboxJson(api, d, d.row(codes[i]!)) };
            }),
          );
          sendJson(res, 200, pageOf(url, paging, all.total, all.item));
          return;
        }
        const hits: Array<[Vb365Dataset, MailboxRow]> = [];
        for (const d of selected) {
          for (const code of d.rows(r)) {
            const row = d.row(code);
            if (match(row.displayName)) hits.push([d, row]);
          }
        }
        sendJson(
          res,
          200,
          pageOf(url, paging, hits.length, (i) => mailboxJson(api, hits[i]![0], hits[i]![1])),
        );
        return;
      }
      if (s === "userdata") {
        const paging = pagingOf(q);
        const all = concat(
          orgs.map((d, k) => {
            const codes = d.rows(r);
            const primaries = primaryCodes(`${k}:${r}`, codes);
            return {
              count: primaries.length,
              item: (i: number) => userJson(api, d, repo, codes, primaries[i]!),
            };
          }),
        );
        sendJson(res, 200, pageOf(url, paging, all.total, all.item));
        return;
      }
      if (s === "backeduporganizations") {
        const paging = pagingOf(q);
        const list = repo.usedByOrganization ? orgs : [];
        sendJson(
          res,
          200,
          pageOf(url, paging, list.length, (i) => {
            const d = list[i]!;
            const u = d.usage(r);
            return {
              name: d.organization.name,
              id: d.organization.backedUpOrganizationId,
              usedSpaceBytes: u.usedSpaceBytes,
              localCacheUsedSpaceBytes: u.localCacheUsedSpaceBytes,
              objectStorageUsedSpaceBytes: u.objectStorageUsedSpaceBytes,
            };
          }),
        );
        return;
      }
      if (s === "organizationdata") {
        const paging = pagingOf(q);
        const list = repo.usedByOrganization ? orgs : [];
        sendJson(
          res,
          200,
          pageOf(url, paging, list.length, (i) => {
            const d = list[i]!;
            return {
              displayName: d.organization.name,
              organizationId: d.organization.id,
              backedUpOrganizationId: d.organization.backedUpOrganizationId,
              ...(api === 8 ? { msid: d.organization.msid } : {}),
              _links: {
                organization: linkTo(api, `/Organizations/${d.organization.id}`),
                backupRepository: linkTo(api, `/BackupRepositories/${repo.id}`),
              },
            };
          }),
        );
        return;
      }
      throw notFound("The requested resource was not found.");
    }
    if (h === "licensedusers" && id === undefined) {
      const organizationId = guidParam(q, "organizationId");
      const backedUp = api === 8 ? q.get("backedUpOrganizationId".toLowerCase()) : undefined;
      const match = nameMatcher(q.get("name"));
      const paging = pagingOf(q);
      const selected = orgs.filter(
        (d) =>
          (organizationId === undefined || organizationId === d.organization.id) &&
          (backedUp === undefined ||
            backedUp === "" ||
            backedUp.toLowerCase() === d.organization.backedUpOrganizationId),
      );
      const json = (d: Vb365Dataset, code: number) => {
        const u = d.licensedUser(code);
        const o = d.organization;
        return {
          id: u.id,
          name: u.name,
          isBackedUp: true,
          lastBackupDate: u.lastBackupDate,
          licenseState: u.licenseState,
          organizationId: o.id,
          backedUpOrganizationId: o.backedUpOrganizationId,
          organizationName: o.name,
          _links: { organization: linkTo(api, `/Organizations/${o.id}`) },
        };
      };
      if (!match) {
        const all = concat(
          selected.map((d) => {
            const codes = d.licensedUsers();
            return { count: codes.length, item: (i: number) => json(d, codes[i]!) };
          }),
        );
        sendJson(res, 200, pageOf(url, paging, all.total, all.item));
        return;
      }
      const hits: Array<[Vb365Dataset, number]> = [];
      for (const d of selected) {
        for (const code of d.licensedUsers()) if (match(d.licensedUser(code).name)) hits.push([d, code]);
      }
      sendJson(
        res,
        200,
        pageOf(url, paging, hits.length, (i) => json(hits[i]![0], hits[i]![1])),
      );
      return;
    }
    throw notFound("The requested resource was not found.");
  }

  // UserData: one row per backed-up account (its primary-mailbox row), with the archive as a flag.
  const primaryCache = new Map<string, Int32Array>();
  function primaryCodes(key: string, codes: Int32Array): Int32Array {
    let p = primaryCache.get(key);
    if (!p) {
      const positions: number[] = [];
      codes.forEach((code, i) => {
        if ((code & 1) === 0) positions.push(i);
      });
      p = Int32Array.from(positions);
      primaryCache.set(key, p);
    }
    return p;
  }

  function userJson(api: Api, d: Vb365Dataset, repo: RepositoryInfo, codes: Int32Array, position: number) {
    const row = d.row(codes[position]!);
    const next = codes[position + 1];
    const archive = next !== undefined && next === codes[position]! + 1 ? d.row(next) : undefined;
    const oneDrive = repo.otherWorkloads && row.accountType === "User";
    const alias = row.email.split("@")[0] ?? "";
    const o = d.organization;
    const body: Record<string, unknown> = {};
    if (api === 7) {
      body.isDeleted = row.orphan;
      body.proxyId = o.proxyId;
    }
    Object.assign(body, {
      itemType: "User",
      repositoryId: repo.id,
      id: `${o.backedUpOrganizationId}:${row.accountId}`,
      accountId: row.accountId,
      displayName: row.displayName,
      email: row.email,
      accountType: row.accountType,
      isMailboxBackedUp: true,
      mailboxBackedUpTime: row.backedUpTime,
      isArchiveBackedUp: archive !== undefined,
      archiveBackedUpTime: archive?.backedUpTime ?? null,
      archiveName: archive?.displayName ?? "",
      isOneDriveBackedUp: oneDrive,
      oneDriveBackedUpTime: oneDrive ? row.backedUpTime : null,
      oneDriveUrl: oneDrive
        ? [`https://${o.officeName}-my.sharepoint.com/personal/${alias}_${o.name.replace(/\./g, "_")}`]
        : [],
      isPersonalSiteBackedUp: false,
      personalSiteBackedUpTime: null,
      personalSiteUrl: [],
      organizationId: o.id,
      backedUpOrganizationId: o.backedUpOrganizationId,
      _links: {
        backupRepository: linkTo(api, `/BackupRepositories/${repo.id}`),
        organization: linkTo(api, `/Organizations/${o.id}`),
      },
    });
    return body;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<Api> {
    const url = new URL(req.url ?? "/", "https://vb365.invalid");
    const parts = url.pathname.split("/").filter((p) => p !== "");
    const versionMatch = /^v(\d+)$/i.exec(parts[0] ?? "");
    const api = Number(versionMatch?.[1]) as Api;
    if (!versionMatch || !versions.includes(api)) {
      throw notFound("The requested resource was not found.");
    }
    const rest = parts.slice(1);
    const first = rest[0]?.toLowerCase();
    if (first === "token") {
      if (req.method !== "POST")
        throw new RestError(405, "The requested resource does not support this method.", null);
      if (rest.length === 1) {
        await token(api, req, res);
        return api;
      }
      if (rest.length === 2 && rest[1]!.toLowerCase() === "logout") {
        const session = authenticate(req);
        sessions.close(session);
        // v8 unified POST success codes (204 here); v7 declared 200 without a body
        sendEmpty(res, api === 8 ? 204 : 200);
        return api;
      }
      throw notFound("The requested resource was not found.");
    }
    authenticate(req);
    if (req.method !== "GET")
      throw new RestError(405, "The requested resource does not support this method.", null);
    get(api, rest, url, res);
    return api;
  }

  return (req, res) => {
    deps.onStat("requests");
    const version = /^\/v(\d+)\//i.exec(req.url ?? "")?.[1];
    const api: Api = version === "7" ? 7 : 8;
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const e =
        error instanceof RestError
          ? error
          : error instanceof BodyTooLargeError
            ? new RestError(413, "The request body is too large.", null)
            : new RestError(500, "An unexpected error occurred.", null);
      sendJson(res, e.status, exceptionBody(api, e), e.headers);
    });
  };
}
