import { describe, expect, it } from "vitest";
import {
  FAKE_MAILBOXES,
  FAKE_TOTALS,
  FakeExchange,
  numberedMailboxes,
} from "../../test/helpers/report-fake.js";
import { AuthorizationError, ServerError } from "../errors.js";
import { aggregateUsage } from "./aggregate.js";
import { collectTenantUsage } from "./collect.js";
import { AimdLimiter } from "./limiter.js";
import { ThrottleSignal } from "./throttle-signal.js";

const limiter = (max = 4) => new AimdLimiter({ max });

describe("collectTenantUsage", () => {
  it("counts recipients, types, inactive mailboxes and archives, and sums every figure", async () => {
    const fake = new FakeExchange(FAKE_MAILBOXES, 3, 2);
    const result = await collectTenantUsage(fake, { limiter: limiter() });
    expect(result.counts).toEqual({
      recipients: 8, // 5 mailboxes + 3 contacts
      mailboxes: 5,
      mailboxesByType: { UserMailbox: 2, SharedMailbox: 1, RoomMailbox: 1, EquipmentMailbox: 1 },
      inactiveMailboxes: 2,
      archives: 2,
    });
    expect(result.failures).toEqual([]);
    const totals = aggregateUsage(result.mailboxes);
    expect(totals).toMatchObject(FAKE_TOTALS);
    expect(totals.measuredByCategory).toEqual({ user: 2, shared: 1, room: 1, equipment: 1, other: 0 });
    const alice = result.mailboxes.find((m) => m.guid === "g1")!;
    expect(alice).toMatchObject({
      identity: "alice@contoso.com",
      category: "user",
      primaryBytes: 1000,
      archiveBytes: 5000,
      archiveDeletedItems: 5,
      lastLogonTime: "2026-11-01T10:00:00.0000000+00:00",
    });
    expect(result.mailboxes.find((m) => m.guid === "g2")).toMatchObject({
      hasArchive: false,
      archiveBytes: null,
    });
  });

  it("reads statistics once per mailbox and once more only for archives, with the cheap Get-EXO* cmdlets", async () => {
    const fake = new FakeExchange(FAKE_MAILBOXES);
    const result = await collectTenantUsage(fake, { limiter: limiter() });
    expect(result.plan).toBe("exo");
    const stats = fake.calls.filter((c) => c.cmdlet === "Get-EXOMailboxStatistics");
    expect(stats).toHaveLength(5 + 2);
    const archiveIds = stats.filter((c) => c.params.Archive).map((c) => c.params.Identity);
    expect(archiveIds.sort()).toEqual(["g1", "g5"]);
    expect(stats.find((c) => !c.params.Archive)?.params.Properties).toBe("LastLogonTime");
    const listings = fake.calls.filter((c) => c.cmdlet === "Get-EXOMailbox");
    expect(listings.map((c) => c.params)).toEqual(
      expect.arrayContaining([
        { ResultSize: "Unlimited", PropertySets: "Minimum,Archive,StatisticsSeed" },
        { InactiveMailboxOnly: true, ResultSize: "Unlimited" },
      ]),
    );
    expect(fake.calls.filter((c) => c.cmdlet === "Get-EXORecipient")).toHaveLength(1);
    expect(fake.calls).toHaveLength(3 + 7);
  });

  it("falls back to the classic cmdlets when the service does not run Get-EXO*, with the same numbers", async () => {
    const fake = new FakeExchange(FAKE_MAILBOXES, 3, 2);
    fake.supportsExo = false;
    const result = await collectTenantUsage(fake, { limiter: limiter() });
    expect(result.plan).toBe("classic");
    expect(result.failures).toEqual([]);
    expect(aggregateUsage(result.mailboxes)).toMatchObject(FAKE_TOTALS);
    expect(result.counts).toMatchObject({ recipients: 8, mailboxes: 5, inactiveMailboxes: 2, archives: 2 });
    // after the fallback, statistics go straight to the classic cmdlet: 7 calls, none wasted per mailbox
    expect(fake.calls.filter((c) => c.cmdlet === "Get-MailboxStatistics")).toHaveLength(7);
    expect(fake.calls.filter((c) => c.cmdlet === "Get-EXOMailboxStatistics")).toHaveLength(0);
    expect(result.warnings.join(" ")).toContain("classic cmdlets");
  });

  it("lists a mailbox that keeps failing as a failure instead of dropping it, and keeps the others", async () => {
    const fake = new FakeExchange(FAKE_MAILBOXES);
    fake.failPrimary.set("g2", Number.POSITIVE_INFINITY);
    fake.failArchive.set("g5", Number.POSITIVE_INFINITY);
    const failed: string[] = [];
    const result = await collectTenantUsage(fake, {
      limiter: limiter(),
      onMailboxFailed: (f) => failed.push(f.guid),
    });
    expect(result.failures.map((f) => [f.guid, f.stage, f.errorType]).sort()).toEqual([
      ["g2", "primary", "TransientError"],
      ["g5", "archive", "TransientError"],
    ]);
    expect(failed.sort()).toEqual(["g2", "g5"]);
    expect(result.mailboxes.map((m) => m.guid)).toEqual(["g1", "g3", "g4"]);
    expect(result.counts.mailboxes).toBe(5); // the listing still counts them
  });

  it("tries a mailbox whose retries ran out once more at the end of the run, and only once", async () => {
    const fake = new FakeExchange(FAKE_MAILBOXES);
    fake.failPrimary.set("g2", 1); // outlasts the client's retries once, then answers
    fake.failPrimary.set("g4", Number.POSITIVE_INFINITY);
    const result = await collectTenantUsage(fake, { limiter: limiter() });
    expect(result.failures.map((f) => f.guid)).toEqual(["g4"]);
    expect(fake.statisticsCalls("g2")).toBe(2);
    expect(fake.statisticsCalls("g4")).toBe(2);
    expect(result.mailboxes.map((m) => m.guid)).toEqual(["g1", "g2", "g3", "g5"]);
  });

  it("does not retry a mailbox that failed for a non-transient reason", async () => {
    const fake = new FakeExchange(FAKE_MAILBOXES);
    const original = fake.invoke.bind(fake);
    fake.invoke = async (cmdlet, params = {}) => {
      if (params.Identity === "g3") {
        fake.calls.push({ cmdlet, params });
        throw new ServerError("The specified mailbox doesn't exist.", { httpStatus: 404 });
      }
      return original(cmdlet, params);
    };
    const result = await collectTenantUsage(fake, { limiter: limiter() });
    expect(result.failures).toEqual([expect.objectContaining({ guid: "g3", errorType: "ServerError" })]);
    expect(fake.statisticsCalls("g3")).toBe(1);
  });

  it("reuses completed mailboxes of a resumed run and fetches only the missing ones", async () => {
    const first = new FakeExchange(FAKE_MAILBOXES);
    first.failPrimary.set("g3", Number.POSITIVE_INFINITY);
    const partial = await collectTenantUsage(first, { limiter: limiter() });
    const completed = new Map(partial.mailboxes.map((m) => [m.guid, m]));

    const second = new FakeExchange(FAKE_MAILBOXES);
    const resumed = await collectTenantUsage(second, { limiter: limiter(), completed });
    expect(second.statisticsCalls()).toBe(1);
    expect(second.statisticsCalls("g3")).toBe(1);
    expect(resumed.calls.reused).toBe(4);
    expect(resumed.failures).toEqual([]);
    expect(aggregateUsage(resumed.mailboxes)).toMatchObject(FAKE_TOTALS);
    expect(resumed.mailboxes.map((m) => m.guid)).toEqual(["g1", "g2", "g3", "g4", "g5"]);
  });

  it("with retainRows false keeps no row: each goes to a callback, `measured` keeps the listing order", async () => {
    const first = new FakeExchange(FAKE_MAILBOXES);
    first.failPrimary.set("g3", Number.POSITIVE_INFINITY);
    const done: string[] = [];
    const partial = await collectTenantUsage(first, {
      limiter: limiter(),
      retainRows: false,
      onMailboxDone: (m) => done.push(m.guid),
    });
    expect(partial.mailboxes).toEqual([]);
    expect(partial.measured).toEqual(["g1", "g2", "g4", "g5"]);
    expect([...done].sort()).toEqual(["g1", "g2", "g4", "g5"]);

    // Resumed: the stored rows come back through onMailboxReused with the listing's current names.
    const listed = new Map(
      (await collectTenantUsage(new FakeExchange(FAKE_MAILBOXES), { limiter: limiter() })).mailboxes.map(
        (m) => [m.guid, m],
      ),
    );
    // stored by an earlier run under older names
    const stored = new Map(
      [...listed.values()]
        .filter((m) => m.guid !== "g3")
        .map((m) => [m.guid, { ...m, displayName: "old name", smtp: "old@contoso.com" }]),
    );
    const reused: Array<{ guid: string; displayName: string; smtp?: string }> = [];
    const fresh: string[] = [];
    const second = new FakeExchange(FAKE_MAILBOXES);
    const resumed = await collectTenantUsage(second, {
      limiter: limiter(),
      retainRows: false,
      completed: stored,
      onMailboxReused: (m) => reused.push(m),
      onMailboxDone: (m) => fresh.push(m.guid),
    });
    expect(second.statisticsCalls()).toBe(1);
    expect(fresh).toEqual(["g3"]);
    expect(resumed.measured).toEqual(["g1", "g2", "g3", "g4", "g5"]);
    expect(reused.map((m) => m.guid)).toEqual(["g1", "g2", "g4", "g5"]);
    for (const m of reused) {
      expect(m).toEqual(listed.get(m.guid));
      expect(m.displayName).not.toBe("old name");
      expect(m.smtp).toBeUndefined();
    }
  });

  it("never has more calls in flight than the window and halves it when the client reports a 429", async () => {
    const many = numberedMailboxes(40);
    const fake = new FakeExchange(many, 0, 0);
    fake.throttle.add("m0");
    fake.retrySignal = new ThrottleSignal();
    // minThrottles 1: every 429 counts as sustained throttling, so the one reported must cut the window.
    const lim = new AimdLimiter({ max: 6, minThrottles: 1 });
    const result = await collectTenantUsage(fake, { limiter: lim, throttle: fake.retrySignal });
    expect(result.mailboxes).toHaveLength(40);
    expect(fake.maxInFlight).toBeLessThanOrEqual(6);
    expect(lim.decreases).toBe(1);
  });

  it("with the default limiter a lone 429 among 40 calls reaches it but cuts nothing (sparse throttling)", async () => {
    const many = numberedMailboxes(40);
    const fake = new FakeExchange(many, 0, 0);
    fake.throttle.add("m0");
    fake.retrySignal = new ThrottleSignal();
    const lim = new AimdLimiter({ max: 6 });
    const result = await collectTenantUsage(fake, { limiter: lim, throttle: fake.retrySignal });
    expect(result.mailboxes).toHaveLength(40);
    expect(lim.toleratedThrottles).toBe(1);
    expect(lim.decreases).toBe(0);
    expect(lim.limit).toBe(6);
  });

  it("a call waiting before its retry frees its slot: other mailboxes go on meanwhile", async () => {
    const six = numberedMailboxes(6);
    const fake = new FakeExchange(six, 0, 0);
    const signal = new ThrottleSignal();
    const answer = fake.invoke.bind(fake);
    // m0's first answer is a 429: like the real client, wait (through retry.sleep) and then ask again.
    let waited = false;
    fake.invoke = async (name, params = {}) => {
      if (params.Identity === "m0" && !waited) {
        waited = true;
        signal.onRetry({ status: 429, delayMs: 1000, reason: "throttled (HTTP 429)" });
        await signal.sleep(1000);
      }
      return answer(name, params);
    };
    const done: string[] = [];
    // A window of one: before, the waiting call held the only slot and every other mailbox waited for it.
    const result = await collectTenantUsage(fake, {
      limiter: new AimdLimiter({ max: 1, initial: 1 }),
      throttle: signal,
      onMailboxDone: (usage) => done.push(usage.guid),
    });
    expect(result.mailboxes).toHaveLength(6);
    expect(done).toEqual(["m1", "m2", "m3", "m4", "m5", "m0"]);
    expect(fake.maxInFlight).toBe(1);
  });

  it("fails the tenant when the recipient count fails, before any statistics call", async () => {
    const fake = new FakeExchange(numberedMailboxes(40), 0, 0);
    const original = fake.stream.bind(fake);
    fake.stream = (cmdlet, params = {}) => {
      if (!cmdlet.endsWith("Recipient")) return original(cmdlet, params);
      return (async function* () {
        yield* [];
        throw new ServerError("fake: the recipients listing failed after its retries");
      })();
    };
    await expect(
      collectTenantUsage(fake, { limiter: new AimdLimiter({ max: 1, initial: 1 }) }),
    ).rejects.toThrow("recipients listing failed");
    expect(fake.calls.filter((c) => c.cmdlet.endsWith("MailboxStatistics"))).toEqual([]);
  });

  it("stops the tenant on an authorization error (every call would fail the same way)", async () => {
    const fake = new FakeExchange(FAKE_MAILBOXES);
    fake.invoke = async () => {
      throw new AuthorizationError("User is not allowed to call Get-MailboxStatistics", {
        reason: "role-missing",
      });
    };
    await expect(collectTenantUsage(fake, { limiter: limiter() })).rejects.toBeInstanceOf(AuthorizationError);
  });

  it("reports inactive mailboxes as unknown, not the whole tenant as failed, when their listing is refused", async () => {
    const fake = new FakeExchange(FAKE_MAILBOXES);
    const original = fake.stream.bind(fake);
    fake.stream = (cmdlet, params = {}) => {
      if (params.InactiveMailboxOnly) {
        throw new AuthorizationError("User is not allowed to call Get-EXOMailbox -InactiveMailboxOnly");
      }
      return original(cmdlet, params);
    };
    const result = await collectTenantUsage(fake, { limiter: limiter() });
    expect(result.counts.inactiveMailboxes).toBeNull();
    expect(result.counts.mailboxes).toBe(5);
    expect(result.warnings.join(" ")).toContain("Inactive mailboxes could not be listed");
  });

  it("treats an empty statistics answer (mailbox never signed in to) as an empty mailbox", async () => {
    const fake = new FakeExchange(FAKE_MAILBOXES.slice(1, 2), 0, 0);
    fake.invoke = async () => [];
    const result = await collectTenantUsage(fake, { limiter: limiter() });
    expect(result.mailboxes[0]).toMatchObject({
      guid: "g2",
      primaryBytes: 0,
      primaryItems: 0,
      lastLogonTime: null,
    });
    expect(result.failures).toEqual([]);
    expect(result.neverLoggedOn).toBe(1);
    expect(result.warnings.join(" ")).toContain("1 mailbox(es) were never logged on");
  });

  it("records a malformed statistics row as a failure, not as zero", async () => {
    const fake = new FakeExchange(FAKE_MAILBOXES.slice(1, 2), 0, 0);
    fake.invoke = async () => [{ DisplayName: "bob" }];
    const result = await collectTenantUsage(fake, { limiter: limiter() });
    expect(result.mailboxes).toEqual([]);
    expect(result.failures[0]).toMatchObject({ guid: "g2", stage: "primary" });
  });
});
