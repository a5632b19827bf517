/**
 * A fake Exchange connection for report unit tests: a small tenant whose numbers are written out
 * here (not computed by the report code), call counters, and switchable failures.
 */
import { ServerError, TransientError } from "../../src/errors.js";
import type { ThrottleSignal } from "../../src/report/throttle-signal.js";
import type { UsageSource } from "../../src/report/types.js";

export interface FakeMailbox {
  guid: string;
  upn: string;
  type: "UserMailbox" | "SharedMailbox" | "RoomMailbox" | "EquipmentMailbox" | "DiscoveryMailbox";
  bytes: number;
  items: number;
  deletedBytes: number;
  deletedItems: number;
  archive?: { bytes: number; items: number; deletedBytes: number; deletedItems: number };
}

const size = (n: number) => `${(n / 1024).toFixed(3)} KB (${n.toLocaleString("en-US")} bytes)`;

export class FakeExchange implements UsageSource {
  /** guid → remaining failures of its primary statistics call (Infinity = always) */
  readonly failPrimary = new Map<string, number>();
  readonly failArchive = new Map<string, number>();
  /** guids whose call reports a 429 retry to `retrySignal` before answering (like the real client's retry.onRetry) */
  readonly throttle = new Set<string>();
  retrySignal: ThrottleSignal | undefined;
  readonly calls: Array<{ cmdlet: string; params: Record<string, unknown> }> = [];
  inFlight = 0;
  maxInFlight = 0;

  /** false: like an endpoint that only runs the classic cmdlets (Get-EXO* are "not recognized") */
  supportsExo = true;

  constructor(
    readonly mailboxes: FakeMailbox[],
    readonly extraRecipients = 3,
    readonly inactive = 2,
  ) {}

  statisticsCalls(guid?: string): number {
    return this.calls.filter(
      (c) =>
        /^Get-(EXO)?MailboxStatistics$/.test(c.cmdlet) && (guid === undefined || c.params.Identity === guid),
    ).length;
  }

  /** Get-EXOMailbox → Get-Mailbox etc., or the "not recognized" error when the EXO set is off. */
  private canonical(cmdlet: string): string {
    if (!cmdlet.startsWith("Get-EXO")) return cmdlet;
    if (!this.supportsExo) {
      throw new ServerError(
        `${cmdlet} failed: The term '${cmdlet}' is not recognized as the name of a cmdlet.`,
        {
          httpStatus: 400,
          errorClass: "System.Management.Automation.CommandNotFoundException",
          cmdlet,
        },
      );
    }
    return cmdlet.replace("Get-EXO", "Get-");
  }

  async *stream(name: string, params: Record<string, unknown> = {}) {
    this.calls.push({ cmdlet: name, params });
    await Promise.resolve();
    const cmdlet = this.canonical(name);
    if (cmdlet === "Get-Recipient") {
      for (const m of this.mailboxes) yield { Name: m.upn, RecipientTypeDetails: m.type };
      for (let i = 0; i < this.extraRecipients; i++)
        yield { Name: `contact${i}`, RecipientTypeDetails: "MailContact" };
      return;
    }
    if (cmdlet === "Get-Mailbox" && params.InactiveMailboxOnly) {
      for (let i = 0; i < this.inactive; i++)
        yield { ExchangeGuid: `inactive-${i}`, IsInactiveMailbox: true };
      return;
    }
    if (cmdlet === "Get-Mailbox") {
      for (const m of this.mailboxes) {
        yield {
          ExchangeGuid: m.guid,
          UserPrincipalName: m.upn,
          DisplayName: m.upn.split("@")[0],
          RecipientTypeDetails: m.type,
          ArchiveStatus: m.archive ? "Active" : "None",
          ArchiveGuid: m.archive ? `a-${m.guid}` : "00000000-0000-0000-0000-000000000000",
        };
      }
      return;
    }
    throw new ServerError(`fake: unexpected stream ${cmdlet}`);
  }

