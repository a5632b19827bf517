/**
 * What the usage report needs from VB365 for one Microsoft 365 organization (docs/vb365.md):
 * the organization, the repositories it uses with their usage, the protected mailboxes and archives
 * on them, and the licensed users. Every listing is paged to the end; every filter the server may or
 * may not apply is applied again on our side, so the numbers are right under both answers.
 */
import { ServerError, UsageError } from "../errors.js";
import type { Vb365Client } from "./client.js";

export interface Vb365Organization {
  id: string;
  name: string;
  officeName: string | null;
  msid: string | null;
  backedUpOrganizationId: string | null;
}

export interface Vb365RepositoryUsage {
  id: string;
  name: string;
  usedSpaceBytes: number;
  localCacheUsedSpaceBytes: number;
  objectStorageUsedSpaceBytes: number;
  /** null when the server did not say */
  isAvailable: boolean | null;
  /** v8 only */
  protectedObjectsCount: number | null;
  /** e.g. AmazonS3; null for a local (JET) repository or when not reported */
  objectStorageType: string | null;
  /** the organization has no usage entry for this (named) repository */
  unused: boolean;
}

/** Protection of one mailbox address on one repository. */
export interface ProtectedEntry {
  /** lower-case e-mail address: the join key with Exchange */
  email: string;
  displayName: string;
  primary: boolean;
  archive: boolean;
  /** newest backup time of the primary mailbox, ISO, or null */
  primaryBackedUp: string | null;
  archiveBackedUp: string | null;
}

export interface RepositoryProtection {
  repositoryId: string;
  /** where the list came from */
  source: "MailboxData" | "UserData";
  /** keyed by lower-case e-mail */
  entries: Map<string, ProtectedEntry>;
  /** MailboxData primary items (isArchive false), as the script counts them */
  primaryItems: number;
  archiveItems: number;
  /** OneDrive / personal site / other item types seen for the organization; null when unknown */
  otherWorkloads: boolean | null;
}

export interface LicensedUsers {
  total: number;
  byState: Record<string, number>;
  /** users the server says were processed by a backup job */
  backedUp: number;
}

export interface BackupSnapshot {
  server: string;
  apiVersion: string;
  organization: Vb365Organization;
  repositories: Vb365RepositoryUsage[];
  protection: RepositoryProtection[];
  licensedUsers: LicensedUsers | null;
  warnings: string[];
  /** ISO time the snapshot was read */
  readAt: string;
}

const str = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);
/** Nullable int64 sizes: null (or anything not a number) counts as 0 (docs/vb365.md). */
const bytes = (v: unknown): number => {
  const n = typeof v === "string" ? Number(v) : v;
  return typeof n === "number" && Number.isFinite(n) && n > 0 ? n : 0;
};
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const same = (a: string | null | undefined, b: string | null | undefined) =>
  !!a && !!b && a.toLowerCase() === b.toLowerCase();

function organizationOf(item: Record<string, unknown>): Vb365Organization | null {
  const id = str(item.id);
  if (!id) return null;
  const settings = item.exchangeOnlineSettings as Record<string, unknown> | undefined;
  return {
    id,
    name: str(item.name) ?? id,
    officeName: str(item.officeName) ?? str(settings?.officeOrganizationName),
    msid: str(item.msid),
    backedUpOrganizationId: str(item.backedUpOrganizationId),
  };
}

/** MailboxData item types that are not mailboxes (the enum is shared with other workloads). */
const OTHER_ITEM_TYPES = new Set(["OneDrive", "Site", "Team"]);

const isV8 = (client: Vb365Client) => client.apiVersion === "v8";

/**
 * Which VB365 organization: by default the one whose `msid` is the Exchange tenant id (or, without a
 * tenant id, whose name is the tenant's *.onmicrosoft.com name); with --vb365-organization, by id,
 * msid or name (exact, else case-insensitive). Not found: ServerError (exit 5) listing what exists.
 */
