/**
 * Graph's error envelope (docs/graph-queries.md, "Errors"):
 * `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`.
 * Operations throw GraphError; the handler turns it into the envelope with the request's ids.
 */
export class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Array<{ code: string; message: string; target?: string }>,
  ) {
    super(message);
  }
}

export function graphErrorBody(
  e: GraphError,
  ids: { requestId: string; clientRequestId: string },
  nowMs: number,
): Record<string, unknown> {
  const error: Record<string, unknown> = { code: e.code, message: e.message };
  if (e.details) error.details = e.details;
  error.innerError = {
    date: new Date(nowMs).toISOString().slice(0, 19),
    "request-id": ids.requestId,
    "client-request-id": ids.clientRequestId,
  };
  return { error };
}

export const notFound = (id: string) =>
  new GraphError(
    404,
    "Request_ResourceNotFound",
    `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
  );

export const badRequest = (message: string, details?: GraphError["details"]) =>
  new GraphError(400, "Request_BadRequest", message, details);

export const insufficientPrivileges = () =>
  new GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.");
