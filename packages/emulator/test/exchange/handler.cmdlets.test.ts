import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseByteQuantifiedSize } from "../../src/data/formats.js";
import type { MailboxRecord } from "../../src/types.js";
import { type Harness, startHarness, TEST_TENANT } from "../support/exchange-harness.js";

let h: Harness;
let mailboxes: MailboxRecord[];
const find = (predicate: (m: MailboxRecord) => boolean): MailboxRecord => {
  const m = mailboxes.find(predicate);
  if (!m) throw new Error("test tenant lacks a mailbox of that kind; change the seed");
  return m;
};

beforeAll(async () => {
  h = await startHarness({ count: 200, seed: 5 });
  mailboxes = Array.from({ length: h.dataset.count }, (_, i) => h.dataset.mailbox(i));
});
afterAll(() => h.close());

/** `details[0].message` parsed the way the real module parses it. */
function detail(json: { error: { details: Array<{ message: string }> } }) {
  return JSON.parse(json.error.details[0]!.message) as {
    localizedString: { stringId: string };
    ClassName: string;
    Message: string;
  };
}

describe("dispatch and binding errors", () => {
  it("matches cmdlet names case-insensitively and falls back to X-CmdletName", async () => {
    expect((await h.invoke("gEt-mAiLbOx", { ResultSize: 1 })).status).toBe(200);
    const r = await h.invoke(
      "",
      {},
      { body: JSON.stringify({}), headers: { "X-CmdletName": "Get-AcceptedDomain" } },
    );
    expect(r.status).toBe(200);
    expect(r.json.value[0].DomainName).toBe(TEST_TENANT.domain);
  });

  it("answers an unknown cmdlet with the real 'not recognized' error", async () => {
    const r = await h.invoke("Get-Mailboxx", {});
    expect(r.status).toBe(400);
    expect(r.headers.get("x-exceptiontype")).toBe("CommandNotFoundException");
    expect(r.json.error.code).toBe("BadRequest");
    expect(r.json.error.message).toBe("Error executing cmdlet");
    expect(detail(r.json).Message).toBe(
      "The term 'Get-Mailboxx' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again.",
    );
  });

  it("answers an unknown parameter with the real binding error", async () => {
    const r = await h.invoke("Get-Mailbox", { CertificateThumbprint: "AB" });
    expect(r.status).toBe(400);
    expect(detail(r.json)).toMatchObject({
      ClassName: "System.Management.Automation.ParameterBindingException",
      Message: "A parameter cannot be found that matches parameter name 'CertificateThumbprint'.",
    });
  });

  it("ignores common parameters and OData annotations", async () => {
    const r = await h.invoke("Get-Mailbox", {
      ResultSize: 1,
      ErrorAction: "Stop",
      "RecipientTypeDetails@odata.type": "#Collection(String)",
      RecipientTypeDetails: ["UserMailbox"],
    });
    expect(r.status).toBe(200);
  });

  it("refuses bodies that are not a CmdletInput", async () => {
    expect((await h.invoke("", {}, { body: "{not json" })).status).toBe(400);
    expect((await h.invoke("", {}, { body: JSON.stringify({ CmdletInput: {} }) })).status).toBe(400);
  });

  it("answers an unknown identity with the ManagementObjectNotFoundException envelope (404)", async () => {
    const r = await h.invoke("Get-Mailbox", { Identity: "ghost@contoso.onmicrosoft.com" });
    expect(r.status).toBe(404);
    expect(r.headers.get("x-exceptiontype")).toBe("ManagementObjectNotFoundException");
    expect(r.json.error.code).toBe("NotFound");
    expect(r.json.error.details[0]).toMatchObject({ code: "Client", target: "" });
    const d = detail(r.json);
    expect(d.localizedString.stringId).toBe("Ex6F9304");
    expect(d.ClassName).toBe("Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException");
    expect(d.Message).toMatch(
      /^The operation couldn't be performed because object 'ghost@contoso\.onmicrosoft\.com' couldn't be found on '[A-Z0-9]+\.[A-Z0-9]+\.PROD\.OUTLOOK\.COM'\.$/,
    );
    expect(r.json.error.innererror.internalexception).toEqual({ message: d.Message, type: d.ClassName });
  });
});

