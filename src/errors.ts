/**
 * Typed errors and the one place that maps them to process exit codes (README.md, "Exit codes").
 *
 * Every expected failure is one of these classes: it carries what the user needs (a code from the
 * service, the HTTP status, request ids, a hint saying what to do next) and never a secret.
 * Anything else that escapes is an internal error (exit 1) and is shown with its stack under --debug.
 *
 * @module
 */

/** The process exit codes of the CLI, one per kind of failure (README.md, "Exit codes"). */
export const ExitCode = {
  Ok: 0,
  Internal: 1,
  Usage: 2,
  AuthenticationRefused: 3,
  NotAuthorized: 4,
  ServerError: 5,
  TransientExhausted: 6,
  Partial: 7,
  CheckFailed: 8,
} as const;
/** One of the values of {@link ExitCode}. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface ErrorDetails {
  /** What the user should do next, one or two sentences. */
  hint?: string;
  /** HTTP status of the failing response, if any. */
  httpStatus?: number;
  /** Server request id (`request-id`, `client-request-id`, AAD trace id) for support cases. */
  requestId?: string;
  cause?: unknown;
}

/** Base class: every expected failure of exo-cba. */
export abstract class ExoCbaError extends Error {
  abstract readonly exitCode: ExitCode;
  readonly hint: string | undefined;
  readonly httpStatus: number | undefined;
  readonly requestId: string | undefined;

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.hint = details.hint;
    this.httpStatus = details.httpStatus;
    this.requestId = details.requestId;
  }

  /** Structured form for `--output json` and `--log-format json`. */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { error: this.name, message: this.message, exitCode: this.exitCode };
    if (this.hint) out.hint = this.hint;
    if (this.httpStatus !== undefined) out.httpStatus = this.httpStatus;
    if (this.requestId) out.requestId = this.requestId;
    return out;
  }
}

/** Exit 2: bad flags, bad files, wrong passwords, invalid input — detected before any harm is done. */
export class UsageError extends ExoCbaError {
  readonly exitCode = ExitCode.Usage;
}

/** Exit 3: the token endpoint refused us. Always carries the AADSTS code when the service gave one. */
export class AuthenticationError extends ExoCbaError {
  readonly exitCode = ExitCode.AuthenticationRefused;
  /** e.g. 700027 */
  readonly aadstsCode: number | undefined;
  /** OAuth `error` field, e.g. `invalid_client`. */
  readonly oauthError: string | undefined;
  readonly correlationId: string | undefined;

  constructor(
    message: string,
    details: ErrorDetails & { aadstsCode?: number; oauthError?: string; correlationId?: string } = {},
  ) {
    super(message, details);
    this.aadstsCode = details.aadstsCode;
    this.oauthError = details.oauthError;
    this.correlationId = details.correlationId;
  }

  override toJSON(): Record<string, unknown> {
    const out = super.toJSON();
    if (this.aadstsCode !== undefined) out.aadstsCode = `AADSTS${this.aadstsCode}`;
    if (this.oauthError) out.oauthError = this.oauthError;
    if (this.correlationId) out.correlationId = this.correlationId;
    return out;
  }
}

/** Why access was denied, when we can tell. */
export type AuthorizationReason =
  | "permission-missing" // token lacks Exchange.ManageAsApp (not consented)
  | "role-missing" // no supported directory role
  | "read-only-role" // e.g. Global Reader calling Set-*
  | "cmdlet-not-in-role" // the role's Exchange role group does not hold the cmdlet (docs/exchange-rbac.md)
  | "propagating" // granted recently, not yet visible
  | "admin-rights" // the signed-in admin lacks a Graph permission or role
  | "unknown";

/** Exit 4: authenticated, but not allowed (permission, consent, role). */
export class AuthorizationError extends ExoCbaError {
  readonly exitCode = ExitCode.NotAuthorized;
  readonly reason: AuthorizationReason;

  constructor(message: string, details: ErrorDetails & { reason?: AuthorizationReason } = {}) {
    super(message, details);
    this.reason = details.reason ?? "unknown";
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), reason: this.reason };
  }
}

/** Exit 5: the cmdlet or the server failed (object not found, bad parameter, 500 ...). */
export class ServerError extends ExoCbaError {
  readonly exitCode = ExitCode.ServerError;
  /** Exchange exception class (`ManagementObjectNotFoundException`) or Graph error code. */
  readonly errorClass: string | undefined;
  readonly cmdlet: string | undefined;

  constructor(message: string, details: ErrorDetails & { errorClass?: string; cmdlet?: string } = {}) {
    super(message, details);
    this.errorClass = details.errorClass;
    this.cmdlet = details.cmdlet;
  }

  override toJSON(): Record<string, unknown> {
    const out = super.toJSON();
    if (this.errorClass) out.errorClass = this.errorClass;
    if (this.cmdlet) out.cmdlet = this.cmdlet;
    return out;
  }
}

/** Exit 6: throttling, 5xx or dropped connections outlasted the retry budget. */
export class TransientError extends ExoCbaError {
  readonly exitCode = ExitCode.TransientExhausted;
  readonly attempts: number | undefined;

