/**
 * A tiny fake VB365 REST server for wire tests, written from the JSON examples of docs/vb365.md (not
 * from the emulator): password/refresh grants, logout, v8 page envelopes (default limit 30, max
 * 10,000) or v7 plain arrays, RESTExceptionInfo errors. Every request is recorded byte for byte.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { opensslSelfSigned, tempDir } from "./cert-fixtures.js";

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export type Item = Record<string, unknown>;

export interface FakeData {
  organizations: Item[];
  repositories: Item[];
  /** organization id → usedRepositories items (v8 shape; v7 mode drops repositoryId and adds _links) */
  usedRepositories: Record<string, Item[]>;
  /** repository id → MailboxData items */
  mailboxData: Record<string, Item[]>;
  userData: Record<string, Item[]>;
  licensedUsers: Item[];
}

export interface FakeOptions {
  version?: "v8" | "v7";
  username?: string;
  password?: string;
  /** seconds */
  expiresIn?: number;
  /** status and body of a refused password grant */
  badCredentials?: { status: number; body: unknown };
  /** repository ids whose MailboxData answers 404 ResourceNotFound */
  mailboxDataMissing?: string[];
  /** repository ids whose MailboxData answers 403 ResourceAccessDenied */
  mailboxDataForbidden?: string[];
  now?: () => number;
  /** loopback address to listen on (default 127.0.0.1, the only address in the certificate) */
  host?: string;
}

export interface FakeVb365 {
  url: string;
  certPem: string;
  requests: RecordedRequest[];
  /** answer the next N token requests with 429 */
  throttleTokens: number;
  /** tokens issued so far (access tokens), and which are still valid */
  issued: string[];
  expireAll(): void;
  close(): Promise<void>;
}

let certCache: { certPem: string; keyPem: string } | undefined;
async function serverCert() {
  if (!certCache) {
    const dir = await tempDir("exo-cba-vb365-");
    opensslSelfSigned({
      keyOut: join(dir, "key.pem"),
      certOut: join(dir, "cert.pem"),
      subject: "/CN=vb365.test",
      newKey: "ec",
      extra: ["-pkeyopt", "ec_paramgen_curve:P-256", "-addext", "subjectAltName=IP:127.0.0.1"],
    });
    certCache = {
      certPem: readFileSync(join(dir, "cert.pem"), "utf8"),
      keyPem: readFileSync(join(dir, "key.pem"), "utf8"),
    };
  }
  return certCache;
}

