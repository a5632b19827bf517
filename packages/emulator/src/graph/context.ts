import { randomBytes } from "node:crypto";
import type { EmulatorContext } from "../server.js";
import type { Caller } from "./authz.js";

/** What a Graph operation receives and returns; the handler does the HTTP around it. */
export interface GraphRequest {
  ctx: EmulatorContext;
  caller: Caller;
  method: string;
  url: URL;
  /** path segments after /v1.0/, decoded */
  segments: string[];
  /** parsed JSON object body (throws 400 when the body is not a JSON object) */
  body(): Promise<Record<string, unknown>>;
  header(name: string): string | undefined;
}

export interface GraphResult {
  status: number;
  body?: unknown;
  /** a text/plain answer (the `/$count` segment) */
  text?: string;
  headers?: Record<string, string>;
}

export const ok = (body: unknown, status = 200): GraphResult => ({ status, body });
export const noContent = (): GraphResult => ({ status: 204 });

/**
 * Created less than the replication delay ago: a read by id may not find it yet (Entra is eventually
 * consistent; docs/emulator.md "Propagation").
 */
export const notReplicatedYet = (req: GraphRequest, createdAtMs: number): boolean =>
  req.ctx.clock() - createdAtMs < req.ctx.settings.replicationDelayMs;

/** `<graph>/v1.0/$metadata#...` */
export const metadata = (req: GraphRequest, fragment: string) =>
  `${req.ctx.origins.graph}/v1.0/$metadata#${fragment}`;

/** Opaque assignment ids like Graph's (43 base64url characters). */
export const opaqueId = () => randomBytes(32).toString("base64url");

/** `applications(appId='x')` → { key: "appId", value: "x" } */
export function alternateKey(
  segment: string,
  collection: string,
): { key: string; value: string } | undefined {
  const m = new RegExp(`^${collection}\\((\\w+)='((?:[^']|'')*)'\\)$`).exec(segment);
  if (!m) return undefined;
  return { key: m[1] ?? "", value: (m[2] ?? "").replace(/''/g, "'") };
}
