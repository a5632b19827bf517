import { createHash, X509Certificate } from "node:crypto";
import {
  ConfidentialClientApplication,
  type INetworkModule,
  LogLevel,
  type NetworkRequestOptions,
} from "@azure/msal-node";
import { UsageError } from "../errors.js";
import { parseRetryAfter, type RetryOptions, withRetry } from "../http/retry.js";
import type { HttpTransport } from "../http/transport.js";
import { buildClientAssertion } from "./assertion.js";
import { type IdentityFailure, IdentityNetworkObserver, mapIdentityError } from "./identity-errors.js";
import { createMsalNetworkClient } from "./msal-network.js";
import type { AccessToken, ExternalSigner, TokenProvider } from "./types.js";

/** The certificate credential of src/cert (`loadCertificateCredential`) — only the fields we need. */
export interface CertificateKeyPair {
  certificatePem: string;
  /** Unencrypted PKCS#8 (or PKCS#1) PEM: MSAL cannot use an encrypted key. */
  privateKeyPem: string;
  /** SHA-256 thumbprint, hex; computed from the certificate when absent. */
  thumbprintSha256?: string;
}

export interface ClientCredentialOptions {
  appId: string;
  /** Tenant id or domain (the `<organization>` of the authority URL). */
  tenant: string;
  /** `https://host[:port]` of the identity platform. */
  authorityHost: string;
  /** e.g. `https://outlook.office365.com/.default` */
  scope: string;
  transport: HttpTransport;
  /** Either a certificate with its key, or a certificate plus a signer for a key kept elsewhere. */
  credential: CertificateKeyPair | { certificatePem: string; sign: ExternalSigner };
  retry?: RetryOptions;
  /** Shared with the caller for diagnostics and tests. */
  observer?: IdentityNetworkObserver;
}

export function sha256ThumbprintHex(certificatePem: string): string {
  return createHash("sha256").update(new X509Certificate(certificatePem).raw).digest("hex").toUpperCase();
}

/**
 * MSAL's network client wrapped to (1) keep every request on the identity host — with custom endpoints
 * nothing may go to Microsoft's hosts — and (2) remember the last failure, which MSAL reduces to a
 * generic error code.
 */
function observedNetworkClient(
  transport: HttpTransport,
  authorityOrigin: string,
  observer: IdentityNetworkObserver,
): INetworkModule {
  const inner = createMsalNetworkClient(transport);
  const guard = (url: string) => {
    observer.urls.push(url);
    if (new URL(url).origin !== authorityOrigin) {
      const error = new Error(
        `Refusing an identity request to ${new URL(url).origin} (only ${authorityOrigin}).`,
      );
      observer.lastFailure = { url, error };
      throw error;
    }
  };
  const record = <T extends { status: number; body: unknown; headers: Record<string, string> }>(
    url: string,
    res: T,
  ): T => {
    if (res.status < 400) return res;
    const failure: IdentityFailure = { url, status: res.status, body: res.body };
    const retryAfterMs = parseRetryAfter(res.headers["retry-after"], Date.now());
    if (retryAfterMs !== undefined) failure.retryAfterMs = retryAfterMs;
    observer.lastFailure = failure;
    // A busy identity service is retried by us, honouring Retry-After. Handing MSAL the 429/5xx would
    // make it block the same request client-side for a minute (its throttling cache); an exception here
    // keeps it from recording that, and the observer still knows what happened.
    if (res.status === 429 || res.status >= 500) {
      const error = new Error(`identity endpoint answered HTTP ${res.status}`);
      failure.error = error;
      throw error;
    }
    return res;
  };
  const fail = (url: string, error: unknown): never => {
    observer.lastFailure = { url, error };
    throw error;
  };
  return {
    async sendGetRequestAsync<T>(url: string, options?: NetworkRequestOptions, timeout?: number) {
      guard(url);
      const res = await inner
        .sendGetRequestAsync<T>(url, options, timeout)
        .catch((e: unknown) => fail(url, e));
      return record(url, res);
    },
    async sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions) {
      guard(url);
      observer.tokenRequests++;
      const res = await inner.sendPostRequestAsync<T>(url, options).catch((e: unknown) => fail(url, e));
      return record(url, res);
    },
  };
}