export async function startFakeVb365(data: FakeData, options: FakeOptions = {}): Promise<FakeVb365> {
  const { certPem, keyPem } = await serverCert();
  const version = options.version ?? "v8";
  const username = options.username ?? "DOMAIN\\svc-report";
  const password = options.password ?? "P@ss w0rd&=x";
  const now = options.now ?? Date.now;
  const tokens = new Map<string, number>(); // access token → expiry (ms)
  const refreshTokens = new Set<string>();
  const state: FakeVb365 = {
    url: "",
    certPem,
    requests: [],
    throttleTokens: 0,
    issued: [],
    expireAll: () => {
      for (const k of tokens.keys()) tokens.set(k, 0);
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };

  const issue = () => {
    const access = `at-${randomUUID()}`;
    const refresh = `rt-${randomUUID()}`;
    const expiresIn = options.expiresIn ?? 3600;
    tokens.set(access, now() + expiresIn * 1000);
    refreshTokens.add(refresh);
    state.issued.push(access);
    const issued = new Date(now());
    return {
      access_token: access,
      refresh_token: refresh,
      token_type: "bearer",
      expires_in: expiresIn,
      userName: username,
      ".issued": issued.toISOString(),
      ".expires": new Date(now() + expiresIn * 1000).toISOString(),
    };
  };

  const page = (items: Item[], q: URLSearchParams) => {
    if (version === "v7") return items;
    const offset = Number(q.get("offset") ?? 0);
    const limit = Math.min(Number(q.get("limit") ?? 30), 10_000);
    return { offset, limit, results: items.slice(offset, offset + limit), _links: {} };
  };

  const server: Server = createServer({ cert: certPem, key: keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "https://x");
      const body = Buffer.concat(chunks).toString("utf8");
      state.requests.push({
        method: req.method ?? "",
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body,
      });
      const send = (status: number, json?: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { "content-type": "application/json", ...headers });
        res.end(json === undefined ? undefined : JSON.stringify(json));
      };
      const error = (status: number, message: string, errorCode: string | null = null) =>
        send(
          status,
          version === "v7"
            ? { message, errorCode: null, stackTrace: null }
            : { message, errorCode, stackTrace: null },
        );
      const prefix = `/${version}/`;
      if (!url.pathname.startsWith(prefix)) return error(404, "Not found");
      const path = url.pathname.slice(prefix.length - 1);
      if (req.method === "POST" && path === "/token") {
        if (state.throttleTokens > 0) {
          state.throttleTokens--;
          return send(429, { message: "Quota Exceeded" }, { "retry-after": "0" });
        }
        const form = new URLSearchParams(body);
        if (form.get("grant_type") === "password") {
          if (form.get("username") !== username || form.get("password") !== password) {
            const bad = options.badCredentials ?? {
              status: 400,
              body: { message: "Invalid user name or password.", errorCode: null, stackTrace: null },
            };
            return send(bad.status, bad.body);
          }
          return send(200, issue());
        }
        if (form.get("grant_type") === "refresh_token") {
          const rt = form.get("refresh_token") ?? "";
          if (!refreshTokens.delete(rt)) return error(400, "Invalid refresh token.");
          return send(200, issue());
        }
        return error(400, "Unsupported grant type.", "ParameterValidationFailure");
      }
      const auth = String(req.headers.authorization ?? "");
      const token = auth.startsWith("Bearer ") ? auth.slice(7) : "";
      const expiry = tokens.get(token);
      if (expiry === undefined || now() >= expiry)
        return error(401, "Authorization has been denied for this request.");
      if (req.method === "POST" && path === "/token/logout") {
        tokens.delete(token);
        res.writeHead(204);
        return res.end();
      }
      if (req.method !== "GET") return error(405, "Method not allowed.");
      const q = url.searchParams;
      const match = (re: RegExp) => path.match(re);
      let m = match(/^\/Organizations\/([^/]+)\/usedRepositories$/);
      if (path === "/Organizations") {
        const msid = version === "v8" ? q.get("msid") : null;
        return send(
          200,
          page(
            data.organizations.filter((o) => !msid || o.msid === msid),
            q,
          ),
        );
      }
      if (m) {
        const items = (data.usedRepositories[m[1]!] ?? []).map((u) => {
          if (version === "v8") return u;
          const { repositoryId, protectedObjectsCount: _p, ...rest } = u;
          return {
            ...rest,
            _links: { backupRepository: { href: `/v7/BackupRepositories/${repositoryId}` } },
          };
        });
        return send(200, page(items, q));
      }
      if (path === "/BackupRepositories") return send(200, page(data.repositories, q));
      m = match(/^\/BackupRepositories\/([^/]+)\/MailboxData$/);
      if (m) {
        if (options.mailboxDataMissing?.includes(m[1]!)) return error(404, "Not found.", "ResourceNotFound");
        if (options.mailboxDataForbidden?.includes(m[1]!)) {
          return error(403, "Access denied.", "ResourceAccessDenied");
        }
        const org = q.get("organizationId");
        const items = (data.mailboxData[m[1]!] ?? []).filter((i) => !org || i.organizationId === org);
        return send(200, {
          offset: Number(q.get("offset") ?? 0),
          limit: Math.min(Number(q.get("limit") ?? 30), 10_000),
          results: items.slice(
            Number(q.get("offset") ?? 0),
            Number(q.get("offset") ?? 0) + Math.min(Number(q.get("limit") ?? 30), 10_000),
          ),
        });
      }
      m = match(/^\/BackupRepositories\/([^/]+)\/UserData$/);
      if (m) {
        const items = data.userData[m[1]!] ?? [];
        const offset = Number(q.get("offset") ?? 0);
        const limit = Math.min(Number(q.get("limit") ?? 30), 10_000);
        return send(200, { offset, limit, results: items.slice(offset, offset + limit) });
      }
      if (path === "/LicensedUsers") {
        const org = q.get("organizationId");
        const items = data.licensedUsers.filter((i) => !org || i.organizationId === org);
        const offset = Number(q.get("offset") ?? 0);
        const limit = Math.min(Number(q.get("limit") ?? 30), 10_000);
        return send(200, { offset, limit, results: items.slice(offset, offset + limit) });
      }
      return error(404, `No resource ${path}.`, "ResourceNotFound");
    });
  });
  await new Promise<void>((r) => server.listen(0, options.host ?? "127.0.0.1", () => r()));
  state.url = `https://${options.host ?? "127.0.0.1"}:${(server.address() as AddressInfo).port}`;
  return state;
}

