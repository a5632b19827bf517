import { X509Certificate } from "node:crypto";
import { CachingTokenProvider } from "../auth/cache.js";
import { ClientCertificateTokenProvider } from "../auth/certificate.js";
import { ManagedIdentityTokenProvider } from "../auth/managed-identity.js";
import { StaticTokenProvider } from "../auth/static-token.js";
import type { ExternalSigner, TokenProvider } from "../auth/types.js";
import {
  type CloudEndpoints,
  defaultExchangeResource,
  isExchangeRedirectAllowed,
  parseEndpointBase,
  parseResource,
  resolveEndpoints,
} from "../cloud/environments.js";
import type { CertificateReference, ResolvedConnection } from "../config/connection.js";
import { stateHome } from "../config/home.js";
import { validateAppId, validateOrganization } from "../config/validate.js";
import { UsageError } from "../errors.js";
import type { CircuitBreaker } from "../http/circuit-breaker.js";
import type { RetryOptions } from "../http/retry.js";
import { HttpTransport } from "../http/transport.js";
import { type CmdletCallInfo, ExchangeClient, type ExchangeStats, type InvokeOptions } from "./client.js";
import type { CmdletParameters } from "./serialize.js";

/** A certificate as the library accepts it (docs/invoke.md, "Library"), plus a signer for vault keys. */
export type CertificateInput =
  | { thumbprint: string }
  | { path: string; password?: string }
  | { certificatePem: string; privateKeyPem: string }
  | { certificatePem: string; sign: ExternalSigner };

export interface ConnectOptions {
  appId: string;
  organization: string;
  certificate?: CertificateInput;
  /** Any token provider (e.g. an @azure/identity credential adapted to this interface). */
  credential?: TokenProvider;
  /** `true` for the system-assigned identity, `{ clientId }` for a user-assigned one. */
  managedIdentity?: { clientId?: string } | true;
  /** A token obtained elsewhere (like `Connect-ExchangeOnline -AccessToken`); the caller renews it. */
  accessToken?: string;
  /** O365Default (default), O365USGovGCCHigh, O365USGovDoD, O365China. */
  environment?: string;
  /**
   * Custom endpoints (emulator, proxies): each an `https://host[:port]` base. `exchangeResource` is the
   * token's resource (default: the cloud's, or the custom Exchange endpoint's origin).
   */
  endpoints?: Partial<
    Pick<CloudEndpoints, "authorityHost" | "graphEndpoint" | "exchangeEndpoint" | "exchangeResource">
  >;
  /** State home for `{ thumbprint }` certificates (default: EXO_CBA_HOME or the platform config dir). */
  home?: string;
  env?: NodeJS.ProcessEnv;
  transport?: HttpTransport;
  /** Extra trusted CAs (PEM) when no transport is given. */
  caPem?: string[];
  retry?: RetryOptions;
  /** Tenant id to use in the authority instead of the organization (known from a profile). */
  tenantId?: string;
  /** Fully resolved endpoints (the CLI path); wins over environment/endpoints. */
  cloud?: CloudEndpoints;
  /** Told once per cmdlet call when it ends: duration, rows, pages, request ids, retries (for logs, metrics). */
  onCallEnd?: (info: CmdletCallInfo) => void;
  /** Idle timeout of one Exchange request in ms (default 16 min; docs/invoke.md "Limits"). */
  timeoutMs?: number;
  /** A circuit breaker shared by the connections of one run (the usage report uses one). */
  breaker?: CircuitBreaker;
}

/** What the connection knows about its certificate (for `exo-cba test` and expiry warnings). */
export interface ConnectionCertificateInfo {
  thumbprint?: string;
  thumbprintSha256?: string;
  subject?: string;
  notAfter?: Date;
}

