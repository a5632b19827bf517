import { request as httpRequest } from "node:http";
import { AuthenticationError } from "../errors.js";
import { RetryableError, type RetryOptions, withRetry } from "../http/retry.js";
import { isTransientNetworkError } from "../http/transport.js";
import type { AccessToken, TokenProvider } from "./types.js";

/**
 * Managed identity: Azure VMs/VMSS/Arc (IMDS at 169.254.169.254) and App Service / Functions / Automation
 * (IDENTITY_ENDPOINT + IDENTITY_HEADER). Both endpoints are plain HTTP by design — they are link-local or
 * loopback and never leave the machine — so this is the one place that does not use the HTTPS transport.
 */
export const IMDS_TOKEN_URL = "http://169.254.169.254/metadata/identity/oauth2/token";

export type LocalGet = (
  url: string,
  headers: Record<string, string>,
) => Promise<{ status: number; body: string }>;

export interface ManagedIdentityOptions {
  /** Resource URI, e.g. `https://outlook.office365.com` (the scope without `/.default`). */
  resource: string;
  /** User-assigned identity client id; omit for the system-assigned identity. */
  clientId?: string;
  env?: NodeJS.ProcessEnv;
  /** Injected in tests. */
  get?: LocalGet;
  retry?: RetryOptions;
  now?: () => number;
}

const defaultGet: LocalGet = (url, headers) =>
  new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: "GET", headers, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
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

  /** The request to make: App Service when IDENTITY_ENDPOINT/IDENTITY_HEADER are set, IMDS otherwise. */
  requestFor(): { url: URL; headers: Record<string, string> } {
    const env = this.options.env ?? process.env;
    const resource = this.options.resource.endsWith("/")
      ? this.options.resource
      : `${this.options.resource}/`;
    if (env.IDENTITY_ENDPOINT && env.IDENTITY_HEADER) {
      const url = new URL(env.IDENTITY_ENDPOINT);
      if (!isLocalEndpoint(url)) {
        throw new AuthenticationError(`IDENTITY_ENDPOINT points at ${url.host}, not at a local endpoint.`, {
          hint: "Managed identity endpoints are local to the host; check the environment.",
        });
      }
      url.searchParams.set("api-version", "2019-08-01");
      url.searchParams.set("resource", resource);
      if (this.options.clientId) url.searchParams.set("client_id", this.options.clientId);
      return { url, headers: { "X-IDENTITY-HEADER": env.IDENTITY_HEADER } };
    }
    const url = new URL(IMDS_TOKEN_URL);
    url.searchParams.set("api-version", "2018-02-01");
    url.searchParams.set("resource", resource);
    if (this.options.clientId) url.searchParams.set("client_id", this.options.clientId);
    return { url, headers: { Metadata: "true" } };
  }

  async getToken(): Promise<AccessToken> {
    const { url, headers } = this.requestFor();
    const now = this.options.now ?? Date.now;
    return withRetry(
      async () => {
        let res: { status: number; body: string };
        try {
          res = await this.get(url.toString(), headers);
        } catch (error) {
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
