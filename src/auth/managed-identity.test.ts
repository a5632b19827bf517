import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AuthenticationError } from "../errors.js";
import { ManagedIdentityTokenProvider } from "./managed-identity.js";

/**
 * Azure Arc-enabled servers (docs/invoke.md "Managed identity"): a loopback HTTP server plays the Arc
 * agent (HIMDS): the first GET gets 401 with `WWW-Authenticate: Basic realm=<key file>`, the agent writes
 * the secret to that file, and the retry must carry `Authorization: Basic <secret>`.
 */
const SECRET = "a3f1c0ffee0ddba11";
let server: Server;
let endpoint: string;
let tokens: string;
let seen: Array<{ url: string; authorization: string | undefined; metadata: string | undefined }>;
/** the realm the fake agent announces (default: a fresh key file in the tokens folder) */
let realm: () => string;
let keyPath: string;

beforeAll(async () => {
  tokens = await mkdtemp(join(tmpdir(), "exo-arc-tokens-"));
  keyPath = join(tokens, "4c1f7e52-8d3b-4a4e-9f0a-2f5b1e6c7d80.key");
  server = createServer((req: IncomingMessage, res) => {
    seen.push({
      url: req.url ?? "",
      authorization: req.headers.authorization,
      metadata: req.headers.metadata as string | undefined,
    });
    if (req.headers.authorization !== `Basic ${SECRET}`) {
      res.writeHead(401, { "www-authenticate": `Basic realm=${realm()}` });
      res.end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ access_token: "arc-token", expires_on: "1900000000", token_type: "Bearer" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metadata/identity/oauth2/token`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(tokens, { recursive: true, force: true });
});
beforeEach(async () => {
  seen = [];
  realm = () => keyPath;
  await writeFile(keyPath, `${SECRET}\n`);
});

const provider = (extra: Partial<ConstructorParameters<typeof ManagedIdentityTokenProvider>[0]> = {}) =>
  new ManagedIdentityTokenProvider({
    resource: "https://outlook.office365.com",
    env: { IDENTITY_ENDPOINT: endpoint, IMDS_ENDPOINT: "http://localhost:40342" },
    arcTokensFolder: tokens,
    retry: { maxAttempts: 1 },
    ...extra,
  });

describe("Azure Arc managed identity", () => {
  it("answers the key-file challenge with Authorization: Basic and gets the token", async () => {
    expect(await provider().getToken()).toEqual({
      token: "arc-token",
      expiresOnTimestamp: 1_900_000_000_000,
    });
    expect(seen).toHaveLength(2);
    const first = new URL(seen[0]!.url, "http://x");
    expect(first.pathname).toBe("/metadata/identity/oauth2/token");
    expect(first.searchParams.get("api-version")).toBe("2020-06-01");
    expect(first.searchParams.get("resource")).toBe("https://outlook.office365.com/");
    expect(seen[0]).toMatchObject({ authorization: undefined, metadata: "true" });
    expect(seen[1]).toMatchObject({ url: seen[0]!.url, authorization: `Basic ${SECRET}`, metadata: "true" });
  });

  it("never reads a file outside the agent's tokens folder, or one that is not a .key file", async () => {
    const outside = join(tmpdir(), "exo-arc-elsewhere.key");
    await writeFile(outside, SECRET);
    for (const bad of [outside, `${tokens}/../x.key`, join(tokens, "secret.txt")]) {
      seen = [];
      realm = () => bad;
      const error = await provider()
        .getToken()
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthenticationError);
      expect((error as Error).message).toMatch(/not a \.key file in/);
      expect(seen).toHaveLength(1); // no second request: the secret was never read
    }
    await rm(outside, { force: true });
  });

  it("refuses a key file larger than 4096 bytes, and a challenge without a realm", async () => {
    await writeFile(keyPath, "x".repeat(4097));
    await expect(provider().getToken()).rejects.toThrow(/4097 bytes/);
    expect(seen).toHaveLength(1);
    seen = [];
    realm = () => "";
    await expect(provider().getToken()).rejects.toThrow(/without a 'WWW-Authenticate: Basic realm/);
  });

  it("says so when the key file cannot be read (not in the agent's group)", async () => {
    realm = () => join(tokens, "missing.key");
    await expect(provider().getToken()).rejects.toThrow(/cannot read the challenge file .*ENOENT/);
  });

  it("has no user-assigned identities, and never sends the request off the machine", async () => {
    await expect(provider({ clientId: "99999999-0000-0000-0000-000000000000" }).getToken()).rejects.toThrow(
      /system-assigned identity only/,
    );
    await expect(
      provider({
        env: { IDENTITY_ENDPOINT: "http://arc.example.com/token", IMDS_ENDPOINT: "http://x" },
      }).getToken(),
    ).rejects.toThrow(/not at a local endpoint/);
    expect(seen).toHaveLength(0);
  });
});
