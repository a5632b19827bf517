import { createMailboxDataset, type MailboxDataset } from "../data/mailboxes.js";
import { deterministicGuid } from "../data/prng.js";
import { type Listener, listen, originOf } from "../server.js";
import { createVb365Dataset, VB365_DEFAULTS, type Vb365Dataset, vb365Parameters } from "./data.js";
import { createVb365Handler } from "./handler.js";
import { loadOrCreateVb365Tls } from "./tls.js";
import type { RunningVb365, Vb365Options, Vb365Truth } from "./types.js";

export type { RunningVb365, Vb365Options, Vb365Truth } from "./types.js";

/** Domains of the other organizations the emulated server backs up (`otherOrganizations`). */
const OTHER_DOMAINS = [
  "fabrikam.onmicrosoft.com",
  "northwindtraders.onmicrosoft.com",
  "adatum.onmicrosoft.com",
  "tailspintoys.onmicrosoft.com",
  "wingtiptoys.onmicrosoft.com",
];

/**
 * Start the emulated VB365 REST service on its own HTTPS listener with its own self-signed
 * certificate (docs/emulator-vb365.md). The backup data is derived from the tenant's mailbox
 * dataset on the first request that needs it.
 */
export async function startVb365(options: {
  vb365: Vb365Options;
  host: string;
  port: number;
  stateDir?: string;
  seed: number;
  tenantId: string;
  domain: string;
  mailboxes: () => MailboxDataset;
  clock: () => number;
}): Promise<{ running: RunningVb365; close(): Promise<void> }> {
  const o = options.vb365;
  const version = o.version ?? 8;
  if (version !== 7 && version !== 8)
    throw new RangeError(`vb365.version must be 7 or 8: ${String(version)}`);
  const username = o.username ?? VB365_DEFAULTS.username;
  const password = o.password ?? VB365_DEFAULTS.password;
  if (!username || !password) throw new RangeError("vb365.username and vb365.password must not be empty");
  const lifetime = o.tokenLifetimeSeconds ?? VB365_DEFAULTS.tokenLifetimeSeconds;
  if (!Number.isInteger(lifetime) || lifetime < 1)
    throw new RangeError(`vb365.tokenLifetimeSeconds must be >= 1: ${lifetime}`);
  // Backup times are relative to the start: the freshest backup ran minutes before the emulator did.
  const parameters = vb365Parameters(options.seed, options.clock(), o);
  const settings = { tokenLifetimeSeconds: lifetime, tokenThrottle: o.tokenThrottle };
  const stats = { tokenRequests: 0, requests: 0, throttled: 0 };
  const others = o.otherOrganizations ?? 1;
  if (!Number.isInteger(others) || others < 0 || others > OTHER_DOMAINS.length) {
    throw new RangeError(`vb365.otherOrganizations must be from 0 to ${OTHER_DOMAINS.length}: ${others}`);
  }
  let organizations: Vb365Dataset[] | undefined;
  const data = (): Vb365Dataset[] => {
    if (organizations) return organizations;
    const main = createVb365Dataset({
      mailboxes: options.mailboxes(),
      tenantId: options.tenantId,
      domain: options.domain,
      parameters,
    });
    // Other customers of the same server (an MSP's VB365): smaller generated tenants on the same
    // repositories, so MailboxData without organizationId and repository totals mix organizations.
    const count = Math.min(10_000, Math.max(10, Math.round(options.mailboxes().count / 10)));
    organizations = [
      main,
      ...OTHER_DOMAINS.slice(0, others).map((domain, k) => {
        const tenantId = deterministicGuid(options.seed, k, 130);
        return createVb365Dataset({
          mailboxes: createMailboxDataset({ seed: options.seed + 101 + k, count, domain, tenantId }),
          tenantId,
          domain,
          parameters,
          repositories: main.repositories,
        });
      }),
    ];
    return organizations;
  };
  const truth = (): Vb365Truth => {
    const [main, ...rest] = data().map((d) => d.expectedBackup());
    const all = [main!, ...rest];
    return {
      ...main!,
      otherOrganizations: rest,
      repositoryTotals: main!.repositories.map((repo, r) => {
        const sum = (f: (x: (typeof all)[number]["repositories"][number]) => number | null) =>
          all.reduce((n, t) => n + (f(t.repositories[r]!) ?? 0), 0);
        return {
          id: repo.id,
          usedSpaceBytes: sum((x) => x.usedSpaceBytes),
          localCacheUsedSpaceBytes: sum((x) => x.localCacheUsedSpaceBytes),
          objectStorageUsedSpaceBytes:
            repo.objectStorageUsedSpaceBytes === null ? null : sum((x) => x.objectStorageUsedSpaceBytes),
        };
      }),
    };
  };

  const tls = await loadOrCreateVb365Tls({ stateDir: options.stateDir, host: options.host });
  let listener: Listener;
  try {
    listener = await listen(
      createVb365Handler({
        version,
        username,
        password,
        organizations: data,
        settings: () => settings,
        onStat: (kind) => {
          stats[kind]++;
        },
        clock: options.clock,
      }),
      { host: options.host, port: options.port, cert: tls.certPem, key: tls.keyPem },
    );
  } catch (error) {
    await tls.dispose();
    throw error;
  }
  const running: RunningVb365 = {
    origin: originOf(options.host, listener.port),
    version,
    certificatePem: tls.certPem,
    certificateFile: tls.certFile,
    fingerprintSha256: tls.fingerprintSha256,
    username,
    password,
    defaultPassword: password === VB365_DEFAULTS.password,
    expectedBackup: truth,
    configure(change) {
      if (change.tokenLifetimeSeconds !== undefined)
        settings.tokenLifetimeSeconds = change.tokenLifetimeSeconds;
      if ("tokenThrottle" in change) settings.tokenThrottle = change.tokenThrottle;
    },
    stats: () => ({ ...stats }),
  };
  return {
    running,
    async close() {
      await listener.close();
      await tls.dispose();
    },
  };
}
