/**
 * exo-cba as a library: certificate-based, unattended Exchange Online from TypeScript.
 *
 * ```ts
 * const exo = await connectExchangeOnline({ appId, organization, certificate: { thumbprint } });
 * for await (const row of exo.stream("Get-Mailbox", { ResultSize: "Unlimited" })) { ... }
 * await exo.disconnect();
 * ```
 *
 * This list is the public API, chosen on purpose and pinned by `src/index.test.ts`: anything not exported
 * here is internal and may change in any release. Its reference is generated from these TSDoc comments
 * into docs/api/ (`npm run docs:api`). The emulator is a package of its own (`@exo-cba/emulator`); product
 * code never depends on it.
 *
 * @packageDocumentation
 */

// Provisioning the Entra app (what `exo-cba setup` / `teardown` do).
export type { AdminSignInOptions } from "./auth/admin.js";
// Connecting and running cmdlets. The credential kinds are the members of `ConnectOptions`: a certificate
// (`CertificateInput`: store thumbprint, PFX/PEM file, PEM pair, or a PEM plus an `ExternalSigner` for a
// key kept in a vault), a managed identity, a caller-supplied access token, or any `TokenProvider`.
export type { AccessToken, ExternalSigner, TokenProvider } from "./auth/types.js";
export { type CreateSelfSignedOptions, createSelfSignedCertificate } from "./cert/create.js";
export { type ExportFormat, type ExportOptions, exportCertificate } from "./cert/export.js";
export { type ImportOptions, type ImportResult, importCertificate } from "./cert/import.js";
// Certificates: the local store, creation, import and export, expiry checks.
export { CertStore, type CertStoreOptions } from "./cert/store.js";
export type { CertificateCredential, CertificateInfo, CertificateOrigin } from "./cert/types.js";
export type { CloudEndpoints } from "./cloud/environments.js";
// Typed errors: each maps to one exit code of the CLI (README, "Exit codes").
export {
  AuthenticationError,
  AuthorizationError,
  type AuthorizationReason,
  CheckFailedError,
  type ErrorDetails,
  ExitCode,
  ExoCbaError,
  exitCodeFor,
  PartialResultError,
  ServerError,
  TransientError,
  UsageError,
} from "./errors.js";
export type { CmdletCallInfo, ExchangeStats, InvokeOptions } from "./exchange/client.js";
export {
  type CertificateInput,
  type ConnectionCertificateInfo,
  type ConnectOptions,
  connectExchangeOnline,
  type ExchangeConnection,
} from "./exchange/connect.js";
export type { CmdletParameters, ParameterValue } from "./exchange/serialize.js";
export type { CircuitBreaker } from "./http/circuit-breaker.js";
export type { RetryInfo, RetryOptions } from "./http/retry.js";
export {
  type HttpRequest,
  type HttpResponse,
  HttpTransport,
  type HttpTransportOptions,
} from "./http/transport.js";
export {
  type CertCheckOptions,
  type CertCheckRow,
  type CertCheckStatus,
  checkCertificates,
} from "./lifecycle/cert-check.js";
// The usage report (what `exo-cba report usage` does).
export type { BackupComparison, Growth, HistoryPoint, TopMailbox, UsageTotals } from "./report/aggregate.js";
export type {
  BackupCoverage,
  BackupGrowth,
  BackupMissing,
  BackupSection,
  CoverageMailbox,
  RepositoryCoverage,
} from "./report/backup-coverage.js";
export type { CollectProgress } from "./report/collect.js";
export type { CombinedSummary, RunInfo, TenantReport } from "./report/model.js";
export type { RetryNotice } from "./report/throttle-signal.js";
export type {
  MailboxCategory,
  MailboxFailure,
  MailboxUsage,
  TenantCounts,
  UsageSource,
} from "./report/types.js";
export {
  type BackupTarget,
  type ReportFormat,
  runUsageReport,
  type TenantConnection,
  type TenantEndInfo,
  type TenantError,
  type TenantTarget,
  type UsageReportOptions,
  type UsageReportResult,
} from "./report/usage-report.js";
export type { Vb365ColumnsRow } from "./report/vb365-columns.js";
export type { CertificateChoice } from "./setup/certificate.js";
export type { ConnectionSnippets } from "./setup/connection-snippets.js";
export { type SetupOptions, type SetupResult, setupExchangeApp } from "./setup/setup.js";
export type { PlanAction, PlanItem, StepProgress } from "./setup/steps.js";
export {
  type TeardownItem,
  type TeardownOptions,
  type TeardownResult,
  teardownExchangeApp,
} from "./setup/teardown.js";
export type {
  BackupSnapshot,
  LicensedUsers,
  ProtectedEntry,
  RepositoryProtection,
  Vb365Organization,
  Vb365RepositoryUsage,
} from "./vb365/backup.js";
