import { readFile, stat } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { basename, join } from "node:path";
import { AuthenticationError } from "../errors.js";
import { RetryableError, type RetryOptions, withRetry } from "../http/retry.js";
import { isTransientNetworkError } from "../http/transport.js";
import type { AccessToken, TokenProvider } from "./types.js";

/**
 * Managed identity (docs/invoke.md, "Managed identity"): Azure VMs/VMSS (IMDS at 169.254.169.254),
 * App Service / Functions / Automation (IDENTITY_ENDPOINT + IDENTITY_HEADER), and Azure Arc-enabled
 * servers (IDENTITY_ENDPOINT + IMDS_ENDPOINT, the local agent on port 40342 with a key-file challenge).
 * The endpoints are plain HTTP by design — link-local or loopback, they never leave the machine — so this
 * is the one place that does not use the HTTPS transport.
 */
export const IMDS_TOKEN_URL = "http://169.254.169.254/metadata/identity/oauth2/token";

export interface LocalResponse {
  status: number;
  body: string;
  headers?: Record<string, string | string[] | undefined>;
}

export type LocalGet = (url: string, headers: Record<string, string>) => Promise<LocalResponse>;

/** Azure Arc: the agent's API version (the one Microsoft's MSAL for Node sends). */
export const ARC_API_VERSION = "2020-06-01";
/** Azure Arc: the challenge file is at most this big (MSAL's limit; the real file is a short secret). */
export const ARC_KEY_FILE_MAX_BYTES = 4096;

/** Where the Arc agent writes its challenge files: the only folder we read a key from. */
export function arcTokensFolder(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): string | undefined {
  if (platform === "linux") return "/var/opt/azcmagent/tokens";
  if (platform === "win32" && env.ProgramData)
    return join(env.ProgramData, "AzureConnectedMachineAgent", "Tokens");
  return undefined;
}

export interface ManagedIdentityOptions {
  /** Resource URI, e.g. `https://outlook.office365.com` (the scope without `/.default`). */
  resource: string;
  /** User-assigned identity client id; omit for the system-assigned identity. */
  clientId?: string;
  env?: NodeJS.ProcessEnv;
  /** Injected in tests. */
  get?: LocalGet;
  /** Azure Arc key-file folder; injected in tests (default: the agent's folder for this platform). */
  arcTokensFolder?: string;
  retry?: RetryOptions;
  now?: () => number;
}

const defaultGet: LocalGet = (url, headers) =>
  new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: "GET", headers, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString("utf8"),
          headers: res.headers,
        }),
      );
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })));
    req.on("error", reject);
    req.end();
  });

