import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { EmulatorUsageError } from "./errors.js";
import { ensurePrivateDir, fileExists, writeFileAtomic } from "./fs.js";
import type { TenantInfo } from "./types.js";

/**
 * The emulator's directory: tenants with their users, applications, service principals and grants.
 * Everything lives in memory and, with a state dir, is written to `<stateDir>/state.json` (0600,
 * atomically) after every change, and read back on start. Mailbox data is never stored: it is
 * regenerated from the seed.
 */

export interface KeyCredentialRecord {
  keyId: string;
  type: string;
  usage: string;
  /** base64 of the certificate DER (normalised from DER or PEM uploads) */
  key: string;
  displayName: string | null;
  customKeyIdentifier: string | null;
  startDateTime: string;
  endDateTime: string;
  /** when it was added (ms epoch): new keys are subject to replication delay */
  addedAtMs: number;
}

export interface AppRoleRecord {
  id: string;
  value: string;
  displayName: string;
  description: string;
  allowedMemberTypes: string[];
  isEnabled: boolean;
  origin?: string;
}

export interface ApplicationRecord {
  id: string;
  appId: string;
  displayName: string;
  uniqueName: string | null;
  createdDateTime: string;
  createdAtMs: number;
  /** writable properties kept as given (signInAudience, requiredResourceAccess, web, ...) */
  properties: Record<string, unknown>;
  keyCredentials: KeyCredentialRecord[];
  /** object ids of users / service principals that own it (absent in older state files = none) */
  owners?: string[];
  federatedIdentityCredentials?: FederatedIdentityCredentialRecord[];
}

export interface FederatedIdentityCredentialRecord {
  id: string;
  name: string;
  issuer: string;
  subject: string;
  audiences: string[];
  description: string | null;
}

export interface ServicePrincipalRecord {
  id: string;
  appId: string;
  displayName: string;
  appOwnerOrganizationId: string | null;
  createdAtMs: number;
  appRoles: AppRoleRecord[];
  servicePrincipalNames: string[];
  /** Microsoft first-party resource SP (seeded, not backed by an application in this tenant) */
  firstParty: boolean;
  /** object ids of its owners (absent = none) */
  owners?: string[];
}

export interface AppRoleAssignmentRecord {
  id: string;
  appRoleId: string;
  principalId: string;
  principalType: "ServicePrincipal" | "User";
  principalDisplayName: string;
  resourceId: string;
  resourceDisplayName: string;
  createdDateTime: string;
  createdAtMs: number;
}

export interface RoleAssignmentRecord {
  id: string;
  principalId: string;
  roleDefinitionId: string;
  directoryScopeId: string;
  createdAtMs: number;
}

export interface UserRecord {
  id: string;
  userPrincipalName: string;
  displayName: string;
  /** directory role template ids */
  roles: string[];
}

export interface TenantState {
  tenant: TenantInfo;
  createdDateTime: string;
  users: UserRecord[];
  applications: ApplicationRecord[];
  servicePrincipals: ServicePrincipalRecord[];
  appRoleAssignments: AppRoleAssignmentRecord[];
  roleAssignments: RoleAssignmentRecord[];
}

export interface PersistedState {
  version: 1;
  tenants: TenantState[];
}

const STATE_FILE = "state.json";
const isGuid = (s: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);

export class StateStore {
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;

  private constructor(
    readonly data: PersistedState,
    private readonly file: string | undefined,
  ) {}

  /**
   * Load `<stateDir>/state.json`, or create the state with `seed()` (and persist it) when there is none.
   * Without a state dir the state is memory-only.
   */
  static async open(stateDir: string | undefined, seed: () => TenantState[]): Promise<StateStore> {
    if (!stateDir) return new StateStore({ version: 1, tenants: seed() }, undefined);
    await ensurePrivateDir(stateDir);
    const file = join(stateDir, STATE_FILE);
    if (await fileExists(file)) {
      let parsed: PersistedState | undefined;
      try {
        parsed = JSON.parse(await readFile(file, "utf8")) as PersistedState;
      } catch {
        parsed = undefined;
      }
      if (parsed?.version !== 1 || !Array.isArray(parsed.tenants) || parsed.tenants.length === 0) {
        throw new EmulatorUsageError(`${file} is not a readable exo-cba emulator state file.`, {
          hint: "Point --state at another directory, or delete that file to start with a fresh tenant.",
        });
      }
      return new StateStore(parsed, file);
    }
    const store = new StateStore({ version: 1, tenants: seed() }, file);
    await store.commit();
    return store;
  }

  get persistent(): boolean {
    return this.file !== undefined;
  }

  /** GUID or domain (case-insensitive) → tenant; undefined when there is no such tenant. */
  tenant(segment: string): TenantState | undefined {
    const s = segment.toLowerCase();
    return this.data.tenants.find((t) =>
      isGuid(s) ? t.tenant.id.toLowerCase() === s : t.tenant.domain.toLowerCase() === s,
    );
  }

  tenantById(id: string): TenantState | undefined {
    return this.data.tenants.find((t) => t.tenant.id === id);
  }

  get defaultTenant(): TenantState {
    const t = this.data.tenants[0];
    if (!t) throw new Error("emulator state has no tenant");
    return t;
  }

  /**
   * Persist the current state. Writes are serialised and coalesced: callers await the write that
   * includes their change, so a response is only sent once its change is on disk.
   */
  commit(): Promise<void> {
    if (!this.file) return Promise.resolve();
    this.dirty = true;
    const file = this.file;
    this.writing = this.writing
      .catch(() => {})
      .then(async () => {
        if (!this.dirty) return;
        this.dirty = false;
        await writeFileAtomic(file, JSON.stringify(this.data), { mode: 0o600 });
      });
    return this.writing;
  }

  /** Wait for pending writes (close). */
  async flush(): Promise<void> {
    await this.writing.catch(() => {});
  }
}
