import type { CmdletCallInfo } from "../exchange/client.js";
import type { Logger } from "./log.js";

/**
 * The one shape of a `cmdlet.end` record, whoever ran the cmdlet (invoke, test, report, doctor, rotation):
 * the Exchange client reports each call through `onCallEnd`, and this turns it into log fields. The
 * logger redacts the typed error before it is written.
 */
export function cmdletEndFields(info: CmdletCallInfo): Record<string, unknown> {
  const errorRequestId = (info.error as { requestId?: unknown } | undefined)?.requestId;
  const requestId = typeof errorRequestId === "string" ? errorRequestId : info.requestIds.at(-1);
  return {
    cmdlet: info.cmdlet,
    status: info.status,
    durationMs: info.durationMs,
    rows: info.rows,
    pages: info.pages,
    requests: info.requests,
    retries: info.retries,
    tokenRequests: info.tokenRequests,
    clientRequestId: info.clientRequestId,
    ...(requestId === undefined ? {} : { requestId }),
    requestIds: info.requestIds,
    ...(info.cmdletErrors > 0 ? { cmdletErrors: info.cmdletErrors } : {}),
    ...(info.complete ? {} : { complete: false }),
    ...(info.error === undefined ? {} : { error: info.error }),
  };
}

/**
 * An `onCallEnd` for connect options that records `cmdlet.end` through `logger`; undefined without a
 * logger, so a run without logs does no per-call work at all. `only` picks the calls worth a record.
 */
export function cmdletLogger(
  logger: Logger | undefined,
  only?: (info: CmdletCallInfo) => boolean,
): ((info: CmdletCallInfo) => void) | undefined {
  if (!logger) return undefined;
  return (info) => {
    if (only && !only(info)) return;
    logger.event("cmdlet.end", cmdletEndFields(info));
  };
}