  async invoke(name: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>[]> {
    this.calls.push({ cmdlet: name, params });
    const cmdlet = this.canonical(name);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((r) => setImmediate(r));
      if (cmdlet !== "Get-MailboxStatistics") throw new ServerError(`fake: unexpected invoke ${cmdlet}`);
      const m = this.mailboxes.find((x) => x.guid === params.Identity);
      if (!m) throw new ServerError("The specified mailbox doesn't exist.", { httpStatus: 404 });
      if (this.throttle.has(m.guid)) this.retrySignal?.onRetry({ reason: "throttled (HTTP 429)" });
      const failures = params.Archive ? this.failArchive : this.failPrimary;
      const left = failures.get(m.guid) ?? 0;
      if (left > 0) {
        failures.set(m.guid, left - 1);
        throw new TransientError("Exchange kept answering 503 after 6 attempts.", {
          httpStatus: 503,
          attempts: 6,
        });
      }
      const s = params.Archive ? m.archive : m;
      if (!s) throw new ServerError("no archive");
      return [
        {
          DisplayName: m.upn,
          TotalItemSize: size(s.bytes),
          TotalDeletedItemSize: size(s.deletedBytes),
          ItemCount: s.items,
          DeletedItemCount: s.deletedItems,
          LastLogonTime: "2026-11-01T10:00:00.0000000+00:00",
        },
      ];
    } finally {
      this.inFlight--;
    }
  }
}

/** Five mailboxes with hand-picked numbers; their sums are spelled out in FAKE_TOTALS. */
export const FAKE_MAILBOXES: FakeMailbox[] = [
  {
    guid: "g1",
    upn: "alice@contoso.com",
    type: "UserMailbox",
    bytes: 1000,
    items: 10,
    deletedBytes: 100,
    deletedItems: 1,
    archive: { bytes: 5000, items: 50, deletedBytes: 500, deletedItems: 5 },
  },
  {
    guid: "g2",
    upn: "bob@contoso.com",
    type: "UserMailbox",
    bytes: 2000,
    items: 20,
    deletedBytes: 200,
    deletedItems: 2,
  },
  {
    guid: "g3",
    upn: "info@contoso.com",
    type: "SharedMailbox",
    bytes: 3000,
    items: 30,
    deletedBytes: 0,
    deletedItems: 0,
  },
  {
    guid: "g4",
    upn: "room1@contoso.com",
    type: "RoomMailbox",
    bytes: 400,
    items: 4,
    deletedBytes: 40,
    deletedItems: 4,
  },
  {
    guid: "g5",
    upn: "beamer@contoso.com",
    type: "EquipmentMailbox",
    bytes: 500,
    items: 5,
    deletedBytes: 50,
    deletedItems: 5,
    archive: { bytes: 7000, items: 70, deletedBytes: 700, deletedItems: 7 },
  },
];

export const FAKE_TOTALS = {
  primaryBytes: 1000 + 2000 + 3000 + 400 + 500, // 6900
  primaryItems: 10 + 20 + 30 + 4 + 5, // 69
  deletedBytes: 100 + 200 + 0 + 40 + 50, // 390
  deletedItems: 1 + 2 + 0 + 4 + 5, // 12
  archiveBytes: 5000 + 7000, // 12000
  archiveItems: 50 + 70, // 120
  archiveDeletedBytes: 500 + 700, // 1200
  archiveDeletedItems: 12,
  totalProtectedBytes: 6900 + 390 + 12000 + 1200, // 20490
};

/** `n` user mailboxes m0…m(n-1), mailbox i holding i bytes in one item. */
export const numberedMailboxes = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    guid: `m${i}`,
    upn: `u${i}@contoso.com`,
    type: "UserMailbox" as const,
    bytes: i,
    items: 1,
    deletedBytes: 0,
    deletedItems: 0,
  }));
