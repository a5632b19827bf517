/**
 * Typed errors and the one place that maps them to process exit codes (DESIGN.md "Exit codes").
 *
 * Every expected failure is one of these classes: it carries what the user needs (a code from the
 * service, the HTTP status, request ids, a hint saying what to do next) and never a secret.
 * Anything else that escapes is an internal error (exit 1) and is shown with its stack under --debug.
 */

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
  return ExitCode.Internal;
}
