import { type CloudEndpoints, resolveEndpoints } from "../cloud/environments.js";
import { UsageError } from "../errors.js";
import { MAX_SMALL_FILE_BYTES, readFileCapped } from "../util/fs.js";
import { stateHome } from "./home.js";
import { findProfile, type Profile } from "./profiles.js";
import { normalizeThumbprint, validateAppId, validateOrganization } from "./validate.js";

/** Connection options as the CLI parses them (names follow Connect-ExchangeOnline). */
export interface ConnectionOptions {
  appId?: string;
  organization?: string;
  certificateThumbprint?: string;
  certificateFilePath?: string;
  certificatePasswordFile?: string;
  profile?: string;
  exchangeEnvironment?: string;
}

export type CertificateReference =
  | { kind: "thumbprint"; thumbprint: string }
  | { kind: "file"; path: string; password?: string };

/** Everything needed to connect, resolved from flags, then EXO_*, then AZURE_*, then the profile. */
export interface ResolvedConnection {
  appId: string;
  organization: string;
  tenantId?: string;
  certificate: CertificateReference;
  endpoints: CloudEndpoints;
  home: string;
  profile?: Profile;
}

/** The first value given: an empty string (an empty environment variable) counts as not given. */
export const first = (...values: Array<string | undefined>) =>
  values.find((v) => v !== undefined && v !== "");

/** Read a password from a file: the first line, without its line ending. Never from argv. */
export async function readPasswordFile(path: string): Promise<string> {
  try {
    const text = (await readFileCapped(path, MAX_SMALL_FILE_BYTES, "The password file")).toString("utf8");
    return text.split(/\r?\n/)[0] ?? "";
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`Cannot read the password file ${path}: ${(error as Error).message}`);
  }
}

export async function resolveConnection(
  options: ConnectionOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ResolvedConnection> {
  const home = stateHome(env);
  const profile = await findProfile(home, first(options.profile, env.EXO_PROFILE));

  // Two credential flags at once is a mistake worth stopping on rather than guessing.
  if (options.certificateThumbprint && options.certificateFilePath) {
    throw new UsageError("Give either --certificate-thumbprint or --certificate-file-path, not both.");
  }

  const appIdRaw = first(options.appId, env.EXO_APP_ID, env.AZURE_CLIENT_ID, profile?.appId);
  const orgRaw = first(
    options.organization,
    env.EXO_ORGANIZATION,
    env.AZURE_TENANT_ID,
    profile?.organization,
  );
  if (!appIdRaw || !orgRaw) {
    const missing = [!appIdRaw && "--app-id (EXO_APP_ID)", !orgRaw && "--organization (EXO_ORGANIZATION)"]
      .filter(Boolean)
      .join(" and ");
    throw new UsageError(`Missing ${missing}.`, {
      hint: "Run `exo-cba setup` to create a profile, or pass the connection options.",
    });
  }

  // A flag for one credential kind overrides the other kind coming from the environment or profile.
  const flagThumb = options.certificateThumbprint;
  const flagFile = options.certificateFilePath;
  const thumbprint = flagFile ? undefined : first(flagThumb, env.EXO_CERTIFICATE_THUMBPRINT);
  const filePath = flagThumb
    ? undefined
    : first(flagFile, env.EXO_CERTIFICATE_FILE_PATH, env.AZURE_CLIENT_CERTIFICATE_PATH);
  if (!flagThumb && !flagFile && thumbprint && filePath) {
    throw new UsageError(
      "Both EXO_CERTIFICATE_THUMBPRINT and a certificate file path are set in the environment; unset one.",
    );
  }

  let certificate: CertificateReference;
  if (thumbprint) certificate = { kind: "thumbprint", thumbprint: normalizeThumbprint(thumbprint) };
  else if (filePath) {
    const password = options.certificatePasswordFile
      ? await readPasswordFile(options.certificatePasswordFile)
      : first(env.EXO_CERTIFICATE_PASSWORD, env.AZURE_CLIENT_CERTIFICATE_PASSWORD);
    certificate =
      password === undefined ? { kind: "file", path: filePath } : { kind: "file", path: filePath, password };
  } else if (profile?.certificateThumbprint) {
    certificate = { kind: "thumbprint", thumbprint: normalizeThumbprint(profile.certificateThumbprint) };
  } else if (profile?.certificateFilePath) {
    certificate = { kind: "file", path: profile.certificateFilePath };
  } else {
    throw new UsageError("No certificate given.", {
      hint: "Pass --certificate-thumbprint (from `exo-cba cert list`) or --certificate-file-path with a PFX/PEM.",
    });
  }

  // The profile's saved custom endpoints apply when the environment is the profile's too: a flag or
  // EXO_ENVIRONMENT naming a cloud means that cloud's hosts (docs/invoke.md "Where requests go").
  const chosenEnvironment = first(options.exchangeEnvironment, env.EXO_ENVIRONMENT);
  const endpoints = resolveEndpoints(
    chosenEnvironment ?? profile?.environment,
    env,
    chosenEnvironment === undefined ? profile?.endpoints : undefined,
  );
  const organization = validateOrganization(orgRaw);
  const resolved: ResolvedConnection = {
    appId: validateAppId(appIdRaw),
    organization,
    certificate,
    endpoints,
    home,
  };
  if (profile) resolved.profile = profile;
  const tenantId = profile && profile.organization === organization ? profile.tenantId : undefined;
  if (tenantId) resolved.tenantId = tenantId;
  return resolved;
}
