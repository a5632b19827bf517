import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { AuthenticationError } from "../errors.js";
import { isSecretKey, REDACTED, redact, redactText } from "./redact.js";

// A structurally real JWT (header {"alg":"RS256","typ":"JWT"}), not signed by anything that matters.
const JWT =
  "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJodHRwczovL291dGxvb2sub2ZmaWNlMzY1LmNvbSIsInJvbGVzIjpbIkV4Y2hhbmdlLk1hbmFnZUFzQXBwIl19.c2lnbmF0dXJlLWJ5dGVzLWhlcmUtYmFzZTY0dXJs";
const ed = generateKeyPairSync("ed25519");
const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 });
const PKCS8 = ed.privateKey.export({ format: "pem", type: "pkcs8" }).toString();
const PKCS1 = rsa.privateKey.export({ format: "pem", type: "pkcs1" }).toString();
const ENCRYPTED = rsa.privateKey
  .export({ format: "pem", type: "pkcs8", cipher: "aes-256-cbc", passphrase: "pw-123456" })
  .toString();
const keyBody = (pem: string) => pem.split("\n")[1]!;

describe("redactText", () => {
  it("removes JWTs wherever they appear", () => {
    const out = redactText(`token was ${JWT}, then more`);
    expect(out).toBe(`token was ${REDACTED}, then more`);
    expect(out).not.toContain("eyJ");
  });

  it("removes JWE-style five-segment tokens and unsigned two-segment ones", () => {
    expect(redactText(`x eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0. y`)).toBe(`x ${REDACTED} y`);
    expect(redactText("eyJhbGciOiJSU0EifQ.a2V5.aXY.Y2lwaGVy.dGFn")).toBe(REDACTED);
  });

  it("leaves prose about schemes alone", () => {
    expect(redactText("Basic information about bearer tokens")).toBe("Basic information about bearer tokens");
  });

  it("removes a long bearer token outside a header", () => {
    expect(redactText("sent Bearer abcdefghijklmnop.qrstuv to Graph")).toBe(
      `sent Bearer ${REDACTED} to Graph`,
    );
  });

  it("removes bearer and basic authorization values but keeps the scheme", () => {
    expect(redactText("Authorization: Bearer abc.def-ghi_jkl")).toBe(`Authorization: Bearer ${REDACTED}`);
    expect(redactText("authorization: basic dXNlcjpwYXNz")).toBe(`authorization: basic ${REDACTED}`);
  });

  it.each([
    ["PKCS#8", PKCS8],
    ["PKCS#1 RSA", PKCS1],
    ["encrypted PKCS#8", ENCRYPTED],
  ])("removes a whole %s private key block", (_name, pem) => {
    const out = redactText(`before\n${pem}after`);
    expect(out).not.toContain(keyBody(pem));
    expect(out).toContain(REDACTED);
    expect(out.startsWith("before\n")).toBe(true);
    expect(out.endsWith("after")).toBe(true);
  });

  it("removes a private key cut off before its END line", () => {
    const cut = PKCS1.slice(0, PKCS1.length - 40);
    expect(redactText(cut)).not.toContain(keyBody(PKCS1));
  });

  it("keeps public certificates (they are not secret and help support)", () => {
    const cert = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----";
    expect(redactText(cert)).toBe(cert);
  });

  it("removes form, query and JSON secret pairs", () => {
    expect(redactText("grant_type=client_credentials&client_assertion=abc123&client_id=x")).toBe(
      `grant_type=client_credentials&client_assertion=${REDACTED}&client_id=x`,
    );
    expect(redactText('{"access_token":"opaque-token-value","token_type":"Bearer"}')).toBe(
      `{"access_token":"${REDACTED}","token_type":"Bearer"}`,
    );
    expect(redactText("password=hunter22 user=bob")).toBe(`password=${REDACTED} user=bob`);
    expect(redactText("client_secret: s3cr3t!")).toBe(`client_secret: ${REDACTED}`);
    expect(redactText("?proof=abcdef&x=1")).toBe(`?proof=${REDACTED}&x=1`);
  });

  it("removes exact registered secrets, even shapeless ones, longest first", () => {
    expect(
      redactText("pw is correct-horse and correct-horse-battery", {
        secrets: ["correct-horse", "correct-horse-battery"],
      }),
    ).toBe(`pw is ${REDACTED} and ${REDACTED}`);
  });

  it("ignores registered secrets too short to scan safely", () => {
    expect(redactText("a b c", { secrets: ["a", ""] })).toBe("a b c");
  });

  it("leaves ordinary diagnostics alone", () => {
    const line =
      "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application. Thumbprint 'A1B2C3'";
    expect(redactText(line)).toBe(line);
    expect(redactText("request id 1234-5678, HTTP 429, retry after 3 s")).toBe(
      "request id 1234-5678, HTTP 429, retry after 3 s",
    );
  });
});

