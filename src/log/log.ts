import { randomUUID } from "node:crypto";
import { closeSync, fchmodSync, fstatSync, fsyncSync, openSync, writeSync } from "node:fs";
import type { Writable } from "node:stream";
import { UsageError } from "../errors.js";
import { redact } from "./redact.js";

/**
 * Structured logs for unattended runs: one JSON object per line (`--log-format json`) to stderr and/or
 * a private log file (`--log-file`, mode 0600). Every record carries the run id so the lines of one
 * cron/systemd run can be grouped, and every record is redacted before it is written.
 *
 * Writes are synchronous on purpose: a log line must be on disk even when the process is about to exit
 * with an error, and our lines are small.
 */

export type LogFormat = "json" | "text";
export const LOG_FORMATS: readonly LogFormat[] = ["json", "text"];

export interface Logger {
  readonly runId: string;
  /** Record one event: `logger.event("cmdlet.end", { cmdlet, status, durationMs, requestId, retries })`. */
  event(name: string, fields?: Record<string, unknown>): void;
  /** A logger that adds `fields` to every event (same run id, same sinks). */
  child(fields: Record<string, unknown>): Logger;
  /** Register a value to remove verbatim from every later record (a password read from a file). */
  addSecret(value: string): void;
  close(): void;
}

export interface LoggerOptions {
  format?: LogFormat;
  /** Where JSON/text lines go besides the file; the CLI passes stderr. Omit for file-only logging. */
  stream?: Writable;
  /** Append to this file, created 0600 (tightened to 0600 if it exists with a wider mode). */
  filePath?: string;
  runId?: string;
  /** Fields on every record, e.g. `{ command: "report usage" }`. */
  fields?: Record<string, unknown>;
  now?: () => Date;
  secrets?: string[];
  /**
   * Told once when the log file cannot be written (full disk, a device, a removed mount): logging to the
   * file stops there, the command goes on. The CLI prints it on stderr.
   */
  onFileError?: (message: string) => void;
}

/** A logger that drops everything: what features get when the user asked for no logs. */
export const nullLogger: Logger = {
  runId: "",
  event() {},
  child() {
    return nullLogger;
  },
  addSecret() {},
  close() {},
};

export function parseLogFormat(value: string | undefined): LogFormat | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase();
  if ((LOG_FORMATS as readonly string[]).includes(v)) return v as LogFormat;
  throw new UsageError(`Unknown log format '${value}'.`, { hint: `Use one of: ${LOG_FORMATS.join(", ")}.` });
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const format = options.format ?? "json";
  const now = options.now ?? (() => new Date());
  const runId = options.runId ?? randomUUID();
  const secrets = new Set(options.secrets ?? []);
  let fd = options.filePath === undefined ? undefined : openPrivateLogFile(options.filePath);
  let closed = false;

  /** A log is never worth the job: the first write error is reported once and the file dropped. */
  const fileFailed = (error: unknown) => {
    const failedFd = fd;
    fd = undefined;
    if (failedFd !== undefined) {
      try {
        closeSync(failedFd);
      } catch {
        // already unusable
      }
    }
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    options.onFileError?.(
      `warning: cannot write the log file ${options.filePath} (${code}); the command goes on without it.`,
    );
  };

  const write = (record: Record<string, unknown>) => {
    if (closed) return;
    const safe = redact(record, { secrets }) as Record<string, unknown>;
    const line = format === "json" ? `${JSON.stringify(safe)}\n` : `${textLine(safe)}\n`;
    options.stream?.write(line);
    if (fd !== undefined) {
      try {
        writeSync(fd, line);
      } catch (error) {
        fileFailed(error);
      }
    }
  };

  const make = (bound: Record<string, unknown>): Logger => ({
    runId,
    event(name, fields = {}) {
      write({ time: now().toISOString(), runId, event: name, ...bound, ...fields });
    },
    child(fields) {
      return make({ ...bound, ...fields });
    },
    addSecret(value) {
      secrets.add(value);
    },
    close() {
      if (closed) return;
      closed = true;
      if (fd !== undefined) {
        try {
          fsyncSync(fd);
          closeSync(fd);
        } catch (error) {
          // fsync of a pipe or device says EINVAL: nothing to flush there, not a failure.
          if ((error as NodeJS.ErrnoException).code === "EINVAL") closeSync(fd);
          else fileFailed(error);
        }
      }
    },
  });
  return make(options.fields ?? {});
}

function openPrivateLogFile(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, "a", 0o600);
  } catch (error) {
    throw new UsageError(`Cannot open the log file ${path}: ${(error as Error).message}`, {
      hint: "Give a path in a directory the job's user can write to.",
    });
  }
  // An existing file keeps its mode on open: tighten it, logs name tenants, apps and mailboxes. Only a
  // regular file: a device or FIFO given as the log (/dev/stderr, a pipe) is not ours to change.
  if (process.platform !== "win32" && fstatSync(fd).isFile()) fchmodSync(fd, 0o600);
  return fd;
}

/** `time event key=value ...` for humans tailing a file; values with spaces are JSON-quoted. */
function textLine(record: Record<string, unknown>): string {
  const { time, event, ...rest } = record;
  const parts = [String(time), String(event)];
  for (const [k, v] of Object.entries(rest)) {
    const text = typeof v === "string" ? v : JSON.stringify(v);
    parts.push(`${k}=${/[\s"=]/.test(text) ? JSON.stringify(text) : text}`);
  }
  return parts.join(" ");
}
