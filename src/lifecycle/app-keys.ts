import { GraphError } from "../graph/errors.js";
import { findKey, keepEntry, newKeyCredential } from "../graph/key-credentials.js";
import type { KeyCredential } from "../graph/types.js";
import { buildKeyProof } from "./proof.js";

/** A certificate with its private key, as rotation, revocation and proofs need it. */
export interface KeyedCertificate {
  thumbprint: string;
  certificatePem: string;
  privateKeyPem: string;
  subject: string;
  notBefore: Date;
  notAfter: Date;
}

/**
 * The keys (certificates) registered on one application, and how to change them. Two ways exist
 * (docs/graph-queries.md, "Key credentials"): an admin PATCHes the whole `keyCredentials` collection, or the app itself
 * calls `addKey`/`removeKey` with a proof signed by a key it already has.
 */
export interface AppKeyManager {
  readonly mode: "admin" | "self";
  /** The registered keys, or undefined when this caller cannot read them. */
  list(): Promise<KeyCredential[] | undefined>;
  /** Register `cert`; `signer` is a currently registered certificate (used by the self mode's proof). */
  add(cert: KeyedCertificate, signer: KeyedCertificate): Promise<{ keyId?: string }>;
  /** Remove the key `keyId`; `signer` must be another registered certificate (self mode). */
  remove(keyId: string, signer: KeyedCertificate): Promise<void>;
}

/** The few DirectoryApi calls the admin mode needs (a fake of this is enough for unit tests). */
export interface KeyCredentialsApi {
  getKeyCredentials(applicationId: string): Promise<KeyCredential[]>;
  setKeyCredentials(applicationId: string, keyCredentials: KeyCredential[]): Promise<void>;
}

/** The Graph calls the self mode needs, made with the *app's own* app-only Graph token. */
export interface SelfGraph {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body: unknown): Promise<{ status: number; body: T | undefined }>;
}

export function adminKeyManager(api: KeyCredentialsApi, applicationObjectId: string): AppKeyManager {
  return {
    mode: "admin",
    list: () => api.getKeyCredentials(applicationObjectId),
    async add(cert) {
      // Read-modify-write of the whole collection: re-read right before writing to keep the race window small.
      const existing = await api.getKeyCredentials(applicationObjectId);
      const found = findKey(existing, cert.thumbprint);
      if (found) return found.keyId ? { keyId: found.keyId } : {};
      await api.setKeyCredentials(applicationObjectId, [...existing.map(keepEntry), newKeyCredential(cert)]);
      const after = findKey(await api.getKeyCredentials(applicationObjectId), cert.thumbprint);
      return after?.keyId ? { keyId: after.keyId } : {};
    },
    async remove(keyId) {
      const existing = await api.getKeyCredentials(applicationObjectId);
      if (!existing.some((k) => k.keyId === keyId)) return;
      await api.setKeyCredentials(
        applicationObjectId,
        existing.filter((k) => k.keyId !== keyId).map(keepEntry),
      );
    },
  };
}

/**
 * Self-rotation: the app adds and removes its own keys with proofs. `graphFor(cert)` returns a Graph
 * client authenticated as the app with that certificate (app-only token, scope `<graph>/.default`).
 */
export function selfKeyManager(
  graphFor: (cert: KeyedCertificate) => SelfGraph,
  applicationObjectId: string,
  reader: KeyedCertificate,
  now: () => Date = () => new Date(),
): AppKeyManager {
  const proof = (signer: KeyedCertificate) =>
    buildKeyProof({
      applicationObjectId,
      certificatePem: signer.certificatePem,
      privateKeyPem: signer.privateKeyPem,
      nowSeconds: Math.floor(now().getTime() / 1000),
    });
  return {
    mode: "self",
    async list() {
      try {
        const app = await graphFor(reader).get<{ keyCredentials?: KeyCredential[] }>(
          `/applications/${applicationObjectId}?$select=id,keyCredentials`,
        );
        return app.keyCredentials ?? [];
      } catch (error) {
        // Without a Graph read permission the app cannot list its own keys; addKey/removeKey still work.
        if (error instanceof GraphError && (error.status === 403 || error.status === 401)) return undefined;
        throw error;
      }
    },
    async add(cert, signer) {
      const { key, type, usage, displayName } = newKeyCredential(cert);
      try {
        const res = await graphFor(signer).post<KeyCredential>(
          `/applications/${applicationObjectId}/addKey`,
          {
            keyCredential: { type, usage, key, displayName },
            passwordCredential: null,
            proof: proof(signer),
          },
        );
        return res.body?.keyId ? { keyId: res.body.keyId } : {};
      } catch (error) {
        // A re-run after a crash between addKey and the journal: the key is there, which is what we wanted.
        if (
          error instanceof GraphError &&
          error.status === 400 &&
          error.matches(/already (registered|exists)/i)
        )
          return {};
        throw error;
      }
    },
    async remove(keyId, signer) {
      try {
        await graphFor(signer).post(`/applications/${applicationObjectId}/removeKey`, {
          keyId,
          proof: proof(signer),
        });
      } catch (error) {
        // Already gone (a re-run after a crash): the goal is met.
        if (error instanceof GraphError && error.status === 404) return;
        throw error;
      }
    },
  };
}
