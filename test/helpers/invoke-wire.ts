import "reflect-metadata";
import { createPrivateKey, createPublicKey, type KeyObject, randomBytes, webcrypto } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import * as x509 from "@peculiar/x509";

/**
 * Wire-test helpers (no emulator): a throwaway RSA certificate for the app credential, and a local HTTPS
 * server with its own self-signed certificate that records every request and answers from a handler.
 */
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const RSA = {
  name: "RSASSA-PKCS1-v1_5",
  hash: "SHA-256",
  publicExponent: new Uint8Array([1, 0, 1]),
} as const;

export interface TestCertificate {
  certificatePem: string;
  privateKeyPem: string;
  publicKey: KeyObject;
  der: Buffer;
}

async function selfSigned(
  name: string,
  extensions: x509.Extension[],
  notAfter = new Date(Date.now() + 400 * 86_400_000),
): Promise<{ cert: x509.X509Certificate; keys: webcrypto.CryptoKeyPair }> {
  const keys = (await webcrypto.subtle.generateKey({ ...RSA, modulusLength: 2048 }, true, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString("hex"),
    name,
    notBefore: new Date(Date.now() - 600_000),
    notAfter,
    signingAlgorithm: RSA,
    keys,
    extensions,
  });
  return { cert, keys };
}

async function toPair(cert: x509.X509Certificate, keys: webcrypto.CryptoKeyPair): Promise<TestCertificate> {
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
  const privateKey = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
  return {
    certificatePem: `${cert.toString("pem")}\n`,
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicKey: createPublicKey(privateKey),
    der: Buffer.from(cert.rawData),
  };
}

/** An app certificate like `cert new` makes (RSA 2048, SHA-256). */
export async function createAppCertificate(
  name = "CN=exo-cba-test",
  notAfter?: Date,
): Promise<TestCertificate> {
  const { cert, keys } = await selfSigned(
    name,
    [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])],
    notAfter,
  );
  return toPair(cert, keys);
}

export interface RecordedRequest {
  method: string;
  /** path and query */
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

export type Handler = (req: RecordedRequest, res: ServerResponse, socket: Socket) => void | Promise<void>;

export interface RecordingServer {
  origin: string;
  caPem: string;
  requests: RecordedRequest[];
  setHandler(handler: Handler): void;
  close(): Promise<void>;
}

/**
 * A TLS server on 127.0.0.1 with a throwaway certificate (trust `caPem` in the transport). Give servers
 * that one transport trusts together different `commonName`s: TLS finds an issuer by its name.
 */
export async function startRecordingServer(commonName = "127.0.0.1"): Promise<RecordingServer> {
  const { cert, keys } = await selfSigned(`CN=${commonName}`, [
    new x509.SubjectAlternativeNameExtension([{ type: "ip", value: "127.0.0.1" }]),
    new x509.BasicConstraintsExtension(true, undefined, true),
  ]);
  const pair = await toPair(cert, keys);
  const requests: RecordedRequest[] = [];
  let handler: Handler = (_req, res) => {
    res.statusCode = 404;
    res.end();
  };
  const server: Server = createServer({ cert: pair.certificatePem, key: pair.privateKeyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const recorded: RecordedRequest = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(recorded);
      Promise.resolve(handler(recorded, res, req.socket)).catch((error: unknown) => {
        res.statusCode = 500;
        res.end(String(error));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `https://127.0.0.1:${port}`,
    caPem: pair.certificatePem,
    requests,
    setHandler: (h) => {
      handler = h;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
  res.end(JSON.stringify(body));
}

/** An unsigned JWT-shaped token with the given claims (for 401/403 diagnosis tests). */
export function fakeJwt(claims: Record<string, unknown>): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${enc({ alg: "none", typ: "JWT" })}.${enc(claims)}.sig`;
}
