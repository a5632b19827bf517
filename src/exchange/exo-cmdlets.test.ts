import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type RecordingServer, sendJson, startRecordingServer } from "../../test/helpers/invoke-wire.js";
import type { AccessToken, TokenProvider } from "../auth/types.js";
import { UsageError } from "../errors.js";
import { HttpTransport } from "../http/transport.js";
import { ExchangeClient } from "./client.js";
import { translateExoCmdlet } from "./exo-cmdlets.js";

/**
 * Get-EXO* names never reach the server: a recording HTTPS server (not the emulator) sees the classic
 * cmdlet with the module's identity parameters mapped, and the rows come back cut to the property sets.
 */
const ORG = "contoso.onmicrosoft.com";
const tokens: TokenProvider = {
  kind: "fake",
  async getToken(): Promise<AccessToken> {
    return { token: "tok", expiresOnTimestamp: Date.now() + 3_600_000 };
  },
};

let server: RecordingServer;
let transport: HttpTransport;
/** what the fake server answers with: one wide Get-Mailbox/Get-MailboxStatistics-like row */
let answer: Record<string, unknown>[];

beforeAll(async () => {
  server = await startRecordingServer();
  transport = new HttpTransport({ caPem: [server.caPem] });
  server.setHandler((_req, res) => sendJson(res, 200, { value: answer }));
});
afterAll(async () => {
  transport.close();
  await server.close();
});
beforeEach(() => {
  server.requests.length = 0;
  answer = [];
});

const client = () =>
  new ExchangeClient({
    exchangeEndpoint: server.origin,
    organization: ORG,
    tokenProvider: tokens,
    transport,
  });

/** The CmdletInput and X-CmdletName of the one request sent. */
function sent() {
  expect(server.requests).toHaveLength(1);
  const req = server.requests[0]!;
  return {
    input: JSON.parse(req.body).CmdletInput as { CmdletName: string; Parameters: Record<string, unknown> },
    header: req.headers["x-cmdletname"],
  };
}

describe("Get-EXO* names on the wire", () => {
  const upn = "adele@contoso.onmicrosoft.com";
  const oid = "7f2a1c55-0d7b-4a5e-9f57-1b1e5a3c2d10";
  const cases: Array<[string, Record<string, unknown>, string, Record<string, unknown>]> = [
    [
      "Get-EXOMailbox",
      { UserPrincipalName: upn, ResultSize: "Unlimited", PropertySets: "Archive" },
      "Get-Mailbox",
      { Identity: upn, ResultSize: "Unlimited" },
    ],
    [
      "Get-EXOMailboxStatistics",
      { ExchangeGuid: oid, Archive: true, Properties: "LastLogonTime" },
      "Get-MailboxStatistics",
      { Identity: oid, Archive: true },
    ],
    [
      "Get-EXORecipient",
      { ExternalDirectoryObjectId: oid, Properties: ["CustomAttribute1"] },
      "Get-Recipient",
      { Identity: oid },
    ],
    [
      "Get-EXOCasMailbox",
      { PrimarySmtpAddress: upn, PropertySets: "Imap,Pop" },
      "Get-CASMailbox",
      { Identity: upn },
    ],
    ["Get-EXOMailboxPermission", { UserPrincipalName: upn }, "Get-MailboxPermission", { Identity: upn }],
    [
      "Get-EXORecipientPermission",
      { ExternalDirectoryObjectId: oid, AccessRights: "SendAs" },
      "Get-RecipientPermission",
      { Identity: oid, AccessRights: "SendAs" },
    ],
    [
      "Get-EXOMailboxFolderStatistics",
      { PrimarySmtpAddress: upn, FolderScope: "Inbox" },
      "Get-MailboxFolderStatistics",
      { Identity: upn, FolderScope: "Inbox" },
    ],
    [
      "Get-EXOMailboxFolderPermission",
      { Identity: `${upn}:\\Calendar`, User: "kim@contoso.com" },
      "Get-MailboxFolderPermission",
      { Identity: `${upn}:\\Calendar`, User: "kim@contoso.com" },
    ],
    [
      "Get-EXOMobileDeviceStatistics",
      { UserPrincipalName: upn, ActiveSync: true },
      "Get-MobileDeviceStatistics",
      { Mailbox: upn, ActiveSync: true },
    ],
  ];

  it.each(cases)(
    "%s is sent as its classic cmdlet with mapped parameters",
    async (name, params, classic, wire) => {
      await client().invoke(name, params as never);
      const { input, header } = sent();
      expect(input.CmdletName).toBe(classic);
      expect(header).toBe(classic);
      expect(input.Parameters).toEqual(wire);
    },
  );

  it("matches the Get-EXO* names case-insensitively", async () => {
    await client().invoke("get-exomailbox", { ResultSize: 1 });
    expect(sent().input.CmdletName).toBe("Get-Mailbox");
  });

  it("leaves every other cmdlet alone, -Properties included", async () => {
    await client().invoke("Get-Mailbox", { Identity: "a", Properties: "x" });
    expect(sent().input).toEqual({
      CmdletName: "Get-Mailbox",
      Parameters: { Identity: "a", Properties: "x" },
    });
  });
});

