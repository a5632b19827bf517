/**
 * Trust for the VB365 REST server (docs/vb365.md "TLS"). VB365 servers usually present a self-signed
 * certificate, so trust comes from one of:
 *  - the system roots + NODE_EXTRA_CA_CERTS + `--vb365-ca-file` (chain and host name verified), or
 *  - a pinned SHA-256 fingerprint of the server's leaf certificate (`--vb365-certificate-fingerprint`):
 *    the presented leaf must hash to exactly that value; the pin replaces chain and host-name checks.
 *
 * Every connection is verified BEFORE the HTTP request is attached to it: the agent hands a socket to
 * the request only after the handshake passed our check, so no password or token is ever written to a
 * server that was not trusted. There is no "trust everything" mode.
 */
import { createHash, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import type { RequestOptions } from "node:http";
import { Agent, type AgentOptions } from "node:https";
import type { Duplex } from "node:stream";
import { type ConnectionOptions, connect, rootCertificates, type TLSSocket } from "node:tls";
import { UsageError } from "../errors.js";
import { IDLE_SOCKET_MS } from "../http/transport.js";

export interface Vb365TrustOptions {
  /** PEM text of extra trusted CAs (the --vb365-ca-file content, or an in-process emulator's CA). */
  caPem?: string[];
  /** SHA-256 fingerprint of the server's leaf certificate (hex, colons/spaces/case ignored). */
  fingerprint?: string;
  /** Environment whose NODE_EXTRA_CA_CERTS is trusted too (the process's own always is). */
  env?: NodeJS.ProcessEnv;
}

/** `AB:CD:…` (64 hex digits with colons, upper case) — the form `openssl x509 -fingerprint -sha256` prints. */
export function formatFingerprint(hex: string): string {
  return (hex.toUpperCase().match(/../g) ?? []).join(":");
}

/** Accept `ab:cd…`, `AB CD …`, `abcd…` or `sha256/…`-less forms; reject anything that is not 32 bytes. */
export function normalizeFingerprint(value: string, source = "--vb365-certificate-fingerprint"): string {
  const hex = value
    .trim()
    .replace(/^sha-?256[:=]?/i, "")
    .replace(/[\s:]/g, "")
    .toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new UsageError(
      `${source} must be a SHA-256 fingerprint (64 hex digits), not '${value.slice(0, 80)}'.`,
      {
        hint: "Copy the fingerprint the untrusted-certificate error printed, e.g. AB:CD:…:EF.",
      },
    );
  }
  return hex;
}

/** SHA-256 of a certificate's DER bytes, lower-case hex. */
export function certificateFingerprint(der: Buffer): string {
  return createHash("sha256").update(der).digest("hex");
}

/** Read `--vb365-ca-file`: must hold at least one PEM certificate. */
export function readCaFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(`Cannot read --vb365-ca-file ${path}: ${(error as Error).message}`);
  }
  const first = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/);
  try {
    if (!first) throw new Error("no PEM certificate in it");
    new X509Certificate(first[0]);
  } catch (error) {
    throw new UsageError(`--vb365-ca-file ${path} is not a PEM certificate: ${(error as Error).message}`, {
      hint: "Export the VB365 REST certificate (or its issuing CA) as Base-64 (PEM) and point --vb365-ca-file at it.",
    });
  }
  return text;
}

/** The server's certificate is not trusted: says what was presented and how to trust it. */
export class UntrustedServerError extends UsageError {
  readonly presentedFingerprint: string;
  constructor(origin: string, presentedFingerprint: string, reason: string) {
    const pretty = formatFingerprint(presentedFingerprint);
    super(
      `The VB365 server ${origin} presented a certificate that is not trusted (${reason}). Its SHA-256 fingerprint is ${pretty}.`,
      {
        hint:
          `Check that fingerprint on the VB365 server (Veeam console → General Options → REST API → certificate), then either pin it with ` +
          `--vb365-certificate-fingerprint ${pretty} or trust its CA with --vb365-ca-file FILE (or NODE_EXTRA_CA_CERTS).`,
      },
    );
    this.presentedFingerprint = pretty;
  }
}

/** The server presented a certificate other than the pinned one. */
export class FingerprintMismatchError extends UsageError {
  constructor(origin: string, presented: string, pinned: string) {
    super(
      `The VB365 server ${origin} presented a certificate with SHA-256 fingerprint ${formatFingerprint(presented)}, not the pinned ${formatFingerprint(pinned)}.`,
      {
        hint:
          "If the server's certificate was renewed on purpose, check the new fingerprint on the server and pin it with " +
          `--vb365-certificate-fingerprint ${formatFingerprint(presented)}; otherwise something is intercepting the connection.`,
      },
    );
  }
}

/** The https agent for one VB365 server with the chosen trust. */
export function createVb365Agent(trust: Vb365TrustOptions, agentOptions: AgentOptions = {}): Agent {
  const pin = trust.fingerprint === undefined ? undefined : normalizeFingerprint(trust.fingerprint);
  const ca = [...rootCertificates];
  for (const file of new Set([process.env.NODE_EXTRA_CA_CERTS, trust.env?.NODE_EXTRA_CA_CERTS])) {
    if (!file) continue;
    try {
      ca.push(readFileSync(file, "utf8"));
    } catch (error) {
      if (file !== process.env.NODE_EXTRA_CA_CERTS) {
        throw new UsageError(`Cannot read NODE_EXTRA_CA_CERTS=${file}: ${(error as Error).message}`);
      }
    }
  }
  if (trust.caPem) ca.push(...trust.caPem);

  class VerifyingAgent extends Agent {
    // Node's http Agent accepts a socket through the callback of createConnection; returning nothing
    // makes it wait, so the request is attached only after the check below.
    override createConnection(
      requestOptions: RequestOptions,
      callback?: (error: Error | null, socket: Duplex) => void,
    ): Duplex | null | undefined {
      const options = requestOptions as ConnectionOptions;
      const socket: TLSSocket = connect({
        ...options,
        ca,
        // The decision is ours, made in onSecure before any byte of the request is written.
        rejectUnauthorized: false,
      });
      const origin = `https://${options.host ?? options.servername}:${options.port}`;
      const done = (error: Error | null) => {
        socket.removeListener("error", onError);
        if (error) {
          socket.destroy();
          callback?.(error, socket);
        } else callback?.(null, socket);
      };
      const onError = (error: Error) => done(error);
      socket.once("error", onError);
      socket.once("secureConnect", () => {
        const leaf = socket.getPeerCertificate(false);
        const der = leaf?.raw;
        if (!der || der.length === 0) {
          done(new UsageError(`The VB365 server ${origin} presented no certificate.`));
          return;
        }
        const presented = certificateFingerprint(der);
        if (pin !== undefined) {
          done(presented === pin ? null : new FingerprintMismatchError(origin, presented, pin));
          return;
        }
        if (!socket.authorized) {
          done(new UntrustedServerError(origin, presented, String(socket.authorizationError)));
          return;
        }
        done(null);
      });
      return undefined;
    }
  }

  return new VerifyingAgent({
    keepAlive: true,
    maxSockets: 8,
    // Idle sockets closed before the server closes them (see IDLE_SOCKET_MS in src/http/transport.ts).
    timeout: IDLE_SOCKET_MS,
    // No TLS session resumption: every connection presents (and we check) the certificate.
    maxCachedSessions: 0,
    ...agentOptions,
  });
}