export const ORG_ID = "7b2b1e4f-0000-4000-8000-000000000001";
export const TENANT_ID = "a1b2c3d4-0000-4000-8000-0000000000aa";
export const REPO_ID = "459684e0-0000-4000-8000-000000000001";
export const REPO2_ID = "459684e0-0000-4000-8000-000000000002";

/** The reference's examples, with n protected mailboxes (and every 5th with its archive). */
export function sampleData(n = 3): FakeData {
  const mailboxes: Item[] = [];
  for (let i = 0; i < n; i++) {
    const email = `user${i}@contoso.onmicrosoft.com`;
    const base = {
      itemType: "Mailbox",
      repositoryId: REPO_ID,
      displayName: `User ${i}`,
      email,
      backedUpTime: "2025-01-01T02:00:00Z",
      organizationId: ORG_ID,
      backedUpOrganizationId: "bo-1",
    };
    mailboxes.push({ id: `m-${i}`, isArchive: false, ...base });
    if (i % 5 === 0)
      mailboxes.push({ id: `a-${i}`, isArchive: true, ...base, displayName: `In-Place Archive - User ${i}` });
  }
  return {
    organizations: [
      {
        id: "00000000-0000-4000-8000-00000000beef",
        name: "fabrikam.onmicrosoft.com",
        officeName: "fabrikam",
        type: "Office365",
        region: "Worldwide",
        isExchangeOnline: true,
        msid: "ffffffff-0000-4000-8000-000000000000",
        backedUpOrganizationId: "bo-2",
      },
      {
        id: ORG_ID,
        name: "contoso.onmicrosoft.com",
        officeName: "contoso",
        type: "Office365",
        region: "Worldwide",
        isExchangeOnline: true,
        msid: TENANT_ID,
        backedUpOrganizationId: "bo-1",
      },
    ],
    repositories: [
      {
        id: REPO_ID,
        name: "Object Repository 01",
        capacityBytes: null,
        freeSpaceBytes: null,
        isOutOfSync: false,
        objectStorage: { id: "os-1", type: "AmazonS3", usedSpaceBytes: 121332121 },
      },
      { id: REPO2_ID, name: "Local Repo", capacityBytes: 1e12, freeSpaceBytes: 5e11, isOutOfSync: false },
    ],
    usedRepositories: {
      [ORG_ID]: [
        {
          repositoryId: REPO_ID,
          usedSpaceBytes: 0,
          localCacheUsedSpaceBytes: 5242880,
          objectStorageUsedSpaceBytes: 121332121,
          isAvailable: true,
          details: "",
          protectedObjectsCount: 12,
        },
      ],
    },
    mailboxData: { [REPO_ID]: mailboxes },
    userData: { [REPO_ID]: [] },
    licensedUsers: [
      {
        id: "lu-1",
        name: "user0@contoso.onmicrosoft.com",
        isBackedUp: true,
        lastBackupDate: "2025-01-01T02:00:00Z",
        licenseState: "Licensed",
        organizationId: ORG_ID,
        organizationName: "contoso.onmicrosoft.com",
      },
      {
        id: "lu-2",
        name: "user1@contoso.onmicrosoft.com",
        isBackedUp: false,
        lastBackupDate: null,
        licenseState: "New",
        organizationId: ORG_ID,
        organizationName: "contoso.onmicrosoft.com",
      },
    ],
  };
}
