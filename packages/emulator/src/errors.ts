/**
 * The emulator could not start as asked: a port in use, a state file it cannot read. The caller's to
 * fix, not a bug; `hint` says how. exo-cba's `emulator` and `demo` commands report it as a usage error
 * (exit 2).
 */
export class EmulatorUsageError extends Error {
  readonly hint: string | undefined;

  constructor(message: string, details: { hint?: string; cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "EmulatorUsageError";
    this.hint = details.hint;
  }
}
