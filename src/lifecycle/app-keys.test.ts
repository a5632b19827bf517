import { createHash, verify, X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeKeyedCertificate } from "../../test/helpers/ops-certs.js";
import { GraphError } from "../graph/errors.js";
import type { KeyCredential } from "../graph/types.js";
import { adminKeyManager, type KeyedCertificate, type SelfGraph, selfKeyManager } from "./app-keys.js";
import { buildKeyProof, PROOF_AUDIENCE } from "./proof.js";

let home: string;
let oldCert: KeyedCertificate;
let newCert: KeyedCertificate;
beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "exo-keys-"));
  oldCert = await makeKeyedCertificate(home);
  newCert = await makeKeyedCertificate(home);
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

const sha1Base64 = (pem: string) => createHash("sha1").update(new X509Certificate(pem).raw).digest("base64");

/** A Graph app object with PATCH-replaces semantics: entries re-sent by keyId with key null are kept. */
function fakeKeyApi(initial: KeyCredential[]) {
  let stored = initial.map((k) => ({ ...k }));
  const patches: KeyCredential[][] = [];
  let n = 0;
  return {
    patches,
    stored: () => stored,
    api: {
      getKeyCredentials: async () => stored.map((k) => ({ ...k, key: null })),
      setKeyCredentials: async (_id: string, list: KeyCredential[]) => {
        patches.push(list);
        stored = list.map((k) => {
          if (k.keyId) {
            const prior = stored.find((s) => s.keyId === k.keyId);
            if (!prior) throw new Error(`unknown keyId ${k.keyId}`);
            return prior;
          }
          const der = Buffer.from(k.key!, "base64");
          return {
            ...k,
            keyId: `new-${++n}`,
            customKeyIdentifier: createHash("sha1").update(der).digest("base64"),
          };
        });
      },
    },
  };
}

describe("adminKeyManager", () => {
  it("appends the new certificate, re-sending existing keys by keyId without their bytes", async () => {
    const fake = fakeKeyApi([
      {
        keyId: "k-old",
        type: "AsymmetricX509Cert",
        usage: "Verify",
        customKeyIdentifier: sha1Base64(oldCert.certificatePem),
      },
    ]);
    const keys = adminKeyManager(fake.api, "app-1");
    const { keyId } = await keys.add(newCert, oldCert);
    expect(keyId).toBe("new-1");
    expect(fake.patches).toHaveLength(1);
    const [kept, added] = fake.patches[0]!;
    expect(kept).toMatchObject({ keyId: "k-old", key: null });
    expect(added).toMatchObject({ type: "AsymmetricX509Cert", usage: "Verify" });
    expect(added!.key).toBe(new X509Certificate(newCert.certificatePem).raw.toString("base64"));
    expect(added!.endDateTime).toBe(newCert.notAfter.toISOString());
    expect(fake.stored().map((k) => k.keyId)).toEqual(["k-old", "new-1"]);
  });

  it("does not add a certificate that is already registered", async () => {
    const fake = fakeKeyApi([
      {
        keyId: "k-new",
        type: "AsymmetricX509Cert",
        usage: "Verify",
        customKeyIdentifier: sha1Base64(newCert.certificatePem),
      },
    ]);
    expect(await adminKeyManager(fake.api, "app-1").add(newCert, oldCert)).toEqual({ keyId: "k-new" });
    expect(fake.patches).toHaveLength(0);
  });

  it("removes one key by keyId and keeps the others; removing a missing key writes nothing", async () => {
    const fake = fakeKeyApi([
      { keyId: "a", type: "AsymmetricX509Cert", usage: "Verify" },
      { keyId: "b", type: "AsymmetricX509Cert", usage: "Verify" },
    ]);
    const keys = adminKeyManager(fake.api, "app-1");
    await keys.remove("a", newCert);
    expect(fake.stored().map((k) => k.keyId)).toEqual(["b"]);
    await keys.remove("zzz", newCert);
    expect(fake.patches).toHaveLength(1);
  });
});