export async function findOrganization(
  client: Vb365Client,
  wanted: { organization?: string; tenantId?: string; tenantName?: string },
): Promise<Vb365Organization> {
  const msid = wanted.organization === undefined ? wanted.tenantId : undefined;
  const query = isV8(client) && msid ? { msid } : {};
  const all = (await client.list("/Organizations", query, { paged: isV8(client) }))
    .map(organizationOf)
    .filter((o): o is Vb365Organization => o !== null);
  let matches: Vb365Organization[];
  let asked: string;
  if (wanted.organization !== undefined) {
    const w = wanted.organization.trim();
    asked = `'${w}'`;
    if (GUID.test(w)) matches = all.filter((o) => same(o.id, w) || same(o.msid, w));
    else {
      matches = all.filter((o) => o.name === w);
      if (matches.length === 0) {
        matches = all.filter((o) => same(o.name, w) || same(o.officeName, w));
      }
    }
  } else if (msid) {
    asked = `with tenant id (msid) ${msid}`;
    matches = all.filter((o) => same(o.msid, msid));
    if (matches.length === 0 && wanted.tenantName) {
      matches = all.filter((o) => same(o.name, wanted.tenantName));
    }
  } else if (wanted.tenantName) {
    asked = `named ${wanted.tenantName}`;
    matches = all.filter((o) => same(o.name, wanted.tenantName) || same(o.officeName, wanted.tenantName));
  } else {
    throw new UsageError("Cannot tell which VB365 organization to report on.", {
      hint: "Give --vb365-organization NAME|ID.",
    });
  }
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) {
    throw new UsageError(
      `More than one VB365 organization matches ${asked}: ${matches.map((o) => `${o.name} (${o.id})`).join(", ")}.`,
      {
        hint: "Give --vb365-organization with the organization id.",
      },
    );
  }
  // With the msid filter the list may hold only the (missing) match: list everything for the hint.
  const known = query.msid
    ? (await client.list("/Organizations", {}, { paged: true })).map(organizationOf).filter((o) => o !== null)
    : all;
  throw new ServerError(`The VB365 server ${client.origin.origin} has no organization ${asked}.`, {
    errorClass: "Vb365OrganizationNotFound",
    hint: known.length
      ? `Give --vb365-organization with one of: ${known
          .slice(0, 20)
          .map((o) => `${o.name} (${o.id})`)
          .join(", ")}${known.length > 20 ? ", …" : ""}.`
      : "The server has no organizations: add the Microsoft 365 organization in the VB365 console first.",
  });
}

/** The repository id of a usedRepositories item: `repositoryId` (v8) or the id in `_links` (v6/v7). */
export function usedRepositoryId(item: Record<string, unknown>): string | null {
  const direct = str(item.repositoryId);
  if (direct) return direct;
  const links = item._links as Record<string, unknown> | undefined;
  if (!links || typeof links !== "object") return null;
  const preferred = ["backupRepository", "BackupRepository", "repository"];
  const candidates = [
    ...preferred.map((k) => links[k]),
    ...Object.entries(links)
      .filter(([k]) => /repositor/i.test(k) && !preferred.includes(k))
      .map(([, v]) => v),
  ];
  for (const link of candidates) {
    const href = str((link as Record<string, unknown> | undefined)?.href);
    const m = href?.match(/\/backuprepositories\/([0-9a-f-]{36})/i);
    if (m) return m[1]!;
  }
  return null;
}

/**
 * The repositories to report: all that the organization uses (usedRepositories), or the named ones
 * (exact name, else case-insensitive). Unknown names: ServerError (exit 5) listing the known ones.
 */
export async function findRepositories(
  client: Vb365Client,
  organization: Vb365Organization,
  names?: string[],
): Promise<{ repositories: Vb365RepositoryUsage[]; warnings: string[] }> {
  const warnings: string[] = [];
  const used = await client.list(`/Organizations/${encodeURIComponent(organization.id)}/usedRepositories`);
  const usage = new Map<string, Record<string, unknown>>();
  for (const item of used) {
    const id = usedRepositoryId(item);
    if (id) usage.set(id.toLowerCase(), item);
    else
      warnings.push(
        "A usedRepositories entry names no repository (no repositoryId, no link); it is left out.",
      );
  }
  const all = await client.list("/BackupRepositories", {}, { paged: isV8(client) });
  const byId = new Map(all.map((r) => [String(r.id ?? "").toLowerCase(), r]));
  let chosen: Array<{ id: string; repo: Record<string, unknown> | undefined }>;
  if (names && names.length > 0) {
    chosen = [];
    for (const name of names) {
      let hits = all.filter((r) => r.name === name);
      if (hits.length === 0) hits = all.filter((r) => same(str(r.name), name));
      if (hits.length === 0) hits = all.filter((r) => same(str(r.id), name));
      if (hits.length !== 1) {
        const known = all.map((r) => str(r.name)).filter(Boolean);
        throw new ServerError(
          hits.length === 0
            ? `The VB365 server ${client.origin.origin} has no backup repository '${name}'.`
            : `More than one backup repository is named '${name}'.`,
          {
            errorClass: "Vb365RepositoryNotFound",
            hint:
              hits.length === 0
                ? `Give --vb365-repository with one of: ${known.slice(0, 30).join(", ") || "(none)"}.`
                : "Give the repository id instead of its name.",
          },
        );
      }
      const id = String(hits[0]!.id);
      if (!chosen.some((c) => same(c.id, id))) chosen.push({ id, repo: hits[0] });
    }
  } else {
    chosen = [...usage.keys()].map((key) => {
      const repo = byId.get(key);
      return { id: str(repo?.id) ?? str(usage.get(key)?.repositoryId) ?? key, repo };
    });
  }
  const repositories = chosen.map(({ id, repo }): Vb365RepositoryUsage => {
    const u = usage.get(id.toLowerCase());
    if (!u) warnings.push(`The organization has no data in repository ${str(repo?.name) ?? id}.`);
    const objectStorage = repo?.objectStorage as Record<string, unknown> | undefined;
    return {
      id,
      name: str(repo?.name) ?? id,
      usedSpaceBytes: bytes(u?.usedSpaceBytes),
      localCacheUsedSpaceBytes: bytes(u?.localCacheUsedSpaceBytes),
      objectStorageUsedSpaceBytes: bytes(u?.objectStorageUsedSpaceBytes),
      isAvailable: typeof u?.isAvailable === "boolean" ? u.isAvailable : null,
      protectedObjectsCount: typeof u?.protectedObjectsCount === "number" ? u.protectedObjectsCount : null,
      objectStorageType: str(objectStorage?.type) ?? (str(repo?.objectStorageId) ? "object storage" : null),
      unused: !u,
    };
  });
  for (const r of repositories) {
    if (r.isAvailable === false)
      warnings.push(`Repository ${r.name} is reported as not available; its usage may be stale.`);
  }
  return { repositories, warnings };
}

