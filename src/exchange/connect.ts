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

/**
 * Which credential signs the app in: one tagged union, whatever the caller gave (a store thumbprint or a
 * file from the CLI's flags, environment or profile; PEMs, an external signer, a managed identity, a
 * token or any provider from library callers). See docs/architecture.md "CLI conventions" (the session).
 */
export type Credential =
  | { kind: "thumbprint"; thumbprint: string }
  | { kind: "file"; path: string; password?: string }
  | { kind: "pem"; certificatePem: string; privateKeyPem: string }
  | { kind: "signer"; certificatePem: string; sign: ExternalSigner }
  | { kind: "managed-identity"; clientId?: string }
  | { kind: "access-token"; token: string }
  | { kind: "provider"; provider: TokenProvider };

/**
 * A connection checked once, offline: app id and organization valid, exactly one credential, endpoints
 * resolved. Everything after this (token providers, clients) trusts it and checks nothing again.
 */
export interface ValidatedConnection {
  appId: string;
  organization: string;
  /** Tenant id for the authority instead of the organization (known from a profile). */
  tenantId?: string;
  credential: Credential;
  endpoints: CloudEndpoints;
  /** State home, for `thumbprint` credentials. */
  home: string;
  env: NodeJS.ProcessEnv;
}

/** The certificate module's loader, imported lazily so token-only and managed-identity runs never load it. */
async function loadFromStoreOrFile(ref: CertificateReference, home: string, env: NodeJS.ProcessEnv) {
  // The loader's own module, not the cert barrel: PFX/ASN.1 code loads only for a certificate file.
  const { loadCertificateCredential } = await import("../cert/credential.js");
  return loadCertificateCredential(ref, { home, env });
}

