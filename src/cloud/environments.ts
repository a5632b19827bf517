import { UsageError } from "../errors.js";

/** `-ExchangeEnvironmentName` values of Connect-ExchangeOnline that we support. */
export const EXCHANGE_ENVIRONMENTS = [
  "O365Default",
  "O365USGovGCCHigh",
  "O365USGovDoD",
  "O365China",
] as const;
export type ExchangeEnvironment = (typeof EXCHANGE_ENVIRONMENTS)[number];

/** Where each service lives. Every value is an `https://host[:port]` base without a trailing slash. */
export interface CloudEndpoints {
  environment: ExchangeEnvironment | "Custom";
  /** Identity platform host, e.g. https://login.microsoftonline.com */
  authorityHost: string;
  /** Microsoft Graph base, e.g. https://graph.microsoft.com (calls go to `${graph}/v1.0/...`) */
  graphEndpoint: string;
  /** Exchange Online base requests go to, e.g. https://outlook.office365.com */
  exchangeEndpoint: string;
  /**
   * The Exchange Online resource identifier the token is for (scope `<resource>/.default`), e.g.
   * https://outlook.office365.com. Independent of the host requests go to: a regional redirect or a
   * proxy changes the host, never the token's audience (docs/invoke.md, "Resource and host").
   */
  exchangeResource: string;
  /** True when any endpoint came from EXO_* overrides: then no request may leave those hosts. */
  custom: boolean;
}

// Sources: docs/exchange-rest.md §1 (hosts per cloud) and docs/invoke.md "Resource and host".
const KNOWN: Record<ExchangeEnvironment, Omit<CloudEndpoints, "custom">> = {
  O365Default: {
    environment: "O365Default",
    authorityHost: "https://login.microsoftonline.com",
    graphEndpoint: "https://graph.microsoft.com",
    exchangeEndpoint: "https://outlook.office365.com",
    exchangeResource: "https://outlook.office365.com",
  },
  O365USGovGCCHigh: {
    environment: "O365USGovGCCHigh",
    authorityHost: "https://login.microsoftonline.us",
    graphEndpoint: "https://graph.microsoft.us",
    exchangeEndpoint: "https://outlook.office365.us",
    exchangeResource: "https://outlook.office365.us",
  },
  O365USGovDoD: {
    environment: "O365USGovDoD",
    authorityHost: "https://login.microsoftonline.us",
    graphEndpoint: "https://dod-graph.microsoft.us",
    exchangeEndpoint: "https://outlook-dod.office365.us",
    exchangeResource: "https://outlook-dod.office365.us",
  },
  O365China: {
    environment: "O365China",
    authorityHost: "https://login.chinacloudapi.cn",
    graphEndpoint: "https://microsoftgraph.chinacloudapi.cn",
    exchangeEndpoint: "https://partner.outlook.cn",
    // Not confirmed by Microsoft for the REST API in 21Vianet (docs/invoke.md): override with EXO_EXCHANGE_RESOURCE.
    exchangeResource: "https://partner.outlook.cn",
  },
};

export function parseEnvironment(value: string | undefined): ExchangeEnvironment {
  if (!value) return "O365Default";
  const match = EXCHANGE_ENVIRONMENTS.find((e) => e.toLowerCase() === value.toLowerCase());
  if (!match) {
    throw new UsageError(`Unknown Exchange environment '${value}'.`, {
      hint: `Use one of: ${EXCHANGE_ENVIRONMENTS.join(", ")}.`,
    });
  }
  return match;
}

/** Normalise an `https://host[:port]` base: https only, no path, no trailing slash. */
export function parseEndpointBase(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${name} is not a URL: '${value}'.`, { hint: "Give an https://host[:port] base." });
  }
  if (url.protocol !== "https:") {
    throw new UsageError(`${name} must use https (got '${value}').`, {
      hint: "TLS is always verified; trust a private CA with NODE_EXTRA_CA_CERTS.",
    });
  }
  if (url.pathname !== "/" && url.pathname !== "") {
    throw new UsageError(`${name} must be a base URL without a path (got '${value}').`);
  }
  return url.origin;
}

/** Endpoints saved in a profile by a setup run against custom endpoints (emulator, proxies). */
export interface SavedEndpoints {
  authorityHost: string;
  graphEndpoint: string;
  exchangeEndpoint: string;
}

/** A GUID resource identifier (the Exchange resource appId) or an `https://host[:port]` one. */
export function parseResource(name: string, value: string): string {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value))
    return value.toLowerCase();
  return parseEndpointBase(name, value);
}