const newer = (a: string | null, b: string | null): string | null => {
  if (!a) return b;
  if (!b) return a;
  return Date.parse(b) > Date.parse(a) ? b : a;
};

function belongs(item: Record<string, unknown>, org: Vb365Organization): boolean {
  const orgId = str(item.organizationId);
  if (orgId) return same(orgId, org.id);
  const backedUp = str(item.backedUpOrganizationId);
  if (backedUp && org.backedUpOrganizationId) return same(backedUp, org.backedUpOrganizationId);
  return true;
}

function entry(map: Map<string, ProtectedEntry>, email: string, displayName: string | null): ProtectedEntry {
  const key = email.toLowerCase();
  let e = map.get(key);
  if (!e) {
    e = {
      email: key,
      displayName: displayName ?? email,
      primary: false,
      archive: false,
      primaryBackedUp: null,
      archiveBackedUp: null,
    };
    map.set(key, e);
  }
  return e;
}

/** MailboxData of one repository for the organization (v6+). */
async function fromMailboxData(
  client: Vb365Client,
  repositoryId: string,
  org: Vb365Organization,
): Promise<RepositoryProtection> {
  const entries = new Map<string, ProtectedEntry>();
  let primaryItems = 0;
  let archiveItems = 0;
  let other = false;
  for await (const page of client.pages(
    `/BackupRepositories/${encodeURIComponent(repositoryId)}/MailboxData`,
    {
      organizationId: org.id,
    },
  )) {
    for (const item of page) {
      if (!belongs(item, org)) continue;
      const type = str(item.itemType);
      if (type && OTHER_ITEM_TYPES.has(type)) {
        other = true;
        continue;
      }
      const email = str(item.email);
      if (!email) continue;
      const e = entry(entries, email, str(item.displayName));
      const time = str(item.backedUpTime);
      if (item.isArchive === true) {
        archiveItems++;
        e.archive = true;
        e.archiveBackedUp = newer(e.archiveBackedUp, time);
      } else {
        primaryItems++;
        e.primary = true;
        e.primaryBackedUp = newer(e.primaryBackedUp, time);
        if (!e.displayName || e.displayName === e.email)
          e.displayName = str(item.displayName) ?? e.displayName;
      }
    }
  }
  return {
    repositoryId,
    source: "MailboxData",
    entries,
    primaryItems,
    archiveItems,
    otherWorkloads: other || null,
  };
}

/**
 * UserData of one repository, filtered to the organization on our side (the endpoint has no filter).
 * `keepEntries: false` reads it only for its other-workload flags (MailboxData already has the
 * mailboxes): no second per-address map of the whole organization is built.
 */
