import { type Command, Option } from "commander";
import type { ConnectionOptions } from "../config/connection.js";
import { UsageError } from "../errors.js";
import { OUTPUT_FORMATS, type OutputFormat, parseOutputFormat } from "./render.js";

/** The connection options of Connect-ExchangeOnline, each also read from the environment (docs/invoke.md, "Connection options"). */
export function addConnectionOptions(cmd: Command): Command {
  return cmd
    .option("--app-id <guid>", "application (client) id [EXO_APP_ID, AZURE_CLIENT_ID]")
    .option(
      "--organization <org>",
      "tenant: the *.onmicrosoft.com domain or the tenant id [EXO_ORGANIZATION, AZURE_TENANT_ID]",
    )
    .option("--certificate-thumbprint <hex>", "certificate in the local store [EXO_CERTIFICATE_THUMBPRINT]")
    .option(
      "--certificate-file-path <file>",
      "PFX, or PEM with certificate and key [EXO_CERTIFICATE_FILE_PATH, AZURE_CLIENT_CERTIFICATE_PATH]",
    )
    .option(
      "--certificate-password-file <file>",
      "file whose first line is the PFX/PEM password (or set EXO_CERTIFICATE_PASSWORD)",
    )
    .option("--profile <name>", "a profile saved by setup [EXO_PROFILE]")
    .option(
      "--exchange-environment <name>",
      "O365Default, O365USGovGCCHigh, O365USGovDoD or O365China [EXO_ENVIRONMENT]",
    );
}

export function connectionOptionsFrom(opts: Record<string, unknown>): ConnectionOptions {
  const pick = (k: string) => (typeof opts[k] === "string" ? (opts[k] as string) : undefined);
  const out: ConnectionOptions = {};
  const map: Array<[keyof ConnectionOptions, string]> = [
    ["appId", "appId"],
    ["organization", "organization"],
    ["certificateThumbprint", "certificateThumbprint"],
    ["certificateFilePath", "certificateFilePath"],
    ["certificatePasswordFile", "certificatePasswordFile"],
    ["profile", "profile"],
    ["exchangeEnvironment", "exchangeEnvironment"],
  ];
  for (const [key, name] of map) {
    const v = pick(name);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/** `--output json|ndjson|csv|table` for every command that prints data. */
export function addOutputOption(cmd: Command, fallback: OutputFormat = "table"): Command {
  return cmd.addOption(
    new Option("-o, --output <format>", "output format").choices([...OUTPUT_FORMATS]).default(fallback),
  );
}

export function outputFormatFrom(
  opts: Record<string, unknown>,
  fallback: OutputFormat = "table",
): OutputFormat {
  return parseOutputFormat(typeof opts.output === "string" ? opts.output : undefined, fallback);
}

/** Append an "Examples:" block to a command's --help. */
export function withExamples(cmd: Command, examples: string[]): Command {
  return cmd.addHelpText("after", `\nExamples:\n${examples.map((e) => `  $ ${e}`).join("\n")}\n`);
}

/** How patient one command is with the network: `--request-timeout`, `--retries` (docs/invoke.md "Limits"). */
export interface NetworkOptions {
  /** idle timeout of one request, ms */
  timeoutMs?: number;
  /** attempts per request, including the first */
  maxAttempts?: number;
}

export const MAX_RETRIES = 20;

export function addNetworkOptions(cmd: Command, defaultTimeout: string): Command {
  return cmd
    .option(
      "--request-timeout <seconds>",
      `give up on a request that stays silent this long, then retry it (default ${defaultTimeout}) [EXO_HTTP_TIMEOUT]`,
    )
    .option(
      "--retries <n>",
      "retries of a failed request: throttling, 5xx, dropped connections (default 5) [EXO_HTTP_RETRIES]",
    );
}

/** The flags win over EXO_HTTP_TIMEOUT / EXO_HTTP_RETRIES; an empty variable counts as unset. */
export function networkOptionsFrom(opts: Record<string, unknown>, env: NodeJS.ProcessEnv): NetworkOptions {
  const pick = (flag: unknown, variable: string) =>
    typeof flag === "string"
      ? { text: flag, source: variable === "EXO_HTTP_TIMEOUT" ? "--request-timeout" : "--retries" }
      : env[variable]
        ? { text: env[variable] as string, source: variable }
        : undefined;
  const out: NetworkOptions = {};
  const timeout = pick(opts.requestTimeout, "EXO_HTTP_TIMEOUT");
  if (timeout) {
    const seconds = Number(timeout.text.trim());
    if (!/^\d+(\.\d+)?$/.test(timeout.text.trim()) || seconds < 1 || seconds > 3600) {
      throw new UsageError(
        `${timeout.source} must be a number of seconds from 1 to 3600, not '${timeout.text}'.`,
      );
    }
    out.timeoutMs = Math.round(seconds * 1000);
  }
  const retries = pick(opts.retries, "EXO_HTTP_RETRIES");
  if (retries) {
    const n = Number(retries.text.trim());
    if (!/^\d+$/.test(retries.text.trim()) || n > MAX_RETRIES) {
      throw new UsageError(
        `${retries.source} must be a whole number from 0 to ${MAX_RETRIES}, not '${retries.text}'.`,
      );
    }
    out.maxAttempts = n + 1;
  }
  return out;
}