describe("isSecretKey", () => {
  it.each([
    "authorization",
    "Authorization",
    "password",
    "certificatePassword",
    "EXO_CERTIFICATE_PASSWORD",
    "client_assertion",
    "clientAssertion",
    "access_token",
    "accessToken",
    "adminAccessToken",
    "refresh_token",
    "privateKey",
    "privateKeyPem",
    "proof",
    "secret",
    "client_secret",
    "passphrase",
    "cookie",
    "set-cookie",
    "key",
    "token",
  ])("%s is secret", (key) => {
    expect(isSecretKey(key)).toBe(true);
  });

  it.each([
    "token_type",
    "keyId",
    "thumbprint",
    "requestId",
    "tokenEndpoint",
    "publicKey",
    "cmdlet",
    "status",
  ])("%s is not secret", (key) => {
    expect(isSecretKey(key)).toBe(false);
  });
});

describe("redact", () => {
  it("replaces secret fields at any depth and scans the rest", () => {
    const input = {
      cmdlet: "Get-Mailbox",
      headers: { Authorization: `Bearer ${JWT}`, "client-request-id": "abc" },
      body: { client_assertion: JWT, nested: [{ password: "x-secret-x" }, `see ${JWT}`] },
      privateKeyPem: PKCS8,
      keyCredential: { keyId: "k1", key: "MIIB..." },
    };
    const out = redact(input);
    expect(out).toEqual({
      cmdlet: "Get-Mailbox",
      headers: { Authorization: REDACTED, "client-request-id": "abc" },
      body: { client_assertion: REDACTED, nested: [{ password: REDACTED }, `see ${REDACTED}`] },
      privateKeyPem: REDACTED,
      keyCredential: { keyId: "k1", key: REDACTED },
    });
    expect(JSON.stringify(out)).not.toContain("eyJ");
  });

  it("does not mutate its input", () => {
    const input = { token: "abc-token" };
    redact(input);
    expect(input.token).toBe("abc-token");
  });

  it("keeps empty and null secret fields as they are (they tell you something was missing)", () => {
    expect(redact({ password: "", token: null })).toEqual({ password: "", token: null });
  });

  it("turns typed errors into their structured form and scans their messages", () => {
    const error = new AuthenticationError(`refused for ${JWT}`, {
      aadstsCode: 700027,
      hint: "upload the cert",
    });
    expect(redact({ error })).toEqual({
      error: {
        error: "AuthenticationError",
        message: `refused for ${REDACTED}`,
        exitCode: 3,
        hint: "upload the cert",
        aadstsCode: "AADSTS700027",
      },
    });
  });

  it("keeps plain errors readable and follows their cause", () => {
    const error = new Error("outer", { cause: new Error(`inner password=abcd1234`) });
    expect(redact(error)).toEqual({
      error: "Error",
      message: "outer",
      cause: { error: "Error", message: `inner password=${REDACTED}` },
    });
  });

  it("cuts cycles, bounds depth and summarises binary data", () => {
    const a: Record<string, unknown> = { name: "a" };
    a.self = a;
    expect(redact(a)).toEqual({ name: "a", self: "[Circular]" });
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 20; i++) deep = { d: deep };
    expect(JSON.stringify(redact(deep))).toContain("[Truncated]");
    expect(redact({ der: Buffer.from([1, 2, 3]) })).toEqual({ der: "[3 bytes]" });
  });

  it("applies registered exact secrets inside nested strings", () => {
    expect(redact({ msg: "the pass is Tr0ub4dor&3" }, { secrets: ["Tr0ub4dor&3"] })).toEqual({
      msg: `the pass is ${REDACTED}`,
    });
  });
});
