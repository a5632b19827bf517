import {
  constants,
  createHash,
  createPrivateKey,
  sign as cryptoSign,
  type KeyObject,
  X509Certificate,
} from "node:crypto";
import type {
  ConfidentialClientApplication,
  Configuration,
  INetworkModule,
  NetworkRequestOptions,
} from "@azure/msal-node";
import { AuthenticationError, UsageError } from "../errors.js";
import { parseRetryAfter, type RetryOptions, withRetry } from "../http/retry.js";
import type { HttpTransport } from "../http/transport.js";
import { buildClientAssertion } from "./assertion.js";
import { authorityMetadataUrl, validateAuthorityMetadata } from "./authority-metadata.js";
import { type IdentityFailure, IdentityNetworkObserver, mapIdentityError } from "./identity-errors.js";
import { createMsalNetworkClient } from "./msal-network.js";
import type { AccessToken, ExternalSigner, TokenProvider } from "./types.js";

/** The certificate credential of src/cert (`loadCertificateCredential`) — only the fields we need. */
export interface CertificateKeyPair {
  certificatePem: string;
  /** Unencrypted PKCS#8 (or PKCS#1) PEM: MSAL cannot use an encrypted key. */
  privateKeyPem: string;
  /** The same key already parsed (src/cert gives it): used instead of parsing the PEM again. */
  privateKey?: KeyObject;
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
 * A signer for a certificate's own private key: RSA-PSS with SHA-256 and a salt as long as the digest,
 * i.e. JWS `PS256` (RFC 7518 §3.5), what Entra expects for `x5t#S256` assertions (docs/invoke.md, "Token").
 * The key is parsed once, here, so a bad or still encrypted key fails before any network request.
 */
function keyPairSigner(privateKey: string | KeyObject): ExternalSigner {
  if (typeof privateKey === "string" && /ENCRYPTED PRIVATE KEY/.test(privateKey)) {
    throw new UsageError("The private key is still encrypted.", {
      hint: "Give the certificate password (EXO_CERTIFICATE_PASSWORD or --certificate-password-file).",
    });
  }
  const key = typeof privateKey === "string" ? createPrivateKey(privateKey) : privateKey;
  if (key.asymmetricKeyType !== "rsa") {
    throw new UsageError(
      `The certificate's key is ${key.asymmetricKeyType}; Entra app certificates need RSA.`,
      {
        hint: "Create the certificate with an RSA key (exo-cba cert create does).",
      },
    );
  }
  return async (signingInput) =>
    cryptoSign("sha256", signingInput, {
      key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    });
}

/**
 * App-only tokens with a certificate through MSAL (client credentials). The client assertion is ours
 * (src/auth/assertion.ts), signed by the certificate's key or by an external signer.
 * Caching is left to CachingTokenProvider (MSAL's cache is bypassed so every network call is counted).
 *
 * MSAL is imported on the first sign-in, not with this module, and the discovery document it would fetch
 * first is fetched by us meanwhile (src/auth/authority-metadata.ts): the first request leaves before
 * MSAL's ~230 KB are parsed (docs/architecture.md, "Start-up").
 */
export class ClientCertificateTokenProvider implements TokenProvider {
  readonly kind: string;
  readonly observer: IdentityNetworkObserver;
  private app: Promise<ConfidentialClientApplication> | undefined;
  private readonly auth: Configuration["auth"];
  private readonly network: INetworkModule;
  private readonly metadataUrl: string;
  private readonly scope: string;
  private readonly retry: RetryOptions;
  private readonly authorityHost: string;

  constructor(options: ClientCredentialOptions) {
    const authorityOrigin = new URL(options.authorityHost).origin;
    this.authorityHost = authorityOrigin;
    this.scope = options.scope;
    this.retry = { maxAttempts: 3, baseDelayMs: 1000, ...options.retry };
    this.observer = options.observer ?? new IdentityNetworkObserver();
    this.metadataUrl = authorityMetadataUrl(authorityOrigin, options.tenant);
    const credential = options.credential;
    this.auth = {
      clientId: options.appId,
      authority: `${authorityOrigin}/${options.tenant}`,
      // A known authority skips instance discovery, which would otherwise call login.microsoftonline.com
      // from any cloud (and from the emulator): every request stays on the authority host.
      knownAuthorities: [new URL(authorityOrigin).host],
    };
    // Both kinds hand MSAL the assertion through its `clientAssertion` callback, which tells us the token
    // endpoint to use as `aud`: with a key pair we sign PS256 with Node's crypto, the same bytes MSAL's
    // `clientCertificate.thumbprintSha256` would produce, without loading MSAL's JWT dependencies
    // (jsonwebtoken, semver, …) on the way to the first request (docs/architecture.md, "Start-up").
    let sign: ExternalSigner;
    if ("sign" in credential) {
      this.kind = "certificate-signer";
      sign = credential.sign;
    } else {
      this.kind = "certificate";
      sign = keyPairSigner(credential.privateKey ?? credential.privateKeyPem);
    }
    const tokenEndpoint = `${authorityOrigin}/${options.tenant}/oauth2/v2.0/token`;
    this.auth.clientAssertion = (config) =>
      buildClientAssertion({
        appId: options.appId,
        tokenEndpoint: config.tokenEndpoint ?? tokenEndpoint,
        certificatePem: credential.certificatePem,
        sign,
      });
    this.network = observedNetworkClient(options.transport, authorityOrigin, this.observer);
  }

  /**
   * The MSAL application, made once: the discovery document (read by us, through the same observed
   * network client MSAL uses) and MSAL's module load side by side. A failure is not kept, so the next
   * attempt reads the document again.
   */
  private application(): Promise<ConfidentialClientApplication> {
    this.app ??= (async () => {
      const [metadata, msal] = await Promise.all([this.readAuthorityMetadata(), import("@azure/msal-node")]);
      return new msal.ConfidentialClientApplication({
        auth: { ...this.auth, authorityMetadata: JSON.stringify(metadata) },
        system: {
          networkClient: this.network,
          // Never let MSAL log PII or tokens; our errors carry what the user needs.
          loggerOptions: {
            piiLoggingEnabled: false,
            logLevel: msal.LogLevel.Error,
            loggerCallback: () => {},
          },
        },
      });
    })();
    this.app.catch(() => {
      this.app = undefined;
    });
    return this.app;
  }

  private async readAuthorityMetadata() {
    const res = await this.network.sendGetRequestAsync<unknown>(this.metadataUrl);
    // An error answer (unknown tenant: 400 with AADSTS90002) is in the observer; mapIdentityError reads it.
    if (res.status >= 400) throw new Error(`identity configuration answered HTTP ${res.status}`);
    return validateAuthorityMetadata(res.body, this.authorityHost);
  }

  async getToken(): Promise<AccessToken> {
    return withRetry(async () => {
      this.observer.lastFailure = undefined;
      let result: Awaited<ReturnType<ConfidentialClientApplication["acquireTokenByClientCredential"]>>;
      try {
        const app = await this.application();
        result = await app.acquireTokenByClientCredential({ scopes: [this.scope], skipCache: true });
      } catch (error) {
        if (error instanceof AuthenticationError) throw error;
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