describe("Get-Mailbox", () => {
  it("returns one mailbox by any identity, with the wire formats", async () => {
    const m = find((x) => x.recipientTypeDetails === "UserMailbox" && !x.inactive && x.archive !== undefined);
    for (const identity of [
      m.userPrincipalName,
      m.alias,
      m.guid,
      m.externalDirectoryObjectId,
      m.displayName,
    ]) {
      const r = await h.invoke("Get-Mailbox", { Identity: identity });
      expect(r.status, identity).toBe(200);
      expect(r.json.value).toHaveLength(1);
    }
    const row = (await h.invoke("Get-Mailbox", { Identity: m.alias })).json.value[0];
    expect(row).toMatchObject({
      Alias: m.alias,
      DisplayName: m.displayName,
      UserPrincipalName: m.userPrincipalName,
      PrimarySmtpAddress: m.primarySmtpAddress,
      RecipientType: "UserMailbox",
      RecipientTypeDetails: "UserMailbox",
      ExternalDirectoryObjectId: m.externalDirectoryObjectId,
      ArchiveStatus: "Active",
      ArchiveGuid: m.archiveGuid,
      IsInactiveMailbox: false,
      "Guid@odata.type": "#Guid",
      "Guid@data.type": "System.Guid",
      Guid: m.guid,
      "EmailAddresses@odata.type": "#Collection(String)",
      "WhenCreatedUTC@data.type": "System.DateTime",
      ProhibitSendQuota: "99 GB (106,300,440,576 bytes)",
    });
    expect(row.WhenCreatedUTC).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}\+00:00$/);
    expect(Date.parse(row.WhenCreatedUTC)).toBe(Date.parse(m.whenCreatedUtc));
    expect(row.EmailAddresses[0]).toBe(`SMTP:${m.primarySmtpAddress}`);
  });

  it("filters by RecipientTypeDetails given as a string, a comma list or an array", async () => {
    const expected = mailboxes
      .filter(
        (m) =>
          !m.inactive &&
          (m.recipientTypeDetails === "RoomMailbox" || m.recipientTypeDetails === "SharedMailbox"),
      )
      .map((m) => m.alias);
    for (const value of ["RoomMailbox,SharedMailbox", ["SharedMailbox", "RoomMailbox"]]) {
      const r = await h.invoke(
        "Get-Mailbox",
        { RecipientTypeDetails: value, ResultSize: "Unlimited" },
        { pageSize: 1000 },
      );
      expect(r.json.value.map((row: { Alias: string }) => row.Alias)).toEqual(expected);
    }
    const bad = await h.invoke("Get-Mailbox", { RecipientTypeDetails: "Mailboxes" });
    expect(bad.status).toBe(400);
  });

  it("-Archive lists only mailboxes with an archive", async () => {
    const expected = mailboxes.filter((m) => !m.inactive && m.archive).map((m) => m.alias);
    expect(expected.length).toBeGreaterThan(10);
    const r = await h.invoke("Get-Mailbox", { Archive: true, ResultSize: "Unlimited" }, { pageSize: 1000 });
    expect(r.json.value.map((row: { Alias: string }) => row.Alias)).toEqual(expected);
    const off = await h.invoke(
      "Get-Mailbox",
      { Archive: false, ResultSize: "Unlimited" },
      { pageSize: 1000 },
    );
    expect(off.json.value.length).toBe(mailboxes.filter((m) => !m.inactive).length);
  });

  it("hides inactive mailboxes unless asked", async () => {
    const inactive = mailboxes.filter((m) => m.inactive).map((m) => m.alias);
    expect(inactive.length).toBeGreaterThan(0);
    const only = await h.invoke(
      "Get-Mailbox",
      { InactiveMailboxOnly: true, ResultSize: "Unlimited" },
      { pageSize: 1000 },
    );
    expect(only.json.value.map((row: { Alias: string }) => row.Alias)).toEqual(inactive);
    expect(only.json.value.every((row: { IsInactiveMailbox: boolean }) => row.IsInactiveMailbox)).toBe(true);
    const all = await h.invoke(
      "Get-Mailbox",
      { IncludeInactiveMailbox: true, ResultSize: "Unlimited" },
      { pageSize: 1000 },
    );
    expect(all.json.value).toHaveLength(mailboxes.length);
    const hidden = await h.invoke("Get-Mailbox", { Identity: inactive[0] });
    expect(hidden.status).toBe(404);
    const shown = await h.invoke("Get-Mailbox", { Identity: inactive[0], IncludeInactiveMailbox: true });
    expect(shown.json.value[0].IsInactiveMailbox).toBe(true);
  });

  it("applies -Filter with -eq, -ne and -like", async () => {
    const active = mailboxes.filter((m) => !m.inactive);
    const run = async (filter: string) =>
      (
        await h.invoke("Get-Mailbox", { Filter: filter, ResultSize: "Unlimited" }, { pageSize: 1000 })
      ).json.value.map((row: { Alias: string }) => row.Alias);
    expect(await run("RecipientTypeDetails -eq 'EquipmentMailbox'")).toEqual(
      active.filter((m) => m.recipientTypeDetails === "EquipmentMailbox").map((m) => m.alias),
    );
    expect(await run("ArchiveStatus -ne 'Active'")).toEqual(
      active.filter((m) => !m.archive).map((m) => m.alias),
    );
    expect(await run("Alias -like 'shared*'")).toEqual(
      active.filter((m) => m.alias.startsWith("shared")).map((m) => m.alias),
    );
    const bad = await h.invoke("Get-Mailbox", { Filter: "Alias -matches 'x'" });
    expect(bad.status).toBe(400);
    expect(detail(bad.json).Message).toContain("Invalid filter syntax");
  });
});

