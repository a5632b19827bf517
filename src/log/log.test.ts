import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { UsageError } from "../errors.js";
import { createLogger, nullLogger, parseLogFormat } from "./log.js";
import { REDACTED } from "./redact.js";

const dir = mkdtempSync(join(tmpdir(), "exo-log-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sink() {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (c) => {
    text += c.toString();
  });
  return { stream, lines: () => text.split("\n").filter(Boolean) };
}
const fixedNow = () => new Date("2026-11-28T21:00:00.000Z");

describe("createLogger", () => {
  it("writes one JSON object per event with time, run id, bound and event fields", () => {
    const out = sink();
    const logger = createLogger({
      stream: out.stream,
      runId: "run-1",
      now: fixedNow,
      fields: { command: "doctor" },
    });
    logger.event("cmdlet.end", {
      cmdlet: "Get-OrganizationConfig",
      status: "ok",
      durationMs: 12,
      retries: 1,
    });
    expect(out.lines().map((l) => JSON.parse(l))).toEqual([
      {
        time: "2026-11-28T21:00:00.000Z",
        runId: "run-1",
        event: "cmdlet.end",
        command: "doctor",
        cmdlet: "Get-OrganizationConfig",
        status: "ok",
        durationMs: 12,
        retries: 1,
      },
    ]);
  });

  it("generates a distinct run id per logger", () => {
    const a = createLogger({ stream: new PassThrough() });
    const b = createLogger({ stream: new PassThrough() });
    expect(a.runId).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.runId).not.toBe(b.runId);
  });

  it("redacts secrets by field name, by shape and by registered value", () => {
    const out = sink();
    const logger = createLogger({ stream: out.stream, secrets: ["pfx-password-1"] });
    logger.addSecret("late-secret-value");
    logger.event("http", {
      authorization: "Bearer abc",
      note: "password file said pfx-password-1; also late-secret-value",
      body: "client_assertion=eyJhbGciOiJQUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln",
    });
    const text = out.lines().join("\n");
    expect(text).not.toContain('abc"');
    expect(text).not.toContain("pfx-password-1");
    expect(text).not.toContain("late-secret-value");
    expect(text).not.toContain("eyJ");
    expect(JSON.parse(out.lines()[0]!).authorization).toBe(REDACTED);
  });

  it("child loggers add fields and share the run id and sinks", () => {
    const out = sink();
    const logger = createLogger({ stream: out.stream, runId: "r", now: fixedNow });
    logger.child({ cmdlet: "Get-Mailbox" }).event("page", { rows: 1000 });
    expect(JSON.parse(out.lines()[0]!)).toMatchObject({ runId: "r", cmdlet: "Get-Mailbox", rows: 1000 });
  });

  it("text format is one readable line per event", () => {
    const out = sink();
    createLogger({ format: "text", stream: out.stream, now: fixedNow, runId: "r" }).event("retry", {
      attempt: 2,
      reason: "HTTP 429 throttled",
    });
    expect(out.lines()).toEqual([
      '2026-11-28T21:00:00.000Z retry runId=r attempt=2 reason="HTTP 429 throttled"',
    ]);
  });

  it("appends to a log file created owner-only", () => {
    const file = join(dir, "new.log");
    const logger = createLogger({ filePath: file, runId: "r1" });
    logger.event("one");
    logger.close();
    const again = createLogger({ filePath: file, runId: "r2" });
    again.event("two");
    again.close();
    const records = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(records.map((r) => [r.runId, r.event])).toEqual([
      ["r1", "one"],
      ["r2", "two"],
    ]);
    if (process.platform !== "win32") expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("tightens an existing world-readable log file to 0600", () => {
    if (process.platform === "win32") return; // POSIX modes only
    const file = join(dir, "loose.log");
    writeFileSync(file, "", { mode: 0o644 });
    createLogger({ filePath: file }).close();
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("refuses an unwritable log path with a usage error", () => {
    expect(() => createLogger({ filePath: join(dir, "missing-dir", "x.log") })).toThrow(UsageError);
  });

  it("drops events after close", () => {
    const out = sink();
    const logger = createLogger({ stream: out.stream });
    logger.close();
    logger.event("late");
    expect(out.lines()).toEqual([]);
  });
});

describe("parseLogFormat / nullLogger", () => {
  it("accepts json and text, refuses the rest", () => {
    expect(parseLogFormat("JSON")).toBe("json");
    expect(parseLogFormat(undefined)).toBeUndefined();
    expect(() => parseLogFormat("xml")).toThrow(/Unknown log format/);
  });
  it("nullLogger accepts calls and writes nothing", () => {
    expect(() => nullLogger.child({ a: 1 }).event("x")).not.toThrow();
  });
});