/** The one credential among the library options; none or several is a usage error. */
function credentialOf(options: ConnectOptions): Credential {
  const given: Array<[name: string, credential: Credential]> = [];
  const c = options.certificate;
  if (c) {
    const credential: Credential =
      "thumbprint" in c
        ? { kind: "thumbprint", thumbprint: c.thumbprint }
        : "path" in c
          ? c.password === undefined
            ? { kind: "file", path: c.path }
            : { kind: "file", path: c.path, password: c.password }
          : "sign" in c
            ? { kind: "signer", certificatePem: c.certificatePem, sign: c.sign }
            : { kind: "pem", certificatePem: c.certificatePem, privateKeyPem: c.privateKeyPem };
    given.push(["certificate", credential]);
  }
  if (options.credential) given.push(["credential", { kind: "provider", provider: options.credential }]);
  const mi = options.managedIdentity;
  if (mi) {
    given.push([
      "managedIdentity",
      mi !== true && mi.clientId
        ? { kind: "managed-identity", clientId: mi.clientId }
        : { kind: "managed-identity" },
    ]);
  }
  if (options.accessToken) given.push(["accessToken", { kind: "access-token", token: options.accessToken }]);
  if (given.length === 0) {
    throw new UsageError("No credential given.", {
      hint: "Pass a certificate ({ thumbprint } | { path } | { certificatePem, privateKeyPem }), a managed identity, or an access token.",
    });
  }
  if (given.length > 1) {
    throw new UsageError(`Conflicting credentials: ${given.map(([name]) => name).join(" and ")}.`, {
      hint: "Give exactly one.",
    });
  }
  return given[0]![1];
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

/** Validate everything that can be validated offline, once; throws UsageError (exit 2) before any request. */
export function validateConnectOptions(options: ConnectOptions): ValidatedConnection {
  const appId = validateAppId(options.appId);
  const organization = validateOrganization(options.organization);
  const credential = credentialOf(options);
  const env = options.env ?? process.env;
  return {
    appId,
    organization,
    ...(options.tenantId ? { tenantId: options.tenantId } : {}),
    credential,
    endpoints: endpointsFor(options, env),
    home: options.home ?? stateHome(env),
    env,
  };
}

/** What `resolveConnection` produced (flags → env → profile, validated there) as a validated connection. */
export function connectionFromResolved(
  resolved: ResolvedConnection,
  env: NodeJS.ProcessEnv = process.env,
): ValidatedConnection {
  return {
    appId: resolved.appId,
    organization: resolved.organization,
    ...(resolved.tenantId ? { tenantId: resolved.tenantId } : {}),
    credential: resolved.certificate,
    endpoints: resolved.endpoints,
    home: resolved.home,
    env,
  };
}

/** Which service a token is for: its scope is `<endpoint>/.default`. */
export type TokenResource = "exchange" | "graph";

/**
 * The (uncached) token provider for a connection's credential, for Exchange or Graph. Reads a
 * `thumbprint`/`file` certificate from disk now, so a bad file fails before any request.
 */
export async function createTokenProvider(
  connection: ValidatedConnection,
  context: { transport: HttpTransport; resource?: TokenResource },
): Promise<{ provider: TokenProvider; certificate: ConnectionCertificateInfo | undefined }> {
  const { appId, endpoints, env } = connection;
  const { transport } = context;
  // The resource identifier, never the host: a proxy or regional host does not change the audience.
  const resourceBase = context.resource === "graph" ? endpoints.graphEndpoint : endpoints.exchangeResource;
  const tenant = connection.tenantId ?? connection.organization;
  const c = connection.credential;
  const certificateProvider = (
    credential: ConstructorParameters<typeof ClientCertificateTokenProvider>[0]["credential"],
  ) =>
    new ClientCertificateTokenProvider({
      appId,
      tenant,
      authorityHost: endpoints.authorityHost,
      scope: `${resourceBase}/.default`,
      transport,
      credential,
    });
  switch (c.kind) {
    case "thumbprint":
    case "file": {
      const loaded = await loadFromStoreOrFile(c, connection.home, env);
      return {
        // The credential itself, not a copy: its PEM form is exported only if read, and signing uses the key.
        provider: certificateProvider(loaded),
        certificate: {
          thumbprint: loaded.thumbprint,
          thumbprintSha256: loaded.thumbprintSha256,
          subject: loaded.subject,
          notAfter: loaded.notAfter,
        },
      };
    }
    case "pem": {
      // The certificate is read first: an unreadable PEM is a usage error, not the key parser's.
      const certificate = describeCertificate(c.certificatePem);
      return {
        provider: certificateProvider({ certificatePem: c.certificatePem, privateKeyPem: c.privateKeyPem }),
        certificate,
      };
    }
    case "signer": {
      const certificate = describeCertificate(c.certificatePem);
      return {
        provider: certificateProvider({ certificatePem: c.certificatePem, sign: c.sign }),
        certificate,
      };
    }
    case "managed-identity": {
      const miOptions: ConstructorParameters<typeof ManagedIdentityTokenProvider>[0] = {
        resource: resourceBase,
        env,
      };
      if (c.clientId) miOptions.clientId = c.clientId;
      return { provider: new ManagedIdentityTokenProvider(miOptions), certificate: undefined };
    }
    case "access-token":
      return { provider: new StaticTokenProvider(c.token), certificate: undefined };
    case "provider":
      return { provider: c.provider, certificate: undefined };
  }
}

/** How one Exchange connection talks: the transport (and whether `disconnect()` closes it), retries, logs. */
export interface ExchangeConnectionOptions {
  transport: HttpTransport;
  /** Close the transport on `disconnect()` (it was made for this connection). */
  ownsTransport?: boolean;
  retry?: RetryOptions;
  onCallEnd?: (info: CmdletCallInfo) => void;
  timeoutMs?: number;
  breaker?: CircuitBreaker;
}

/**
 * An Exchange Online connection for a validated connection: the token provider (cached), the client, the
 * counters. The one place both the library's `connectExchangeOnline` and the session build it.
 */
export async function openExchangeConnection(
  connection: ValidatedConnection,
  options: ExchangeConnectionOptions,
): Promise<ExchangeConnection> {
  const { transport } = options;
  const { endpoints, organization } = connection;
  let inner: TokenProvider;
  let certificate: ConnectionCertificateInfo | undefined;
  try {
    ({ provider: inner, certificate } = await createTokenProvider(connection, { transport }));
  } catch (error) {
    if (options.ownsTransport) transport.close();
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
    appId: connection.appId,
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
      if (options.ownsTransport) transport.close();
    },
  };
}

/**
 * Connect to Exchange Online app-only. Nothing is sent until the first cmdlet (or getToken) runs, except
 * that a `{ thumbprint }`/`{ path }` certificate is read from disk here so a bad file fails early.
 */
export async function connectExchangeOnline(options: ConnectOptions): Promise<ExchangeConnection> {
  const connection = validateConnectOptions(options);
  // Without a transport of the caller's, one of its own that trusts `caPem` plus the NODE_EXTRA_CA_CERTS
  // of `options.env` (an injected environment is honoured fully); `disconnect()` closes it.
  const transport =
    options.transport ??
    new HttpTransport({
      ...(options.caPem ? { caPem: options.caPem } : {}),
      ...(options.env ? { env: options.env } : {}),
    });
  const open: ExchangeConnectionOptions = { transport, ownsTransport: options.transport === undefined };
  if (options.retry) open.retry = options.retry;
  if (options.onCallEnd) open.onCallEnd = options.onCallEnd;
  if (options.timeoutMs !== undefined) open.timeoutMs = options.timeoutMs;
  if (options.breaker) open.breaker = options.breaker;
  return openExchangeConnection(connection, open);
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