  constructor(message: string, details: ErrorDetails & { attempts?: number } = {}) {
    super(message, details);
    this.attempts = details.attempts;
  }
}

/** Exit 7: some of the work succeeded, some did not; the output lists what is missing. */
export class PartialResultError extends ExoCbaError {
  readonly exitCode = ExitCode.Partial;
}

/** Exit 8: a check (doctor, cert check) found a problem. */
export class CheckFailedError extends ExoCbaError {
  readonly exitCode = ExitCode.CheckFailed;
}

/** The single mapping from any thrown value to an exit code. */
export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof ExoCbaError) return error.exitCode;
  return asExpectedError(error)?.exitCode ?? ExitCode.Internal;
}

/** getaddrinfo answers for a host name that does not resolve. */
const DNS_CODES = new Set(["ENOTFOUND", "EAI_NONAME", "EAI_FAIL", "EAI_NODATA"]);
/** OpenSSL / Node verification failures of a server's certificate (docs/operations.md §8). */
const TLS_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_REVOKED",
  "CERT_SIGNATURE_FAILURE",
  "CERT_CHAIN_TOO_LONG",
  "INVALID_CA",
  "INVALID_PURPOSE",
  "PATH_LENGTH_EXCEEDED",
  "HOSTNAME_MISMATCH",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** File-system refusals that are about this machine, not exo-cba (a path is always named). */
const FS_CODES: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "the file system is read-only",
  ENOSPC: "the disk is full",
  EDQUOT: "the disk quota is exhausted",
};

interface CodedError {
  code?: unknown;
  hostname?: unknown;
  name?: unknown;
  message?: unknown;
  cause?: unknown;
  error?: unknown;
}

/** The error and what it wraps (`cause`, MSAL's `error`), nearest first, at most a few levels deep. */
function chainOf(error: unknown): CodedError[] {
  const out: CodedError[] = [];
  let current: unknown = error;
  while (current !== null && typeof current === "object" && out.length < 6 && !out.includes(current)) {
    out.push(current as CodedError);
    const e = current as CodedError;
    current = e.cause ?? e.error;
  }
  return out;
}

/**
 * Failures of the world, not of exo-cba, that arrive as plain Node or library errors: each becomes the
 * typed error with its documented exit code (README "Exit codes"), so exit 1 stays reserved for bugs.
 * Undefined when the error is none of these (then it is an internal error).
 */
export function asExpectedError(error: unknown): ExoCbaError | undefined {
  if (error instanceof ExoCbaError) return error;
  for (const e of chainOf(error)) {
    if (e instanceof ExoCbaError) return e;
    const code = typeof e.code === "string" ? e.code : undefined;
    if (!code) continue;
    const detail = typeof e.message === "string" ? e.message : code;
    if (DNS_CODES.has(code)) {
      const host = typeof e.hostname === "string" ? e.hostname : "the server";
      return new TransientError(`Cannot resolve the host name ${host} (DNS: ${code}).`, {
        cause: error,
        hint: "Check the network and DNS of this machine, and the host name (EXO_AUTHORITY_HOST, EXO_GRAPH_ENDPOINT, EXO_EXCHANGE_ENDPOINT or the profile's endpoints); then run the command again.",
      });
    }
    if (TLS_CODES.has(code)) {
      return new UsageError(`The server's TLS certificate is not trusted: ${detail} (${code}).`, {
        cause: error,
        hint: "TLS is always verified. If the server uses a private CA (a proxy, the emulator), trust it with NODE_EXTRA_CA_CERTS=/path/to/ca.pem; otherwise check the endpoint and the network (something may intercept TLS).",
      });
    }
    if (FS_CODES[code] && typeof (e as { path?: unknown }).path === "string") {
      const path = (e as { path: string }).path;
      return new UsageError(`Cannot access ${path}: ${FS_CODES[code]} (${code}).`, {
        cause: error,
        hint: "Check the permissions of that path (and of the state home, EXO_CBA_HOME) and the free disk space.",
      });
    }
    if (code.startsWith("SQLITE_")) {
      // Extended codes (SQLITE_BUSY_SNAPSHOT, SQLITE_IOERR_WRITE) share their primary code's meaning.
      const base = code.split("_").slice(0, 2).join("_");
      if (base === "SQLITE_BUSY" || base === "SQLITE_LOCKED") {
        return new TransientError(`The report history database is locked by another process (${code}).`, {
          cause: error,
          hint: "Another `report usage` (or a tool holding history.sqlite in the state home) is writing it; run the command again when it has finished.",
        });
      }
      if (base === "SQLITE_CORRUPT" || base === "SQLITE_NOTADB") {
        return new UsageError(`The report history database is damaged: ${detail} (${code}).`, {
          cause: error,
          hint: "Move history.sqlite in the state home aside (e.g. to history.sqlite.damaged); the next report starts a new history (growth figures start again).",
        });
      }
      if (
        ["SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_FULL", "SQLITE_IOERR", "SQLITE_PERM"].includes(base)
      ) {
        return new UsageError(`Cannot write the report history database: ${detail} (${code}).`, {
          cause: error,
          hint: "Check that the state home (EXO_CBA_HOME) is writable by this user and its disk is not full.",
        });
      }
    }
  }
  return undefined;
}
