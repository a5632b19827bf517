import { type Command, Option } from "commander";
import type { ConnectionOptions } from "../config/connection.js";
import { OUTPUT_FORMATS, type OutputFormat, parseOutputFormat } from "./render.js";

/** The connection options of Connect-ExchangeOnline, each also read from the environment (DESIGN.md). */
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