/** Only these hosts may receive a managed-identity request (a misconfigured env must not leak the header). */
function isLocalEndpoint(url: URL): boolean {
  return ["169.254.169.254", "127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
}

export class ManagedIdentityTokenProvider implements TokenProvider {
  readonly kind: string;
  private readonly get: LocalGet;

  constructor(private readonly options: ManagedIdentityOptions) {
    this.get = options.get ?? defaultGet;
    this.kind = options.clientId ? "managed-identity-user-assigned" : "managed-identity";
  }

  /**
   * The request to make: Azure Arc when IDENTITY_ENDPOINT and IMDS_ENDPOINT are set, App Service when
   * IDENTITY_ENDPOINT and IDENTITY_HEADER are, IMDS otherwise.
   */
  requestFor(): { url: URL; headers: Record<string, string>; arc: boolean } {
    const env = this.options.env ?? process.env;
    const resource =
      this.options.resource.startsWith("https://") && !this.options.resource.endsWith("/")
        ? `${this.options.resource}/`
        : this.options.resource;
    const local = (value: string) => {
      const url = new URL(value);
      if (!isLocalEndpoint(url)) {
        throw new AuthenticationError(`IDENTITY_ENDPOINT points at ${url.host}, not at a local endpoint.`, {
          hint: "Managed identity endpoints are local to the host; check the environment.",
        });
      }
      return url;
    };
    if (env.IDENTITY_ENDPOINT && env.IMDS_ENDPOINT && !env.IDENTITY_HEADER) {
      if (this.options.clientId) {
        throw new AuthenticationError("Azure Arc-enabled servers have a system-assigned identity only.", {
          hint: "Use managedIdentity: true (no client id) on an Arc-enabled server.",
        });
      }
      const url = local(env.IDENTITY_ENDPOINT);
      url.searchParams.set("api-version", ARC_API_VERSION);
      url.searchParams.set("resource", resource);
      return { url, headers: { Metadata: "true" }, arc: true };
    }
    if (env.IDENTITY_ENDPOINT && env.IDENTITY_HEADER) {
      const url = local(env.IDENTITY_ENDPOINT);
      url.searchParams.set("api-version", "2019-08-01");
      url.searchParams.set("resource", resource);
      if (this.options.clientId) url.searchParams.set("client_id", this.options.clientId);
      return { url, headers: { "X-IDENTITY-HEADER": env.IDENTITY_HEADER }, arc: false };
    }
    const url = new URL(IMDS_TOKEN_URL);
    url.searchParams.set("api-version", "2018-02-01");
    url.searchParams.set("resource", resource);
    if (this.options.clientId) url.searchParams.set("client_id", this.options.clientId);
    return { url, headers: { Metadata: "true" }, arc: false };
  }

  /**
   * Azure Arc's challenge: a 401 whose `WWW-Authenticate: Basic realm=<path>` names a key file the agent
   * just wrote. Only a small `.key` file directly in the agent's tokens folder is read (reading it needs
   * local admin or the agent's group: that is the proof); its contents go back as `Authorization: Basic`.
   */
  private async arcSecret(res: LocalResponse): Promise<string> {
    const fail = (why: string) =>
      new AuthenticationError(`Azure Arc managed identity: ${why}`, {
        httpStatus: res.status,
        hint: "Run as a user allowed to read the Arc agent's tokens folder (Administrators, or the 'himds' group on Linux).",
      });
    const header = res.headers?.["www-authenticate"];
    const challenge = Array.isArray(header) ? header[0] : header;
    const realm = challenge ? /^\s*Basic\s+realm=(.+)$/i.exec(challenge)?.[1]?.trim() : undefined;
    if (!realm)
      throw fail("the agent answered 401 without a 'WWW-Authenticate: Basic realm=<key file>' challenge.");
    const env = this.options.env ?? process.env;
    const folder = this.options.arcTokensFolder ?? arcTokensFolder(process.platform, env);
    if (!folder)
      throw fail(`not supported on ${process.platform} (Azure Arc agents run on Linux and Windows).`);
    const name = basename(realm);
    if (!name.endsWith(".key") || join(folder, name) !== realm) {
      throw fail(`the challenge names '${realm}', which is not a .key file in ${folder}; not reading it.`);
    }
    let size: number;
    try {
      size = (await stat(realm)).size;
    } catch (error) {
      throw fail(
        `cannot read the challenge file ${realm}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`,
      );
    }
    if (size > ARC_KEY_FILE_MAX_BYTES) {
      throw fail(
        `the challenge file ${realm} is ${size} bytes (at most ${ARC_KEY_FILE_MAX_BYTES} expected); not using it.`,
      );
    }
    try {
      return (await readFile(realm, "utf8")).trim();
    } catch (error) {
      throw fail(
        `cannot read the challenge file ${realm}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`,
      );
    }
  }

  async getToken(): Promise<AccessToken> {
    const { url, headers, arc } = this.requestFor();
    const now = this.options.now ?? Date.now;
    return withRetry(
      async () => {
        let res: LocalResponse;
        try {
          res = await this.get(url.toString(), headers);
          // Azure Arc: answer the key-file challenge once, on the same URL (the secret is never logged).
          if (arc && res.status === 401) {
            const secret = await this.arcSecret(res);
            res = await this.get(url.toString(), { ...headers, Authorization: `Basic ${secret}` });
          }
        } catch (error) {
          if (error instanceof AuthenticationError) throw error;
          if (isTransientNetworkError(error)) throw error;
          throw new AuthenticationError(
            `The managed identity endpoint is unreachable: ${(error as Error).message}`,
            {
              hint: "Run on an Azure resource with a managed identity enabled, or use a certificate.",
            },
          );
        }
        if (res.status === 429 || res.status >= 500) {
          throw new RetryableError(`managed identity endpoint answered HTTP ${res.status}`, {
            httpStatus: res.status,
          });
        }
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(res.body) as Record<string, unknown>;
        } catch {
          // handled below as a refusal with the raw status
        }
        if (res.status !== 200 || typeof body.access_token !== "string") {
          const detail = String(body.error_description ?? body.error ?? body.message ?? `HTTP ${res.status}`);
          throw new AuthenticationError(
            `The managed identity endpoint refused the token request: ${detail}`,
            {
              httpStatus: res.status,
              hint: this.options.clientId
                ? "Check the user-assigned identity's client id is attached to this resource."
                : "Enable the system-assigned identity on this resource, or pass the user-assigned identity's client id.",
            },
          );
        }
        const expiresOn = Number(body.expires_on);
        const expiresIn = Number(body.expires_in);
        const expiresOnTimestamp = Number.isFinite(expiresOn)
          ? expiresOn * 1000
          : now() + (Number.isFinite(expiresIn) ? expiresIn : 3600) * 1000;
        return { token: body.access_token, expiresOnTimestamp };
      },
      { maxAttempts: 4, baseDelayMs: 1000, ...this.options.retry },
    );
  }
}