export interface ExchangeConnection {
  readonly appId: string;
  readonly organization: string;
  readonly endpoints: CloudEndpoints;
  readonly connectionId: string;
  readonly certificate: ConnectionCertificateInfo | undefined;
  stream(
    cmdlet: string,
    params?: CmdletParameters,
    options?: InvokeOptions,
  ): AsyncIterable<Record<string, unknown>>;
  invoke(
    cmdlet: string,
    params?: CmdletParameters,
    options?: InvokeOptions,
  ): Promise<Record<string, unknown>[]>;
  /** Cached, refreshing token provider for the Exchange resource. */
  readonly tokenProvider: TokenProvider;
  /** Drop the cached token and close the sockets this connection opened. Purely client-side. */
  disconnect(): Promise<void>;
  /** Live counters: token requests to the identity platform, Exchange requests, retries. */
  readonly stats: ExchangeStats;
}

/** The certificate module's loader, imported lazily so token-only and managed-identity runs never load it. */
async function loadFromStoreOrFile(ref: CertificateReference, home: string, env: NodeJS.ProcessEnv) {
  // The loader's own module, not the cert barrel: PFX/ASN.1 code loads only for a certificate file.
  const { loadCertificateCredential } = await import("../cert/credential.js");
  return loadCertificateCredential(ref, { home, env });
}

function countCredentials(options: ConnectOptions): string[] {
  const given: string[] = [];
  if (options.certificate) given.push("certificate");
  if (options.credential) given.push("credential");
  if (options.managedIdentity) given.push("managedIdentity");
  if (options.accessToken) given.push("accessToken");
  return given;
}

function endpointsFor(options: ConnectOptions, env: NodeJS.ProcessEnv): CloudEndpoints {
  if (options.cloud) return options.cloud;
  const resolved = resolveEndpoints(options.environment, env);
  const custom = options.endpoints;
  if (!custom) return resolved;
  const out = { ...resolved };
  if (custom.authorityHost) out.authorityHost = parseEndpointBase("authorityHost", custom.authorityHost);
  if (custom.graphEndpoint) out.graphEndpoint = parseEndpointBase("graphEndpoint", custom.graphEndpoint);
  if (custom.exchangeEndpoint) {
    out.exchangeEndpoint = parseEndpointBase("exchangeEndpoint", custom.exchangeEndpoint);
    // An explicit EXO_EXCHANGE_RESOURCE stays; otherwise the resource follows the new endpoint.
    if (!env.EXO_EXCHANGE_RESOURCE) {
      out.exchangeResource = defaultExchangeResource(
        resolveEndpoints(options.environment, {}).exchangeResource,
        out.exchangeEndpoint,
      );
    }
  }
  if (custom.exchangeResource)
    out.exchangeResource = parseResource("exchangeResource", custom.exchangeResource);
  if (custom.authorityHost || custom.graphEndpoint || custom.exchangeEndpoint) {
    out.custom = true;
    out.environment = "Custom";
  }
  return out;
}

/** Validate everything that can be validated offline; throws UsageError (exit 2) before any request. */
export function validateConnectOptions(options: ConnectOptions): { appId: string; organization: string } {
  const appId = validateAppId(options.appId);
  const organization = validateOrganization(options.organization);
  const given = countCredentials(options);
  if (given.length === 0) {
    throw new UsageError("No credential given.", {
      hint: "Pass a certificate ({ thumbprint } | { path } | { certificatePem, privateKeyPem }), a managed identity, or an access token.",
    });
  }
  if (given.length > 1) {
    throw new UsageError(`Conflicting credentials: ${given.join(" and ")}.`, { hint: "Give exactly one." });
  }
  return { appId, organization };
}

/** Which service a token is for: its scope is `<endpoint>/.default`. */
export type TokenResource = "exchange" | "graph";

/**
 * Build the (uncached) token provider for the credential in `options`, for Exchange or Graph. Reads a
 * `{ thumbprint }`/`{ path }` certificate from disk now, so a bad file fails before any request.
 */
