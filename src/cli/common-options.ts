/**
 * Options several commands share, declared once as schemas (see define-command.ts): the connection
 * options of Connect-ExchangeOnline (each also read from the environment, docs/invoke.md), `--output`,
 * and the network patience options.
 */
import type { ConnectionOptions } from "../config/connection.js";
import { UsageError } from "../errors.js";
import { option, type Parsed } from "./define-command.js";
import { type NumberSpec, parseNumberText } from "./numbers.js";
import { nonEmpty, oneOf, text } from "./option-schemas.js";
import { OUTPUT_FORMATS, type OutputFormat } from "./render.js";

export const connectionOptions = {
  appId: option("--app-id <guid>", "application (client) id [EXO_APP_ID, AZURE_CLIENT_ID]", text()),
  organization: option(
    "--organization <org>",
    "tenant: the *.onmicrosoft.com domain or the tenant id [EXO_ORGANIZATION, AZURE_TENANT_ID]",
    text(),
  ),
  certificateThumbprint: option(
    "--certificate-thumbprint <hex>",
    "certificate in the local store [EXO_CERTIFICATE_THUMBPRINT]",
    text(),
  ),
  certificateFilePath: option(
    "--certificate-file-path <file>",
    "PFX, or PEM with certificate and key [EXO_CERTIFICATE_FILE_PATH, AZURE_CLIENT_CERTIFICATE_PATH]",
    text(),
  ),
  certificatePasswordFile: option(
    "--certificate-password-file <file>",
    "file whose first line is the PFX/PEM password (or set EXO_CERTIFICATE_PASSWORD)",
    text(),
  ),
  profile: option("--profile <name>", "a profile saved by setup [EXO_PROFILE]", text()),
  exchangeEnvironment: option(
    "--exchange-environment <name>",
    "O365Default, O365USGovGCCHigh, O365USGovDoD or O365China [EXO_ENVIRONMENT]",
    text(),
  ),
};

/** The cloud, for the admin commands (setup, teardown): a given value must not be blank. */
export const exchangeEnvironmentOption = option(
  "--exchange-environment <name>",
  "O365Default, O365USGovGCCHigh, O365USGovDoD or O365China [EXO_ENVIRONMENT]",
  nonEmpty(),
);

/** The connection flags that were given (the environment and profile are read by resolveConnection). */
export function connectionFrom(opts: Partial<Parsed<typeof connectionOptions>>): ConnectionOptions {
  const out: ConnectionOptions = {};
  for (const key of Object.keys(connectionOptions) as Array<keyof typeof connectionOptions>) {
    const v = opts[key];
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/** `-o, --output json|ndjson|csv|table` for every command that prints data. */
export const outputOption = (fallback: OutputFormat = "table") => ({
  output: option("-o, --output <format>", "output format", oneOf(OUTPUT_FORMATS), { default: fallback }),
});

/** How patient one command is with the network: `--request-timeout`, `--retries` (docs/invoke.md "Limits"). */
export interface NetworkOptions {
  /** idle timeout of one request, ms */
  timeoutMs?: number;
  /** attempts per request, including the first */
  maxAttempts?: number;
}

export const MAX_RETRIES = 20;

export const networkOptions = (defaultTimeout: string) => ({
  requestTimeout: option(
    "--request-timeout <seconds>",
    `give up on a request that stays silent this long, then retry it (default ${defaultTimeout}) [EXO_HTTP_TIMEOUT]`,
    text(),
  ),
  retries: option(
    "--retries <n>",
    "retries of a failed request: throttling, 5xx, dropped connections (default 5) [EXO_HTTP_RETRIES]",
    text(),
  ),
});

const TIMEOUT: NumberSpec = { integer: false, min: 1, max: 3600, unit: "seconds" };
const RETRIES: NumberSpec = { min: 0, max: MAX_RETRIES };

/** The flags win over EXO_HTTP_TIMEOUT / EXO_HTTP_RETRIES; an empty variable counts as unset. */
export function networkFrom(
  opts: { requestTimeout?: string | undefined; retries?: string | undefined },
  env: NodeJS.ProcessEnv,
): NetworkOptions {
  const read = (flag: string | undefined, name: string, variable: string, spec: NumberSpec) => {
    const [value, source] =
      flag !== undefined ? [flag, name] : env[variable] ? [env[variable] as string, variable] : [];
    if (value === undefined) return undefined;
    const n = parseNumberText(value, spec);
    if (typeof n !== "number") throw new UsageError(`${source} ${n.error}`);
    return n;
  };
  const out: NetworkOptions = {};
  const seconds = read(opts.requestTimeout, "--request-timeout", "EXO_HTTP_TIMEOUT", TIMEOUT);
  if (seconds !== undefined) out.timeoutMs = Math.round(seconds * 1000);
  const retries = read(opts.retries, "--retries", "EXO_HTTP_RETRIES", RETRIES);
  if (retries !== undefined) out.maxAttempts = retries + 1;
  return out;
}
