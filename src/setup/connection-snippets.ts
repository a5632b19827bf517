import type { CloudEndpoints } from "../cloud/environments.js";

/** The values setup produced, in the forms users paste into scripts and pipelines. */
export interface ConnectionSnippets {
  /** Environment variables for exo-cba and the Azure SDKs. */
  environment: Record<string, string>;
  /** An exo-cba command that uses the saved profile. */
  exoCba: string;
  /** Windows PowerShell, certificate in the user's certificate store. */
  powershell: string;
  /** Linux/macOS PowerShell: the certificate as a PFX file (export it first, see `exportPfx`). */
  powershellFilePath: string;
  /** How to write that PFX; its password comes from a file (or EXO_CERTIFICATE_PASSWORD), never argv. */
  exportPfx: string;
}

const PS_ENVIRONMENT: Record<string, string> = {
  O365USGovGCCHigh: "O365USGovGCCHigh",
  O365USGovDoD: "O365USGovDoD",
  O365China: "O365China",
};

export function connectionSnippets(input: {
  appId: string;
  organization: string;
  thumbprint: string;
  profile: string;
  endpoints: CloudEndpoints;
}): ConnectionSnippets {
  const environment: Record<string, string> = {
    EXO_APP_ID: input.appId,
    EXO_ORGANIZATION: input.organization,
    EXO_CERTIFICATE_THUMBPRINT: input.thumbprint,
  };
  if (input.endpoints.custom) {
    environment.EXO_AUTHORITY_HOST = input.endpoints.authorityHost;
    environment.EXO_GRAPH_ENDPOINT = input.endpoints.graphEndpoint;
    environment.EXO_EXCHANGE_ENDPOINT = input.endpoints.exchangeEndpoint;
    if (input.endpoints.exchangeResource !== input.endpoints.exchangeEndpoint) {
      environment.EXO_EXCHANGE_RESOURCE = input.endpoints.exchangeResource;
    }
  } else if (input.endpoints.environment !== "O365Default") {
    environment.EXO_ENVIRONMENT = input.endpoints.environment;
  }
  const psEnv = PS_ENVIRONMENT[input.endpoints.environment];
  const envFlag = psEnv ? ` -ExchangeEnvironmentName ${psEnv}` : "";
  const pfx = `./exo-cba-${input.thumbprint.slice(0, 8).toLowerCase()}.pfx`;
  return {
    environment,
    exoCba: `exo-cba invoke Get-OrganizationConfig --profile ${input.profile}`,
    powershell: `Connect-ExchangeOnline -CertificateThumbprint ${input.thumbprint} -AppId ${input.appId} -Organization ${input.organization}${envFlag}`,
    powershellFilePath: `Connect-ExchangeOnline -CertificateFilePath ${pfx} -CertificatePassword (Read-Host -AsSecureString -Prompt 'PFX password') -AppId ${input.appId} -Organization ${input.organization}${envFlag}`,
    exportPfx: `exo-cba cert export ${input.thumbprint} --pfx ${pfx} --password-file ./pfx-password.txt`,
  };
}