export async function createTokenProvider(
  options: ConnectOptions,
  context: { endpoints: CloudEndpoints; transport: HttpTransport; resource?: TokenResource },
): Promise<{ provider: TokenProvider; certificate: ConnectionCertificateInfo | undefined }> {
  const { appId, organization } = validateConnectOptions(options);
  const env = options.env ?? process.env;
  const { endpoints, transport } = context;
  // The resource identifier, never the host: a proxy or regional host does not change the audience.
  const resourceBase = context.resource === "graph" ? endpoints.graphEndpoint : endpoints.exchangeResource;
  const tenant = options.tenantId ?? organization;
  if (options.certificate) {
    const c = options.certificate;
    let credential: ConstructorParameters<typeof ClientCertificateTokenProvider>[0]["credential"];
    let certificate: ConnectionCertificateInfo;
    if ("thumbprint" in c || "path" in c) {
      const ref: CertificateReference =
        "thumbprint" in c
          ? { kind: "thumbprint", thumbprint: c.thumbprint }
          : c.password === undefined
            ? { kind: "file", path: c.path }
            : { kind: "file", path: c.path, password: c.password };
      const loaded = await loadFromStoreOrFile(ref, options.home ?? stateHome(env), env);
      credential = {
        certificatePem: loaded.certificatePem,
        privateKeyPem: loaded.privateKeyPem,
        thumbprintSha256: loaded.thumbprintSha256,
      };
      certificate = {
        thumbprint: loaded.thumbprint,
        thumbprintSha256: loaded.thumbprintSha256,
        subject: loaded.subject,
        notAfter: loaded.notAfter,
      };
    } else {
      credential = c;
      certificate = describeCertificate(c.certificatePem);
    }
    const provider = new ClientCertificateTokenProvider({
      appId,
      tenant,
      authorityHost: endpoints.authorityHost,
      scope: `${resourceBase}/.default`,
      transport,
      credential,
    });
    return { provider, certificate };
  }
  if (options.managedIdentity) {
    const mi = options.managedIdentity;
    const miOptions: ConstructorParameters<typeof ManagedIdentityTokenProvider>[0] = {
      resource: resourceBase,
      env,
    };
    if (mi !== true && mi.clientId) miOptions.clientId = mi.clientId;
    return { provider: new ManagedIdentityTokenProvider(miOptions), certificate: undefined };
  }
  if (options.accessToken)
    return { provider: new StaticTokenProvider(options.accessToken), certificate: undefined };
  return { provider: options.credential!, certificate: undefined };
}

/** A transport trusting `caPem` plus the NODE_EXTRA_CA_CERTS of `options.env` (an injected environment is honoured fully). */
export function createTransport(options: Pick<ConnectOptions, "caPem" | "env">): HttpTransport {
  return new HttpTransport({
    ...(options.caPem ? { caPem: options.caPem } : {}),
    ...(options.env ? { env: options.env } : {}),
  });
}

/** Endpoints for these options: the resolved `cloud`, else the environment plus custom overrides. */
export function connectionEndpoints(options: ConnectOptions): CloudEndpoints {
  return endpointsFor(options, options.env ?? process.env);
}

/**
 * Connect to Exchange Online app-only. Nothing is sent until the first cmdlet (or getToken) runs, except
 * that a `{ thumbprint }`/`{ path }` certificate is read from disk here so a bad file fails early.
 */
