import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { createFaultInjector, type FaultInjector } from "./faults.js";
import type { TokenIssuer } from "./identity/tokens.js";
import type { StateStore } from "./state.js";
import type { FaultOptions, ThrottleOptions } from "./types.js";

/**
 * Low-level pieces shared by the emulator's listeners: the context every handler receives, body
 * reading with a size cap, JSON answers, and HTTPS listeners that close promptly.
 */

/** Behaviour that can change while running (`configure`). */
export interface RuntimeSettings {
  latencyMs: number;
  throttle?: ThrottleOptions;
  graphThrottle?: ThrottleOptions;
  faults?: FaultOptions;
  tokenLifetimeSeconds: number;
  replicationDelayMs: number;
  exchangeRoleDelayMs: number;
  deviceCodeAutoApprove: boolean;
}

export interface EmulatorStats {
  tokenRequests: number;
  graphRequests: number;
  exchangeRequests: number;
  throttled: number;
  /** Graph requests answered 429 (`graphThrottle`) */
  graphThrottled: number;
  faultsInjected: number;
}

export interface EmulatorContext {
  store: StateStore;
  issuer: TokenIssuer;
  origins: { identity: string; graph: string; exchange: string };
  settings: RuntimeSettings;
  stats: EmulatorStats;
  /** ms epoch; injectable so tests can move time without waiting */
  clock(): number;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** Bodies are small forms and JSON documents; anything larger is a client bug or an attack. */
export const MAX_BODY_BYTES = 1_048_576;

export class BodyTooLargeError extends Error {}

export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLargeError(`request body larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  contentType = "application/json; charset=utf-8",
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": contentType,
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store, no-cache",
    ...headers,
  });
  res.end(text);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "cache-control": "no-store, no-cache", ...headers });
  res.end();
}

/** The client's request id when it sent a GUID, else a fresh one (echoed like Microsoft's services do). */
export function clientRequestId(req: IncomingMessage): string {
  const given = req.headers["client-request-id"];
  return typeof given === "string" && /^[0-9a-f-]{36}$/i.test(given) ? given : randomUUID();
}

export const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Listener {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** An HTTPS listener on host:port (0 = any free port) that can be closed with its keep-alive sockets. */
export async function listen(
  handler: Handler,
  options: { host: string; port: number; cert: string; key: string },
): Promise<Listener> {
  const server = createServer({ cert: options.cert, key: options.key }, handler);
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  // A client that hangs up mid-handshake must not crash the emulator.
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        for (const s of sockets) s.destroy();
      }),
  };
}

/** Origin of a listener as clients must address it (IPv6 literals in brackets). */
export const originOf = (host: string, port: number) =>
  `https://${host.includes(":") ? `[${host}]` : host}:${port}`;

/**
 * Per-listener fault decisions for identity and Graph, when `faults.services` names them (the Exchange
 * handler applies its own). The injector is rebuilt whenever `configure()` replaces the fault options,
 * so a test that switches faults on mid-run gets a fresh, deterministic sequence.
 */
export function createFaultGate(
  ctx: EmulatorContext,
  service: "identity" | "graph",
): () => "none" | "503" | "504" | "drop" {
  let current: { options: FaultOptions; injector: FaultInjector } | undefined;
  return () => {
    const options = ctx.settings.faults;
    if (!options) return "none";
    if (current?.options !== options) current = { options, injector: createFaultInjector(options) };
    if (!current.injector.appliesTo(service)) return "none";
    const decision = current.injector.next();
    if (decision === "429") return "none"; // random 429s are Exchange's (FaultOptions.throttleRate)
    if (decision !== "none") ctx.stats.faultsInjected++;
    return decision;
  };
}