describe("Get-EXO* names", () => {
  // The module's client-side cmdlets: the InvokeCommand runspace runs only the classic ones.
  it.each([
    "Get-EXOMailbox",
    "Get-EXOMailboxStatistics",
    "Get-EXORecipient",
    "Get-EXOCasMailbox",
    "Get-EXOMailboxPermission",
    "Get-EXORecipientPermission",
    "Get-EXOMailboxFolderStatistics",
    "Get-EXOMailboxFolderPermission",
    "Get-EXOMobileDeviceStatistics",
    "get-exomailbox",
  ])("refuses %s with 400 CommandNotFoundException", async (name) => {
    const r = await h.invoke(name, { ResultSize: 1 });
    expect(r.status).toBe(400);
    expect(r.headers.get("x-exceptiontype")).toBe("CommandNotFoundException");
    expect(detail(r.json).ClassName).toBe("System.Management.Automation.CommandNotFoundException");
    expect(detail(r.json).Message).toMatch(
      new RegExp(`^The term '${name}' is not recognized as the name of a cmdlet`),
    );
  });
});

describe("Get-MailboxStatistics", () => {
  it("reports sizes whose bytes part is the exact generated number", async () => {
    const m = find((x) => !x.inactive && x.primary.totalItemBytes > 1024 ** 3);
    const r = await h.invoke("Get-MailboxStatistics", { Identity: m.userPrincipalName });
    const row = r.json.value[0];
    expect(row).toMatchObject({
      DisplayName: m.displayName,
      MailboxGuid: m.guid,
      "MailboxGuid@odata.type": "#Guid",
      ItemCount: m.primary.itemCount,
      DeletedItemCount: m.primary.deletedItemCount,
      MailboxTypeDetail: m.recipientTypeDetails,
      IsArchiveMailbox: false,
    });
    expect(row.TotalItemSize).toMatch(/^\d+(\.\d{1,3})? GB \([\d,]+ bytes\)$/);
    expect(parseByteQuantifiedSize(row.TotalItemSize)).toBe(m.primary.totalItemBytes);
    expect(parseByteQuantifiedSize(row.TotalDeletedItemSize)).toBe(m.primary.deletedItemBytes);
    if (m.lastLogonTime) expect(Date.parse(row.LastLogonTime)).toBe(Date.parse(m.lastLogonTime));
    else expect(row.LastLogonTime).toBeNull();
  });

  it("answers only a warning and no object for a never-logged-on mailbox without store data", async () => {
    const m = find((x) => !x.inactive && x.noStatistics);
    expect(m.lastLogonTime).toBeNull();
    const r = await h.invoke("Get-MailboxStatistics", { Identity: m.userPrincipalName });
    expect(r.status).toBe(200);
    expect(r.json.value).toEqual([]);
    expect(r.json["@adminapi.warnings"]).toEqual([
      `The user hasn't logged on to mailbox '${m.userPrincipalName}' ('${m.guid}'), so there is no data to return. After the user logs on, this warning will no longer appear.`,
    ]);
  });

  it("reports null LastLogonTime for a mailbox never logged on that has store data", async () => {
    const m = find((x) => !x.inactive && x.lastLogonTime === null && !x.noStatistics);
    const r = await h.invoke("Get-MailboxStatistics", { Identity: m.alias });
    expect(r.json.value[0].LastLogonTime).toBeNull();
  });

  it("-Archive gives the archive's statistics and fails when there is no archive", async () => {
    const withArchive = find((x) => !x.inactive && x.archive !== undefined);
    const r = await h.invoke("Get-MailboxStatistics", { Identity: withArchive.alias, Archive: true });
    expect(r.status).toBe(200);
    expect(r.json.value[0].MailboxGuid).toBe(withArchive.archiveGuid);
    expect(parseByteQuantifiedSize(r.json.value[0].TotalItemSize)).toBe(withArchive.archive!.totalItemBytes);
    expect(r.json.value[0].ItemCount).toBe(withArchive.archive!.itemCount);
    const without = find((x) => !x.inactive && x.archive === undefined);
    const e = await h.invoke("Get-MailboxStatistics", { Identity: without.alias, Archive: true });
    expect(e.status).toBe(404);
    expect(detail(e.json).Message).toContain("doesn't have an archive");
  });

  it("needs an identity, and sees inactive mailboxes only with -IncludeSoftDeletedRecipients", async () => {
    const missing = await h.invoke("Get-MailboxStatistics", {});
    expect(missing.status).toBe(400);
    expect(detail(missing.json).Message).toContain("missing mandatory parameters: Identity");
    const inactive = find((x) => x.inactive);
    expect((await h.invoke("Get-MailboxStatistics", { Identity: inactive.alias })).status).toBe(404);
    const r = await h.invoke("Get-MailboxStatistics", {
      Identity: inactive.alias,
      IncludeSoftDeletedRecipients: true,
    });
    expect(r.status).toBe(200);
  });
});