export async function connectExchangeOnline(options: ConnectOptions): Promise<ExchangeConnection> {
  const { appId, organization } = validateConnectOptions(options);
  const endpoints = connectionEndpoints(options);
  const ownTransport = options.transport === undefined;
  const transport = options.transport ?? createTransport(options);
  let inner: TokenProvider;
  let certificate: ConnectionCertificateInfo | undefined;
  try {
    ({ provider: inner, certificate } = await createTokenProvider(options, { endpoints, transport }));
  } catch (error) {
    if (ownTransport) transport.close();
    throw error;
  }

  const tokens = new CachingTokenProvider(inner);
  const counters = { requests: 0, retries: 0 };
  const stats: ExchangeStats = {
    get tokenRequests() {
      return tokens.fetches;
    },
    get requests() {
      return counters.requests;
    },
    set requests(v: number) {
      counters.requests = v;
    },
    get retries() {
      return counters.retries;
    },
    set retries(v: number) {
      counters.retries = v;
    },
  } as ExchangeStats;
  const clientOptions: ConstructorParameters<typeof ExchangeClient>[0] = {
    exchangeEndpoint: endpoints.exchangeEndpoint,
    isRedirectAllowed: (target) => isExchangeRedirectAllowed(endpoints, target),
    organization,
    tokenProvider: tokens,
    transport,
    stats,
  };
  if (options.retry) clientOptions.retry = options.retry;
  if (options.onCallEnd) clientOptions.onCallEnd = options.onCallEnd;
  if (options.timeoutMs !== undefined) clientOptions.timeoutMs = options.timeoutMs;
  if (options.breaker) clientOptions.breaker = options.breaker;
  const client = new ExchangeClient(clientOptions);

  return {
    appId,
    organization,
    endpoints,
    connectionId: client.connectionId,
    certificate,
    stream: (cmdlet, params, opts) => client.stream(cmdlet, params, opts),
    invoke: (cmdlet, params, opts) => client.invoke(cmdlet, params, opts),
    tokenProvider: tokens,
    stats,
    disconnect: async () => {
      tokens.clear();
      if (ownTransport) transport.close();
    },
  };
}

function describeCertificate(certificatePem: string): ConnectionCertificateInfo {
  try {
    const x = new X509Certificate(certificatePem);
    return {
      thumbprint: x.fingerprint.replace(/:/g, ""),
      thumbprintSha256: x.fingerprint256.replace(/:/g, ""),
      subject: x.subject,
      notAfter: new Date(x.validTo),
    };
  } catch {
    throw new UsageError("The certificate PEM could not be read.", {
      hint: "Give the PEM of an X.509 certificate (-----BEGIN CERTIFICATE-----).",
    });
  }
}

/** Options for connecting from a resolved CLI connection (flags → env → profile). */
export interface ResolvedConnectOptions {
  env?: NodeJS.ProcessEnv;
  transport?: HttpTransport;
  caPem?: string[];
  retry?: RetryOptions;
  onCallEnd?: (info: CmdletCallInfo) => void;
  timeoutMs?: number;
  breaker?: CircuitBreaker;
}

/** The library options equivalent to what `resolveConnection` produced (flags → env → profile). */
export function connectOptionsFromResolved(
  resolved: ResolvedConnection,
  options: ResolvedConnectOptions = {},
): ConnectOptions {
  const cert = resolved.certificate;
  const certificate: CertificateInput =
    cert.kind === "thumbprint"
      ? { thumbprint: cert.thumbprint }
      : cert.password === undefined
        ? { path: cert.path }
        : { path: cert.path, password: cert.password };
  const connect: ConnectOptions = {
    appId: resolved.appId,
    organization: resolved.organization,
    certificate,
    home: resolved.home,
    cloud: resolved.endpoints,
  };
  if (resolved.tenantId) connect.tenantId = resolved.tenantId;
  if (options.env) connect.env = options.env;
  if (options.transport) connect.transport = options.transport;
  if (options.caPem) connect.caPem = options.caPem;
  if (options.retry) connect.retry = options.retry;
  if (options.onCallEnd) connect.onCallEnd = options.onCallEnd;
  if (options.timeoutMs !== undefined) connect.timeoutMs = options.timeoutMs;
  if (options.breaker) connect.breaker = options.breaker;
  return connect;
}

/** Connect with what `resolveConnection` produced (the CLI path). */
export function connectFromResolved(
  resolved: ResolvedConnection,
  options: ResolvedConnectOptions = {},
): Promise<ExchangeConnection> {
  return connectExchangeOnline(connectOptionsFromResolved(resolved, options));
}