/**
 * The resource for an Exchange endpoint: the cloud's own identifier when the endpoint is that cloud's host
 * or one of its (regional) sub-hosts; otherwise the endpoint's origin, which is what an emulator or a
 * test server accepts as audience.
 */
export function defaultExchangeResource(cloudResource: string, exchangeEndpoint: string): string {
  const host = new URL(exchangeEndpoint).hostname;
  const cloudHost = new URL(cloudResource).hostname;
  return host === cloudHost || host.endsWith(`.${cloudHost}`) ? cloudResource : exchangeEndpoint;
}

/**
 * May a redirect of InvokeCommand be followed with the bearer token? Only over https, to the endpoint's
 * own host name (any port), or, in a Microsoft cloud, to a sub-host of that cloud's Exchange host
 * (e.g. a regional `*.outlook.office365.com`). Never to another origin family: the token would leak.
 */
export function isExchangeRedirectAllowed(endpoints: CloudEndpoints, target: URL): boolean {
  if (target.protocol !== "https:") return false;
  const host = target.hostname.toLowerCase();
  if (host === new URL(endpoints.exchangeEndpoint).hostname.toLowerCase()) return true;
  if (endpoints.environment === "Custom") return false;
  const cloudHost = new URL(KNOWN[endpoints.environment].exchangeEndpoint).hostname;
  return host === cloudHost || host.endsWith(`.${cloudHost}`);
}

/**
 * Resolve endpoints for an environment. Each endpoint: `EXO_AUTHORITY_HOST` / `EXO_GRAPH_ENDPOINT` /
 * `EXO_EXCHANGE_ENDPOINT` when set and not empty, else the profile's saved endpoint (`saved`, given only
 * when the environment itself came from the profile), else the environment's well-known host.
 * `EXO_EXCHANGE_RESOURCE` sets the token's resource (not a host).
 */
export function resolveEndpoints(
  environment: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  saved?: SavedEndpoints,
): CloudEndpoints {
  const base = KNOWN[parseEnvironment(environment)];
  // An empty variable means "unset" (a `VAR=` line in a unit file or a cleared CI variable).
  const overrides = {
    authorityHost: env.EXO_AUTHORITY_HOST || saved?.authorityHost,
    graphEndpoint: env.EXO_GRAPH_ENDPOINT || saved?.graphEndpoint,
    exchangeEndpoint: env.EXO_EXCHANGE_ENDPOINT || saved?.exchangeEndpoint,
  };
  const custom = Object.values(overrides).some(Boolean);
  const exchangeEndpoint = overrides.exchangeEndpoint
    ? parseEndpointBase("EXO_EXCHANGE_ENDPOINT", overrides.exchangeEndpoint)
    : base.exchangeEndpoint;
  return {
    environment: custom ? "Custom" : base.environment,
    authorityHost: overrides.authorityHost
      ? parseEndpointBase("EXO_AUTHORITY_HOST", overrides.authorityHost)
      : base.authorityHost,
    graphEndpoint: overrides.graphEndpoint
      ? parseEndpointBase("EXO_GRAPH_ENDPOINT", overrides.graphEndpoint)
      : base.graphEndpoint,
    exchangeEndpoint,
    exchangeResource: env.EXO_EXCHANGE_RESOURCE
      ? parseResource("EXO_EXCHANGE_RESOURCE", env.EXO_EXCHANGE_RESOURCE)
      : defaultExchangeResource(base.exchangeResource, exchangeEndpoint),
    custom,
  };
}

/** App-only scope for Exchange Online: `<exchange resource>/.default` — never derived from the host. */
export const exchangeScope = (e: CloudEndpoints) => `${e.exchangeResource}/.default`;
/** App-only / admin scope for Graph: `<graph endpoint>/.default`. */
export const graphScope = (e: CloudEndpoints) => `${e.graphEndpoint}/.default`;