describe("property sets applied on our side", () => {
  /** A Get-Mailbox row as the server sends it: more than any property set, with annotations. */
  const wideMailbox = () => ({
    Alias: "adele",
    DisplayName: "Adele Vance",
    DistinguishedName: "CN=adele",
    EmailAddresses: ["SMTP:adele@contoso.com"],
    "EmailAddresses@odata.type": "#Collection(String)",
    ExchangeVersion: "0.20 (15.0.0.0)",
    ExternalDirectoryObjectId: "oid-1",
    Guid: "11111111-1111-1111-1111-111111111111",
    "Guid@odata.type": "#Guid",
    Id: "adele",
    Identity: "adele",
    Name: "adele",
    OrganizationId: "org",
    PrimarySmtpAddress: "adele@contoso.com",
    RecipientType: "UserMailbox",
    RecipientTypeDetails: "UserMailbox",
    UserPrincipalName: "adele@contoso.onmicrosoft.com",
    ArchiveStatus: "Active",
    ArchiveGuid: "22222222-2222-2222-2222-222222222222",
    ProhibitSendQuota: "99 GB (106,300,440,576 bytes)",
    CustomAttribute7: "seven",
    ExchangeGuid: "33333333-3333-3333-3333-333333333333",
  });
  const MAILBOX_MINIMUM = [
    "Alias",
    "DisplayName",
    "DistinguishedName",
    "EmailAddresses",
    "ExchangeVersion",
    "ExternalDirectoryObjectId",
    "Guid",
    "Id",
    "Name",
    "OrganizationId",
    "PrimarySmtpAddress",
    "RecipientType",
    "RecipientTypeDetails",
    "UserPrincipalName",
  ];

  it("Get-EXOMailbox returns the Minimum set by default (annotations dropped after selection)", async () => {
    answer = [wideMailbox()];
    const [row] = await client().invoke("Get-EXOMailbox", {});
    expect(Object.keys(row!).sort()).toEqual([...MAILBOX_MINIMUM].sort());
  });

  it("adds the requested sets and properties (wildcards too) to Minimum", async () => {
    answer = [wideMailbox()];
    const [row] = await client().invoke("Get-EXOMailbox", {
      PropertySets: ["Archive"],
      Properties: "Custom*,ExchangeGuid",
    });
    expect(Object.keys(row!).sort()).toEqual(
      [...MAILBOX_MINIMUM, "ArchiveGuid", "ArchiveStatus", "CustomAttribute7", "ExchangeGuid"].sort(),
    );
  });

  it("-PropertySets All keeps whole rows; raw rows keep the selected annotations", async () => {
    answer = [wideMailbox()];
    const [all] = await client().invoke("Get-EXOMailbox", { PropertySets: "All" });
    expect(Object.keys(all!)).toContain("ProhibitSendQuota");
    expect(all!.ProhibitSendQuotaBytes).toBe(106_300_440_576);
    answer = [wideMailbox()];
    const [raw] = await client().invoke("Get-EXOMailbox", {}, { raw: true });
    expect(raw!["Guid@odata.type"]).toBe("#Guid");
    expect(raw!["EmailAddresses@odata.type"]).toBe("#Collection(String)");
    expect(raw).not.toHaveProperty("ArchiveStatus");
  });

  it("Get-EXOMailboxStatistics: sizes and counts by default, normalised bytes kept", async () => {
    answer = [
      {
        DisplayName: "Adele Vance",
        MailboxGuid: "33333333-3333-3333-3333-333333333333",
        ItemCount: 10,
        DeletedItemCount: 2,
        TotalItemSize: "1 KB (1,024 bytes)",
        TotalDeletedItemSize: "0 B (0 bytes)",
        LastLogonTime: "2026-10-01T00:00:00",
        DatabaseName: "DB01",
      },
    ];
    const [row] = await client().invoke("Get-EXOMailboxStatistics", { Identity: "adele" });
    expect(row).toEqual({
      DisplayName: "Adele Vance",
      MailboxGuid: "33333333-3333-3333-3333-333333333333",
      ItemCount: 10,
      DeletedItemCount: 2,
      TotalItemSize: "1 KB (1,024 bytes)",
      TotalItemSizeBytes: 1024,
      TotalDeletedItemSize: "0 B (0 bytes)",
      TotalDeletedItemSizeBytes: 0,
    });
    const [withLogon] = await client().invoke("Get-EXOMailboxStatistics", {
      Identity: "adele",
      Properties: "LastLogonTime",
    });
    expect(withLogon!.LastLogonTime).toBe("2026-10-01T00:00:00");
    expect(withLogon).not.toHaveProperty("DatabaseName");
  });

  it("Get-EXORecipient's Minimum matches ExternalDirectoryObjectID whatever its case", async () => {
    answer = [
      { Name: "x", ExternalDirectoryObjectId: "oid", RecipientType: "MailUser", Alias: "x", Guid: "g" },
    ];
    const [row] = await client().invoke("Get-EXORecipient", {});
    expect(row).toEqual({ Name: "x", ExternalDirectoryObjectId: "oid", RecipientType: "MailUser" });
  });

  it("cmdlets without property sets return whole rows", async () => {
    answer = [{ Identity: "a", User: "b", AccessRights: ["FullAccess"], Deny: false }];
    const rows = await client().invoke("Get-EXOMailboxPermission", { Identity: "a" });
    expect(rows).toEqual(answer);
  });
});

describe("what the module itself refuses, refused before any request", () => {
  it.each([
    ["Get-EXOMailbox", { Identity: "a", UserPrincipalName: "b" }, /cannot be used together/],
    ["Get-EXOMobileDeviceStatistics", { Mailbox: "a", PrimarySmtpAddress: "b" }, /cannot be used together/],
    ["Get-EXOMailbox", { PropertySets: "Everything" }, /unknown property set 'Everything'/],
    ["Get-EXOMailboxPermission", { Properties: "User" }, /has no -PropertySets or -Properties/],
  ])("%s %j", async (name, params, message) => {
    await expect(client().invoke(name, params as never)).rejects.toThrow(message);
    await expect(client().invoke(name, params as never)).rejects.toBeInstanceOf(UsageError);
    expect(server.requests).toHaveLength(0);
  });

  it("translateExoCmdlet is undefined for classic names", () => {
    expect(translateExoCmdlet("Get-Mailbox", {})).toBeUndefined();
    expect(translateExoCmdlet("Get-EXOMailbox", {})?.cmdlet).toBe("Get-Mailbox");
  });
});