/**
 * App-only tokens with a certificate through MSAL (client credentials). With a key pair MSAL signs a
 * PS256 assertion itself (`thumbprintSha256`); with an external signer we build the assertion in MSAL's
 * `clientAssertion` callback, which tells us the token endpoint to use as `aud`.
 * Caching is left to CachingTokenProvider (MSAL's cache is bypassed so every network call is counted).
 */
export class ClientCertificateTokenProvider implements TokenProvider {
  readonly kind: string;
  readonly observer: IdentityNetworkObserver;
  private readonly app: ConfidentialClientApplication;
  private readonly scope: string;
  private readonly retry: RetryOptions;
  private readonly authorityHost: string;

  constructor(options: ClientCredentialOptions) {
    const authorityOrigin = new URL(options.authorityHost).origin;
    this.authorityHost = authorityOrigin;
    this.scope = options.scope;
    this.retry = { maxAttempts: 3, baseDelayMs: 1000, ...options.retry };
    this.observer = options.observer ?? new IdentityNetworkObserver();
    const credential = options.credential;
    const auth: ConstructorParameters<typeof ConfidentialClientApplication>[0]["auth"] = {
      clientId: options.appId,
      authority: `${authorityOrigin}/${options.tenant}`,
      // A known authority skips instance discovery, which would otherwise call login.microsoftonline.com
      // from any cloud (and from the emulator): every request stays on the authority host.
      knownAuthorities: [new URL(authorityOrigin).host],
    };
    if ("sign" in credential) {
      this.kind = "certificate-signer";
      auth.clientAssertion = (config) =>
        buildClientAssertion({
          appId: options.appId,
          tokenEndpoint: config.tokenEndpoint ?? `${authorityOrigin}/${options.tenant}/oauth2/v2.0/token`,
          certificatePem: credential.certificatePem,
          sign: credential.sign,
        });
    } else {
      this.kind = "certificate";
      if (/ENCRYPTED PRIVATE KEY/.test(credential.privateKeyPem)) {
        throw new UsageError("The private key is still encrypted.", {
          hint: "Give the certificate password (EXO_CERTIFICATE_PASSWORD or --certificate-password-file).",
        });
      }
      auth.clientCertificate = {
        // Plain hex only: MSAL's hex decoder stops at the first colon and would send a truncated x5t#S256.
        thumbprintSha256: (
          credential.thumbprintSha256 ?? sha256ThumbprintHex(credential.certificatePem)
        ).replace(/[^0-9a-f]/gi, ""),
        privateKey: credential.privateKeyPem,
      };
    }
    this.app = new ConfidentialClientApplication({
      auth,
      system: {
        networkClient: observedNetworkClient(options.transport, authorityOrigin, this.observer),
        // Never let MSAL log PII or tokens; our errors carry what the user needs.
        loggerOptions: { piiLoggingEnabled: false, logLevel: LogLevel.Error, loggerCallback: () => {} },
      },
    });
  }

  async getToken(): Promise<AccessToken> {
    return withRetry(async () => {
      this.observer.lastFailure = undefined;
      let result: Awaited<ReturnType<ConfidentialClientApplication["acquireTokenByClientCredential"]>>;
      try {
        result = await this.app.acquireTokenByClientCredential({ scopes: [this.scope], skipCache: true });
      } catch (error) {
        throw mapIdentityError(error, this.observer, this.authorityHost);
      }
      if (!result?.accessToken) {
        throw mapIdentityError(new Error("no token in the response"), this.observer, this.authorityHost);
      }
      const expiresOn = result.expiresOn ? result.expiresOn.getTime() : Date.now() + 3_600_000;
      return { token: result.accessToken, expiresOnTimestamp: expiresOn };
    }, this.retry);
  }
}
