/**
 * exo-cba as a library: everything the CLI does, reachable from TypeScript.
 *
 *   const exo = await connectExchangeOnline({ appId, organization, certificate: { thumbprint } });
 *   for await (const row of exo.stream("Get-Mailbox", { ResultSize: "Unlimited" })) { ... }
 *   await exo.disconnect();
 *
 * The emulator is deliberately not exported from here (product code never depends on it); tests and
 * tools import it from "exo-cba/emulator".
 */
export * from "./auth/index.js";
export * from "./cert/index.js";
export {
  type CloudEndpoints,
  EXCHANGE_ENVIRONMENTS,
  type ExchangeEnvironment,
  exchangeScope,
  graphScope,
  resolveEndpoints,
} from "./cloud/environments.js";
export { type ConnectionOptions, type ResolvedConnection, resolveConnection } from "./config/connection.js";
export { stateHome } from "./config/home.js";
export { findProfile, type Profile, readProfiles, saveProfile } from "./config/profiles.js";
export { normalizeThumbprint, validateAppId, validateOrganization } from "./config/validate.js";
export { runDoctor } from "./diagnostics/doctor.js";
export * from "./errors.js";
export * from "./exchange/index.js";
export { type RetryOptions, withRetry } from "./http/retry.js";
export { HttpTransport, type HttpTransportOptions } from "./http/transport.js";
export { checkCertificates } from "./lifecycle/cert-check.js";
export { rotateCertificate } from "./lifecycle/rotate.js";
export { runUsageReport, type UsageReportOptions, type UsageReportResult } from "./report/usage-report.js";
export { buildScheduleEntry } from "./schedule/entries.js";
export { type SetupOptions, type SetupResult, setupExchangeApp } from "./setup/setup.js";
export { type TeardownOptions, type TeardownResult, teardownExchangeApp } from "./setup/teardown.js";