async function fromUserData(
  client: Vb365Client,
  repositoryId: string,
  org: Vb365Organization,
  keepEntries = true,
): Promise<RepositoryProtection> {
  const entries = new Map<string, ProtectedEntry>();
  let primaryItems = 0;
  let archiveItems = 0;
  let other = false;
  for await (const page of client.pages(`/BackupRepositories/${encodeURIComponent(repositoryId)}/UserData`)) {
    for (const item of page) {
      if (!belongs(item, org)) continue;
      if (item.isOneDriveBackedUp === true || item.isPersonalSiteBackedUp === true) other = true;
      const email = str(item.email);
      if (!email) continue;
      const mailbox = item.isMailboxBackedUp === true;
      const archive = item.isArchiveBackedUp === true;
      if (!mailbox && !archive) continue;
      if (!keepEntries) continue;
      const e = entry(entries, email, str(item.displayName));
      if (mailbox) {
        primaryItems++;
        e.primary = true;
        e.primaryBackedUp = newer(e.primaryBackedUp, str(item.mailboxBackedUpTime));
      }
      if (archive) {
        archiveItems++;
        e.archive = true;
        e.archiveBackedUp = newer(e.archiveBackedUp, str(item.archiveBackedUpTime));
      }
    }
  }
  return { repositoryId, source: "UserData", entries, primaryItems, archiveItems, otherWorkloads: other };
}

/**
 * Protected mailboxes of the organization on one repository: MailboxData (isArchive splits primary
 * and archive). UserData is read too: it is the fallback when MailboxData fails or is empty (whether
 * MailboxData answers for primary repositories is an open question), and its OneDrive/personal-site
 * flags tell whether other workloads share the repository's usage.
 */
export async function readProtection(
  client: Vb365Client,
  repositoryId: string,
  org: Vb365Organization,
  warnings: string[],
): Promise<RepositoryProtection> {
  let mailboxData: RepositoryProtection | undefined;
  try {
    mailboxData = await fromMailboxData(client, repositoryId, org);
  } catch (error) {
    if (!(error instanceof ServerError)) throw error;
    warnings.push(
      `MailboxData of repository ${repositoryId} failed (${error.message}); UserData was used instead.`,
    );
  }
  let userData: RepositoryProtection | undefined;
  // With MailboxData's entries in hand, UserData only says whether other workloads share the repository.
  const userDataEntries = !mailboxData || mailboxData.entries.size === 0;
  try {
    userData = await fromUserData(client, repositoryId, org, userDataEntries);
  } catch (error) {
    if (!mailboxData || !(error instanceof ServerError)) throw error;
    warnings.push(
      `UserData of repository ${repositoryId} failed (${error.message}); other workloads unknown.`,
    );
  }
  if (mailboxData && (mailboxData.entries.size > 0 || !userData || userData.entries.size === 0)) {
    mailboxData.otherWorkloads =
      mailboxData.otherWorkloads === true || userData?.otherWorkloads === true
        ? true
        : userData
          ? false
          : null;
    return mailboxData;
  }
  return userData!;
}

export async function readLicensedUsers(client: Vb365Client, org: Vb365Organization): Promise<LicensedUsers> {
  const out: LicensedUsers = { total: 0, byState: {}, backedUp: 0 };
  for await (const page of client.pages("/LicensedUsers", { organizationId: org.id })) {
    for (const item of page) {
      if (!belongs(item, org)) continue;
      out.total++;
      const state = str(item.licenseState) ?? "Unknown";
      out.byState[state] = (out.byState[state] ?? 0) + 1;
      if (item.isBackedUp === true) out.backedUp++;
    }
  }
  return out;
}

/** Where to look, resolved before the (long) Exchange half starts. */
export interface ResolvedBackupTarget {
  organization: Vb365Organization;
  repositories: Vb365RepositoryUsage[];
  warnings: string[];
}

export async function resolveBackupTarget(
  client: Vb365Client,
  wanted: { organization?: string; tenantId?: string; tenantName?: string; repositories?: string[] },
): Promise<ResolvedBackupTarget> {
  const organization = await findOrganization(client, wanted);
  const { repositories, warnings } = await findRepositories(client, organization, wanted.repositories);
  return { organization, repositories, warnings };
}

/** The protection lists and licensed users for a resolved target. */
export async function readBackupSnapshot(
  client: Vb365Client,
  target: ResolvedBackupTarget,
  now: () => Date = () => new Date(),
): Promise<BackupSnapshot> {
  const warnings = [...target.warnings];
  const protection: RepositoryProtection[] = [];
  for (const repo of target.repositories) {
    protection.push(await readProtection(client, repo.id, target.organization, warnings));
  }
  let licensedUsers: LicensedUsers | null = null;
  try {
    licensedUsers = await readLicensedUsers(client, target.organization);
  } catch (error) {
    if (!(error instanceof ServerError)) throw error;
    warnings.push(`Licensed users could not be read: ${error.message}`);
  }
  return {
    server: client.origin.origin,
    apiVersion: client.apiVersion,
    organization: target.organization,
    repositories: target.repositories,
    protection,
    licensedUsers,
    warnings,
    readAt: now().toISOString(),
  };
}
