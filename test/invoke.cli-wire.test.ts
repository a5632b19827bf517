import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { CliContext } from "../src/cli/context.js";
import { main } from "../src/cli/main.js";
import {
  createAppCertificate,
  fakeJwt,
  type RecordingServer,
  sendJson,
  startRecordingServer,
} from "./helpers/invoke-wire.js";

/**
 * The CLI end to end against a local HTTPS server playing both identity and Exchange (no emulator):
 * argument parsing, exit codes, stdout/stderr discipline, and that bad input never reaches the network.
 */
const APP_ID = "11111111-2222-3333-4444-555555555555";
const ORG = "contoso.onmicrosoft.com";
const EXCHANGE_ADMIN = "29232cdf-9323-42fd-ade2-1d097af3e4de";

let server: RecordingServer;
let dir: string;
let pemPath: string;
let env: NodeJS.ProcessEnv;

function capture() {
  let text = "";
  const stream = new Writable({
    write(chunk, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { stream, text: () => text };
}

async function run(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const out = capture();
  const err = capture();
  const ctx: CliContext = {
    stdout: out.stream,
    stderr: err.stream,
    env: { ...env, ...extraEnv },
    interactive: false,
    debug: false,
    yes: false,
  };
  const code = await main(args, ctx);
  return { code, stdout: out.text(), stderr: err.text() };
}

let accessToken: string;
let exchangeHandler: (body: Record<string, unknown>, url: string) => { status: number; body: unknown };

beforeAll(async () => {
  const [s, cert] = await Promise.all([startRecordingServer(), createAppCertificate()]);
  server = s;
  dir = await mkdtemp(join(tmpdir(), "exo-invoke-cli-"));
  pemPath = join(dir, "app.pem");
  await writeFile(pemPath, `${cert.certificatePem}\n${cert.privateKeyPem}`, { mode: 0o600 });
  connection.push("--app-id", APP_ID, "--organization", ORG, "--certificate-file-path", pemPath);
  const caPath = join(dir, "ca.pem");
  await writeFile(caPath, server.caPem);
  env = {
    EXO_CBA_HOME: join(dir, "home"),
    EXO_AUTHORITY_HOST: server.origin,
    EXO_EXCHANGE_ENDPOINT: server.origin,
    EXO_GRAPH_ENDPOINT: server.origin,
    NODE_EXTRA_CA_CERTS: caPath,
  };
  server.setHandler((req, res) => {
    if (req.url.includes("/.well-known/openid-configuration")) {
      return sendJson(res, 200, {
        issuer: `${server.origin}/${ORG}/v2.0`,
        authorization_endpoint: `${server.origin}/${ORG}/oauth2/v2.0/authorize`,
        token_endpoint: `${server.origin}/${ORG}/oauth2/v2.0/token`,
        jwks_uri: `${server.origin}/${ORG}/discovery/v2.0/keys`,
      });
    }
    if (req.url.includes("/oauth2/v2.0/token")) {
      return sendJson(res, 200, { token_type: "Bearer", expires_in: 3599, access_token: accessToken });
    }
    if (req.url.startsWith(`/adminapi/beta/${ORG}/InvokeCommand`)) {
      const r = exchangeHandler(JSON.parse(req.body).CmdletInput, req.url);
      return sendJson(res, r.status, r.body);
    }
    sendJson(res, 404, {});
  });
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  server.requests.length = 0;
  accessToken = fakeJwt({
    roles: ["Exchange.ManageAsApp"],
    wids: [EXCHANGE_ADMIN],
    tid: "t-1",
    exp: 4_000_000_000,
  });
  exchangeHandler = () => ({ status: 200, body: { value: [] } });
});

const connection: string[] = [];

describe("exo-cba invoke (wire)", () => {
  it("passes PowerShell-style parameters and streams rows as ndjson", async () => {
    const seen: Array<Record<string, unknown>> = [];
    exchangeHandler = (input, url) => {
      seen.push(input);
      return url.includes("skiptoken")
        ? { status: 200, body: { value: [{ Name: "b", "Name@odata.type": "#String" }] } }
        : {
            status: 200,
            body: {
              value: [{ Name: "a", TotalItemSize: "1 KB (1,024 bytes)" }],
              "@odata.nextLink": `${server.origin}/adminapi/beta/${ORG}/InvokeCommand?$skiptoken=1`,
              "@adminapi.warnings": ["heads up"],
            },
          };
    };
    const r = await run([
      "invoke",
      "Get-Mailbox",
      "-ResultSize",
      "Unlimited",
      "-RecipientTypeDetails",
      "UserMailbox,SharedMailbox",
      "-Archive",
      "-IncludeInactiveMailbox:$false",
      "--output",
      "ndjson",
      ...connection,
    ]);
    expect(r.stderr).toContain("WARNING: heads up");
    expect(r.code).toBe(0);
    expect(
      r.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l)),
    ).toEqual([{ Name: "a", TotalItemSize: "1 KB (1,024 bytes)", TotalItemSizeBytes: 1024 }, { Name: "b" }]);
    expect(seen[0]).toEqual({
      CmdletName: "Get-Mailbox",
      Parameters: {
        ResultSize: "Unlimited",
        RecipientTypeDetails: ["UserMailbox", "SharedMailbox"],
        Archive: true,
        IncludeInactiveMailbox: false,
      },
    });
  });

  it("answers Get-EXOMailbox itself: the server gets Get-Mailbox, the rows are cut to the property sets", async () => {
    const seen: Array<Record<string, unknown>> = [];
    exchangeHandler = (input) => {
      seen.push(input);
      return {
        status: 200,
        body: {
          value: [
            { Name: "a", UserPrincipalName: "a@x", ArchiveStatus: "Active", ProhibitSendQuota: "Unlimited" },
          ],
        },
      };
    };
    const r = await run([
      "invoke",
      "Get-EXOMailbox",
      "-UserPrincipalName",
      "a@x",
      "-PropertySets",
      "Archive",
      "--output",
      "ndjson",
      ...connection,
    ]);
    expect(r.code).toBe(0);
    expect(seen).toEqual([{ CmdletName: "Get-Mailbox", Parameters: { Identity: "a@x" } }]);
    expect(JSON.parse(r.stdout.trim())).toEqual({
      Name: "a",
      UserPrincipalName: "a@x",
      ArchiveStatus: "Active",
    });
  });

  it("reads -Verbose/-V… and -y… as cmdlet parameters, not as exo-cba's --version/--yes", async () => {
    const seen: Array<Record<string, unknown>> = [];
    exchangeHandler = (input) => {
      seen.push(input);
      return { status: 200, body: { value: [{ Name: "a" }] } };
    };
    const r = await run([
      "invoke",
      "Get-Mailbox",
      "-Verbose",
      "--output",
      "ndjson",
      "-Identity",
      "x",
      "-VirtualDirectory:$false",
      ...connection,
      "--",
      "-yes",
      "-Output",
      "ndjson",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('{"Name":"a"}\n');
    expect(seen[0]?.Parameters).toEqual({
      Verbose: true,
      Identity: "x",
      VirtualDirectory: false,
      yes: true,
      Output: "ndjson",
    });
  });

  it("warns on stderr when the certificate expires within 30 days", async () => {
    const soon = await createAppCertificate("CN=expiring", new Date(Date.now() + 5 * 86_400_000));
    const path = join(dir, "expiring.pem");
    await writeFile(path, `${soon.certificatePem}\n${soon.privateKeyPem}`, { mode: 0o600 });
    const r = await run([
      "invoke",
      "Get-Mailbox",
      "--app-id",
      APP_ID,
      "--organization",
      ORG,
      "--certificate-file-path",
      path,
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /WARNING: the certificate [0-9A-F]{40} expires in [45] day\(s\).*exo-cba cert rotate/,
    );
    const quiet = await run(["invoke", "Get-Mailbox", ...connection]);
    expect(quiet.stderr).toBe("");
  });

  it("keeps -V as --version on every other command line", async () => {
    const r = await run(["-V"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it("maps a cmdlet error to exit 5 with the server's message", async () => {
    exchangeHandler = () => ({
      status: 404,
      body: {
        error: {
          code: "NotFound",
          message: "Error executing cmdlet",
          details: [
            {
              message:
                "Ex41BAF5|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The specified mailbox doesn't exist.",
            },
          ],
        },
      },
    });
    const r = await run(["invoke", "Get-Mailbox", "-Identity", "nobody", ...connection]);
    expect(r.code).toBe(5);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/The specified mailbox doesn't exist/);
  });

  it("explains a 403 from the token's claims (exit 4, role missing)", async () => {
    accessToken = fakeJwt({ roles: ["Exchange.ManageAsApp"], wids: [], exp: 4_000_000_000 });
    exchangeHandler = () => ({ status: 403, body: "" });
    const r = await run(["invoke", "Get-Mailbox", ...connection]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/no directory role/);
  });

  describe("bad input fails with exit 2 before any request", () => {
    const cases: Array<[string, string[], RegExp]> = [
      [
        "malformed app id",
        [
          "invoke",
          "Get-Mailbox",
          "--app-id",
          "nope",
          "--organization",
          ORG,
          "--certificate-file-path",
          "x.pem",
        ],
        /not a GUID/,
      ],
      [
        "bad organization",
        [
          "invoke",
          "Get-Mailbox",
          "--app-id",
          APP_ID,
          "--organization",
          "contoso",
          "--certificate-file-path",
          "x.pem",
        ],
        /neither a tenant id nor a domain/,
      ],
      [
        "missing credential",
        ["invoke", "Get-Mailbox", "--app-id", APP_ID, "--organization", ORG],
        /No certificate/,
      ],
      [
        "conflicting credentials",
        [
          "invoke",
          "Get-Mailbox",
          "--app-id",
          APP_ID,
          "--organization",
          ORG,
          "--certificate-file-path",
          "x.pem",
          "--certificate-thumbprint",
          "A".repeat(40),
        ],
        /not both/,
      ],
      ["cmdlet not Verb-Noun", ["invoke", "GetMailbox", ...["--app-id", APP_ID]], /Verb-Noun/],
      [
        "invalid JSON parameters",
        ["invoke", "Get-Mailbox", "--parameters-json", "{oops", ...["--app-id", APP_ID]],
        /not valid JSON/,
      ],
      ["stray argument", ["invoke", "Get-Mailbox", "adele"], /Unexpected argument 'adele'/],
      [
        "unreadable certificate file",
        [
          "invoke",
          "Get-Mailbox",
          "--app-id",
          APP_ID,
          "--organization",
          ORG,
          "--certificate-file-path",
          "/nonexistent/x.pem",
        ],
        /x\.pem/,
      ],
    ];
    for (const [name, args, message] of cases) {
      it(name, async () => {
        const r = await run(args);
        expect(r.stderr).toMatch(message);
        expect(r.code).toBe(2);
        expect(r.stdout).toBe("");
        expect(server.requests).toHaveLength(0);
      });
    }
  });
});

describe("exo-cba token (wire)", () => {
  it("prints only the token on stdout and its expiry on stderr", async () => {
    const r = await run(["token", ...connection]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${accessToken}\n`);
    expect(r.stderr).toMatch(/expires \d{4}-\d\d-\d\dT/);
    const form = new URLSearchParams(server.requests.find((q) => q.method === "POST")!.body);
    expect(form.get("scope")).toBe(`${server.origin}/.default`);
  });

  it("gives JSON with --output json", async () => {
    const r = await run(["token", "--resource", "graph", "--output", "json", ...connection]);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.accessToken).toBe(accessToken);
    expect(json.resource).toBe(server.origin);
    expect(Number.isNaN(Date.parse(json.expiresOn))).toBe(false);
  });
});

describe("exo-cba test (wire)", () => {
  it("reports organization, app, certificate and roles", async () => {
    exchangeHandler = () => ({
      status: 200,
      body: { value: [{ Name: "contoso", DisplayName: "Contoso Ltd" }] },
    });
    const r = await run(["test", "--output", "json", ...connection]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({
      result: "ok",
      organization: ORG,
      organizationName: "Contoso Ltd",
      appId: APP_ID,
      permission: "Exchange.ManageAsApp",
      roles: "Exchange Administrator",
    });
    expect(report.certificateThumbprint).toMatch(/^[0-9A-F]{40}$/);
    expect(r.stderr).toMatch(/ok +cmdlet: Get-OrganizationConfig returned Contoso Ltd/);
  });

  it("says the permission link is broken when the token lacks Exchange.ManageAsApp (exit 4)", async () => {
    accessToken = fakeJwt({ roles: [], wids: [EXCHANGE_ADMIN], exp: 4_000_000_000 });
    const r = await run(["test", ...connection]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/FAIL permission/);
    expect(server.requests.some((q) => q.url.includes("InvokeCommand"))).toBe(false);
  });
});