describe("Get-Recipient / Get-User", () => {
  it("Get-Recipient -ResultSize Unlimited lists exactly the truth's recipients", async () => {
    const truth = h.dataset.expectedUsage();
    let url: string | undefined;
    let total = 0;
    const kinds = new Set<string>();
    do {
      const r = await h.invoke("Get-Recipient", { ResultSize: "Unlimited" }, { url, pageSize: 100 });
      total += r.json.value.length;
      for (const row of r.json.value) kinds.add(row.RecipientTypeDetails);
      url = r.json["@odata.nextLink"];
    } while (url);
    expect(total).toBe(truth.recipients);
    expect(kinds).toEqual(
      new Set([
        ...Object.keys(truth.mailboxesByType),
        "MailUser",
        "MailContact",
        "MailUniversalDistributionGroup",
        "GroupMailbox",
      ]),
    );
  });

  it("finds recipients by identity and filters by type", async () => {
    const other = h.dataset.recipient(h.dataset.count + 2);
    const r = await h.invoke("Get-Recipient", { Identity: other.Alias });
    expect(r.json.value[0]).toMatchObject({
      Name: other.Alias,
      RecipientTypeDetails: other.RecipientTypeDetails,
    });
    const contacts = await h.invoke(
      "Get-Recipient",
      { RecipientTypeDetails: "MailContact", ResultSize: "Unlimited" },
      { pageSize: 1000 },
    );
    expect(contacts.json.value.length).toBeGreaterThan(0);
    expect(
      contacts.json.value.every((row: { RecipientType: string }) => row.RecipientType === "MailContact"),
    ).toBe(true);
    expect((await h.invoke("Get-Recipient", { Identity: "nobody" })).status).toBe(404);
  });

  it("Get-User lists mailbox users and mail users", async () => {
    const m = find((x) => !x.inactive && x.recipientTypeDetails === "UserMailbox");
    const r = await h.invoke("Get-User", { Identity: m.userPrincipalName });
    expect(r.json.value[0]).toMatchObject({
      UserPrincipalName: m.userPrincipalName,
      RecipientTypeDetails: "UserMailbox",
      FirstName: m.displayName.split(" ")[0],
      AccountDisabled: false,
    });
    const mailUsers = await h.invoke(
      "Get-User",
      { RecipientTypeDetails: "MailUser", ResultSize: "Unlimited" },
      { pageSize: 1000 },
    );
    expect(mailUsers.json.value.length).toBeGreaterThan(0);
  });
});