describe("buildKeyProof", () => {
  it("is an RS256 JWT signed by the certificate's key with the addKey audience and the app object id", () => {
    const proof = buildKeyProof({
      applicationObjectId: "obj-1",
      certificatePem: oldCert.certificatePem,
      privateKeyPem: oldCert.privateKeyPem,
      nowSeconds: 1_800_000_000,
    });
    const [h, p, s] = proof.split(".");
    const header = JSON.parse(Buffer.from(h!, "base64url").toString());
    const claims = JSON.parse(Buffer.from(p!, "base64url").toString());
    expect(header).toMatchObject({ alg: "RS256", typ: "JWT" });
    expect(Buffer.from(header.x5t, "base64url").toString("base64")).toBe(sha1Base64(oldCert.certificatePem));
    expect(claims).toMatchObject({
      aud: PROOF_AUDIENCE,
      iss: "obj-1",
      nbf: 1_800_000_000,
      exp: 1_800_000_600,
    });
    const publicKey = new X509Certificate(oldCert.certificatePem).publicKey;
    expect(verify("sha256", Buffer.from(`${h}.${p}`), publicKey, Buffer.from(s!, "base64url"))).toBe(true);
    // ...and not by another key.
    const other = new X509Certificate(newCert.certificatePem).publicKey;
    expect(verify("sha256", Buffer.from(`${h}.${p}`), other, Buffer.from(s!, "base64url"))).toBe(false);
  });
});

describe("selfKeyManager", () => {
  function fakeGraph() {
    const calls: Array<{ as: string; method: string; path: string; body?: unknown }> = [];
    let forbidden = false;
    const graphFor = (cert: KeyedCertificate): SelfGraph => ({
      get: async <T>(path: string) => {
        calls.push({ as: cert.thumbprint, method: "GET", path });
        if (forbidden)
          throw new GraphError(
            "GET",
            path,
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges",
            [],
          );
        return { keyCredentials: [] } as T;
      },
      post: async <T>(path: string, body: unknown) => {
        calls.push({ as: cert.thumbprint, method: "POST", path, body });
        return { status: 200, body: { keyId: "added-1" } as T };
      },
    });
    return { calls, graphFor, forbid: () => (forbidden = true) };
  }

  it("adds with a proof signed by the current certificate, authenticated as the current certificate", async () => {
    const g = fakeGraph();
    const keys = selfKeyManager(g.graphFor, "obj-1", oldCert);
    expect(await keys.add(newCert, oldCert)).toEqual({ keyId: "added-1" });
    const call = g.calls[0]!;
    expect(call).toMatchObject({
      as: oldCert.thumbprint,
      method: "POST",
      path: "/applications/obj-1/addKey",
    });
    const body = call.body as { keyCredential: KeyCredential; passwordCredential: null; proof: string };
    expect(body.passwordCredential).toBeNull();
    expect(body.keyCredential.key).toBe(new X509Certificate(newCert.certificatePem).raw.toString("base64"));
    const [h, p, s] = body.proof.split(".");
    expect(
      verify(
        "sha256",
        Buffer.from(`${h}.${p}`),
        new X509Certificate(oldCert.certificatePem).publicKey,
        Buffer.from(s!, "base64url"),
      ),
    ).toBe(true);
  });

  it("removes with a proof signed by the signer it is given (the new certificate)", async () => {
    const g = fakeGraph();
    await selfKeyManager(g.graphFor, "obj-1", oldCert).remove("k-old", newCert);
    const call = g.calls[0]!;
    expect(call).toMatchObject({ as: newCert.thumbprint, path: "/applications/obj-1/removeKey" });
    const body = call.body as { keyId: string; proof: string };
    expect(body.keyId).toBe("k-old");
    const [h, p, s] = body.proof.split(".");
    expect(
      verify(
        "sha256",
        Buffer.from(`${h}.${p}`),
        new X509Certificate(newCert.certificatePem).publicKey,
        Buffer.from(s!, "base64url"),
      ),
    ).toBe(true);
  });

  it("reports 'cannot list' (undefined) when the app may not read its own object", async () => {
    const g = fakeGraph();
    g.forbid();
    expect(await selfKeyManager(g.graphFor, "obj-1", oldCert).list()).toBeUndefined();
  });
});
