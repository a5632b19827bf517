import { ServerError } from "../errors.js";

/** The Graph error envelope (docs/graph-queries.md, "Errors"): `{ error: { code, message, details[], innerError } }`. */
interface GraphErrorBody {
  error?: {
    code?: string;
    message?: string;
    details?: Array<{ code?: string; message?: string; target?: string }>;
    innerError?: { "request-id"?: string; "client-request-id"?: string; date?: string };
    innererror?: { "request-id"?: string; "client-request-id"?: string; date?: string };
  };
}

/**
 * A Graph call that failed. Callers decide what it means for their step (replication lag, "already exists",
 * missing admin rights): several directory conditions share `Request_BadRequest`, so the message and the
 * `details[].code` values are kept for matching as well as the top-level code.
 */
export class GraphError extends ServerError {
  readonly status: number;
  /** Top-level `error.code`, e.g. `Authorization_RequestDenied`. */
  readonly code: string;
  /** `error.details[].code`, e.g. `NoBackingApplicationObject`. */
  readonly detailCodes: string[];
  readonly method: string;
  readonly path: string;
  /** The service's own message, without our prefix. */
  readonly graphMessage: string;

  constructor(
    method: string,
    path: string,
    status: number,
    code: string,
    message: string,
    detailCodes: string[],
    requestId?: string,
  ) {
    super(`Microsoft Graph ${method} ${path} failed: ${status} ${code}: ${message}`, {
      httpStatus: status,
      errorClass: code,
      ...(requestId ? { requestId } : {}),
    });
    this.status = status;
    this.code = code;
    this.detailCodes = detailCodes;
    this.method = method;
    this.path = path;
    this.graphMessage = message;
  }

  /** True when the code, a detail code, or the message matches. */
  matches(pattern: string | RegExp): boolean {
    const test = (s: string) => (typeof pattern === "string" ? s === pattern : pattern.test(s));
    return test(this.code) || this.detailCodes.some(test) || test(this.graphMessage);
  }
}

export function parseGraphError(
  method: string,
  path: string,
  status: number,
  text: string,
  headers: Record<string, string | string[] | undefined>,
): GraphError {
  let body: GraphErrorBody = {};
  try {
    body = JSON.parse(text) as GraphErrorBody;
  } catch {
    // A proxy's HTML page or an empty body: keep the status and a short excerpt.
  }
  const e = body.error ?? {};
  const inner = e.innerError ?? e.innererror ?? {};
  const header = headers["request-id"];
  const requestId = inner["request-id"] ?? (Array.isArray(header) ? header[0] : header);
  return new GraphError(
    method,
    path,
    status,
    e.code ?? `HTTP${status}`,
    e.message ?? (text.slice(0, 200) || "(empty body)"),
    (e.details ?? []).map((d) => d.code ?? "").filter(Boolean),
    requestId,
  );
}