describe("organization cmdlets", () => {
  it("Get-OrganizationConfig describes the tenant", async () => {
    const r = await h.invoke("Get-OrganizationConfig");
    expect(r.json.value).toEqual([
      expect.objectContaining({ Name: TEST_TENANT.domain, DisplayName: "Contoso", Guid: TEST_TENANT.id }),
    ]);
  });

  it("Get-AcceptedDomain lists the initial and the routing domain", async () => {
    const r = await h.invoke("Get-AcceptedDomain");
    expect(r.json.value.map((d: { DomainName: string }) => d.DomainName)).toEqual([
      "contoso.onmicrosoft.com",
      "contoso.mail.onmicrosoft.com",
    ]);
    expect(r.json.value[0]).toMatchObject({
      Default: true,
      InitialDomain: true,
      DomainType: "Authoritative",
    });
  });
});

describe("Set-Mailbox", () => {
  it("changes custom attributes visible to later reads, and warns when nothing changed", async () => {
    const m = find((x) => !x.inactive && x.recipientTypeDetails === "SharedMailbox");
    const set = await h.invoke("Set-Mailbox", {
      Identity: m.userPrincipalName,
      CustomAttribute1: "Finance",
      CustomAttribute15: "x",
    });
    expect(set.status).toBe(200);
    expect(set.json.value).toEqual([]);
    expect(set.json["@adminapi.warnings"]).toEqual([]);
    const row = (await h.invoke("Get-Mailbox", { Identity: m.alias })).json.value[0];
    expect(row).toMatchObject({ CustomAttribute1: "Finance", CustomAttribute15: "x", CustomAttribute2: "" });
    const filtered = await h.invoke("Get-Mailbox", { Filter: "CustomAttribute1 -eq 'finance'" });
    expect(filtered.json.value.map((r: { Alias: string }) => r.Alias)).toEqual([m.alias]);
    const again = await h.invoke("Set-Mailbox", { Identity: m.alias, CustomAttribute1: "Finance" });
    expect(again.json["@adminapi.warnings"]).toEqual([
      `The command completed successfully but no settings of '${m.alias}' have been modified.`,
    ]);
  });

  it("needs an existing identity and refuses parameters it does not have", async () => {
    expect((await h.invoke("Set-Mailbox", { CustomAttribute1: "x" })).status).toBe(400);
    expect((await h.invoke("Set-Mailbox", { Identity: "ghost", CustomAttribute1: "x" })).status).toBe(404);
    const r = await h.invoke("Set-Mailbox", { Identity: mailboxes[1]!.alias, Department: "x" });
    expect(r.status).toBe(400);
    expect(detail(r.json).Message).toBe(
      "A parameter cannot be found that matches parameter name 'Department'.",
    );
  });
});
