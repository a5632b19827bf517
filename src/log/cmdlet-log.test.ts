import { describe, expect, it } from "vitest";
import { ServerError } from "../errors.js";
import type { CmdletCallInfo } from "../exchange/client.js";
import { cmdletEndFields, cmdletLogger } from "./cmdlet-log.js";
import type { Logger } from "./log.js";

const info = (over: Partial<CmdletCallInfo> = {}): CmdletCallInfo => ({
  cmdlet: "Get-Mailbox",
  status: "ok",
  complete: true,
  durationMs: 42,
  rows: 3,
  pages: 1,
  requests: 2,
  retries: 1,
  tokenRequests: 1,
  clientRequestId: "c-1",
  connectionId: "conn-1",
  requestIds: ["r-1", "r-2"],
  cmdletErrors: 0,
  ...over,
});

function recording() {
  const events: Array<[string, Record<string, unknown> | undefined]> = [];
  const logger: Logger = {
    runId: "run",
    event: (name, fields) => events.push([name, fields]),
    child: () => logger,
    addSecret() {},
    close() {},
  };
  return { logger, events };
}

describe("cmdlet.end records", () => {
  it("carry the field names invokeWith always used, plus the last request id", () => {
    expect(cmdletEndFields(info())).toEqual({
      cmdlet: "Get-Mailbox",
      status: "ok",
      durationMs: 42,
      rows: 3,
      pages: 1,
      requests: 2,
      retries: 1,
      tokenRequests: 1,
      clientRequestId: "c-1",
      requestId: "r-2",
      requestIds: ["r-1", "r-2"],
    });
  });

  it("on failure: the error's own request id, the typed error, and that not every page was read", () => {
    const error = new ServerError("boom", { requestId: "r-err" });
    const fields = cmdletEndFields(info({ status: "error", complete: false, error, cmdletErrors: 2 }));
    expect(fields).toMatchObject({ status: "error", requestId: "r-err", complete: false, cmdletErrors: 2 });
    expect(fields.error).toBe(error);
  });

  it("no logger, no hook; a filter keeps only the calls worth a record", () => {
    expect(cmdletLogger(undefined)).toBeUndefined();
    const { logger, events } = recording();
    const hook = cmdletLogger(logger, (c) => !c.cmdlet.endsWith("Statistics"))!;
    hook(info({ cmdlet: "Get-MailboxStatistics" }));
    hook(info());
    expect(events.map(([name, f]) => [name, f?.cmdlet])).toEqual([["cmdlet.end", "Get-Mailbox"]]);
  });
});
