/**
 * The local certificate store, for unattended use on any OS (Linux has no CurrentUser\My):
 *
 *   <home>/certificates/            0700
 *     keys/<keyId>.pem              0600  PKCS#8 private key, encrypted when EXO_CERT_STORE_PASSPHRASE is set
 *     certs/<THUMBPRINT>.json       0600  certificate, chain, friendly name, origin, key id
 *
 * `keyId` is the SHA-256 of the public key, so an issued certificate finds the key its CSR left
 * waiting. Write order is key first, certificate last (each file atomic): an interrupted command
 * leaves at worst a key without a certificate, which `list` does not show and a later import pairs.
 */
import type { KeyObject } from "node:crypto";
import { readdir, readFile, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { homePaths } from "../config/home.js";
import { normalizeThumbprint } from "../config/validate.js";
import { UsageError } from "../errors.js";
import {
  ensurePrivateDir,
  fileExists,
  isGroupOrWorldReadable,
  readTextIfExists,
  writeFileAtomic,
} from "../util/fs.js";
import { withFileLock } from "../util/lock.js";
import { parseCertificate } from "./inspect.js";
import { encryptedPkcs8Pem, keyIdOf, pkcs8Pem, readPrivateKey, withPrivateKey } from "./keys.js";
import { toPem } from "./pem.js";
import type { CertificateCredential, CertificateInfo, CertificateOrigin } from "./types.js";

export const STORE_PASSPHRASE_ENV = "EXO_CERT_STORE_PASSPHRASE";

interface StoredCertificate {
  version: 1;
  thumbprint: string;
  keyId: string;
  origin: CertificateOrigin;
  friendlyName?: string;
  certificatePem: string;
  chainPem: string[];
  addedAt: string;
}

const ORIGINS: readonly string[] = ["self-signed", "ca", "imported"];

/** Checked by hand rather than with zod: `cert list` and every connection read these, and zod is slow to load. */
function asStoredCertificate(value: unknown): StoredCertificate | undefined {
  if (value === null || typeof value !== "object") return undefined;
  const v = value as Record<string, unknown>;
  const isString = (x: unknown): x is string => typeof x === "string";
  const chain = v.chainPem ?? [];
  if (
    v.version !== 1 ||
    !isString(v.thumbprint) ||
    !isString(v.keyId) ||
    !isString(v.origin) ||
    !ORIGINS.includes(v.origin) ||
    (v.friendlyName !== undefined && !isString(v.friendlyName)) ||
    !isString(v.certificatePem) ||
    !Array.isArray(chain) ||
    !chain.every(isString) ||
    !isString(v.addedAt)
  ) {
    return undefined;
  }
  return { ...(v as unknown as StoredCertificate), chainPem: chain };
}

export interface CertStoreOptions {
  /** Clock for `daysLeft`; injectable so tests do not depend on the date. */
  now?: () => Date;
}

export class CertStore {
  readonly dir: string;
  private readonly keysDir: string;
  private readonly certsDir: string;

  private constructor(
    home: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly now: () => Date,
  ) {
    this.dir = homePaths(home).certStore;
    this.keysDir = join(this.dir, "keys");
    this.certsDir = join(this.dir, "certs");
  }

  /** Open the store. Nothing is created until something is written. */
  static async open(home: string, env: NodeJS.ProcessEnv = process.env, options: CertStoreOptions = {}) {
    return new CertStore(home, env, options.now ?? (() => new Date()));
  }

  /** Every certificate of the store, soonest expiry first. Keys waiting for a certificate are not listed. */
  async list(): Promise<CertificateInfo[]> {
    let names: string[];
    try {
      names = await readdir(this.certsDir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    const infos: CertificateInfo[] = [];
    for (const name of names.filter((n) => /^[0-9A-F]{40}\.json$/.test(n))) {
      const stored = await this.readRecord(join(this.certsDir, name));
      if (stored) infos.push(await this.toInfo(stored));
    }
    return infos.sort((a, b) => a.notAfter.getTime() - b.notAfter.getTime());
  }

  /** One certificate by SHA-1 (or SHA-256) thumbprint, in any case, with or without spaces/colons. */
  async get(thumbprint: string): Promise<CertificateInfo> {
    return this.toInfo(await this.record(thumbprint));
  }

  /** The certificate and its decrypted key, ready to sign a client assertion. */
  async credential(thumbprint: string): Promise<CertificateCredential> {
    const stored = await this.record(thumbprint);
    const key = await this.loadKey(stored.keyId, stored.thumbprint);
    this.assertKeyMatches(key, stored.keyId, stored.thumbprint);
    const parsed = parseCertificate(stored.certificatePem, this.now());
    const credential: CertificateCredential = withPrivateKey(
      {
        certificatePem: stored.certificatePem,
        thumbprint: parsed.thumbprint,
        thumbprintSha256: parsed.thumbprintSha256,
        notBefore: parsed.notBefore,
        notAfter: parsed.notAfter,
        subject: parsed.subject,
      },
      key,
    );
    if (stored.chainPem.length) credential.chainPem = stored.chainPem;
    return credential;
  }

  /** The certificate alone (PEM), without touching its key. */
  async certificatePem(thumbprint: string): Promise<string> {
    return (await this.record(thumbprint)).certificatePem;
  }

  /** Friendly name recorded for a certificate, if any. */
  async friendlyName(thumbprint: string): Promise<string | undefined> {
    return (await this.record(thumbprint)).friendlyName;
  }

  /** Delete a certificate, and its key unless another certificate of the store uses the same key. */
  async remove(thumbprint: string): Promise<void> {
    await this.locked(async () => {
      const stored = await this.record(thumbprint);
      await rm(this.certPath(stored.thumbprint));
      const others = await this.list();
      if (!others.some((c) => c.keyId === stored.keyId))
        await rm(this.keyPath(stored.keyId), { force: true });
    });
  }

  async hasKey(keyId: string): Promise<boolean> {
    return fileExists(this.keyPath(keyId));
  }

  /** Whether the store holds a certificate (SHA-1 or SHA-256 thumbprint, any spelling). */
  async hasCertificate(thumbprint: string): Promise<boolean> {
    const normalized = normalizeThumbprint(thumbprint);
    if (normalized.length === 40) return fileExists(this.certPath(normalized));
    return (await this.list()).some((c) => c.thumbprintSha256 === normalized);
  }

  /**
   * EXO_CERT_STORE_PASSPHRASE: undefined when unset; an empty value is refused (exit 2) rather than
   * silently meaning "store the key unencrypted" (docs/certificates.md).
   */
  private passphrase(): string | undefined {
    const value = this.env[STORE_PASSPHRASE_ENV];
    if (value === undefined) return undefined;
    if (value === "") {
      throw new UsageError(`${STORE_PASSPHRASE_ENV} is set but empty.`, {
        hint: `Set it to the passphrase (from your secret manager), or unset it to keep keys unencrypted (protected by file permissions only).`,
      });
    }
    return value;
  }

  /**
   * Refuse a state home, store or keys folder that other users may write to (as ssh does): they could
   * plant a key or replace a record. Writes tighten the store's own folders; the home is the user's.
   */
  private async assertPrivateFolders(): Promise<void> {
    if (process.platform === "win32") return;
    for (const dir of [dirname(this.dir), this.dir, this.keysDir]) {
      let mode: number;
      try {
        mode = (await stat(dir)).mode;
      } catch {
        continue; // not created yet
      }
      if ((mode & 0o022) !== 0) {
        throw new UsageError(
          `The folder ${dir} is writable by other users (mode ${(mode & 0o777).toString(8).padStart(4, "0")}); refusing to use its keys.`,
          { hint: `Run \`chmod 700 ${dir}\` (and check nothing in it was replaced), then try again.` },
        );
      }
    }
  }

  /**
   * The stored key must be the certificate's own: a key planted at its predictable file name
   * (keys/<keyId>.pem) is an error, never a silent success.
   */
  private assertKeyMatches(key: KeyObject, keyId: string, thumbprint: string): void {
    if (keyIdOf(key) !== keyId) {
      throw new UsageError(
        `The private key stored for certificate ${thumbprint} (${this.keyPath(keyId)}) does not belong to it.`,
        {
          hint: "The key file was replaced or damaged. Remove it and import the certificate again with its own key (a PFX, or PEM with the key).",
        },
      );
    }
  }

  /** Store a private key (encrypted when EXO_CERT_STORE_PASSPHRASE is set); returns its key id. */
  async saveKey(key: KeyObject): Promise<string> {
    const keyId = keyIdOf(key);
    await this.assertPrivateFolders();
    await this.ensureDirs();
    const passphrase = this.passphrase();
    const pem = passphrase ? await encryptedPkcs8Pem(key, passphrase) : pkcs8Pem(key);
    await this.locked(() => writeFileAtomic(this.keyPath(keyId), pem, { mode: 0o600 }));
    return keyId;
  }

  /**
   * Load a private key, refusing one whose file other users can read (as ssh does) and decrypting in
   * memory with EXO_CERT_STORE_PASSPHRASE when it is encrypted.
   */
  async loadKey(keyId: string, label = keyId): Promise<KeyObject> {
    const path = this.keyPath(keyId);
    let pem: string;
    try {
      pem = await readFile(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        throw new UsageError(`The private key of certificate ${label} is not in the store.`, {
          hint: "Import the certificate again together with its key (a PFX, or PEM with the key).",
        });
      }
      throw error;
    }
    await this.assertPrivateFolders();
    if (await isGroupOrWorldReadable(path)) {
      throw new UsageError(`The private key file ${path} is readable by other users; refusing to use it.`, {
        hint: `Run \`chmod 600 ${path}\` (and \`chmod 700 ${this.dir}\`), then try again.`,
      });
    }
    const passphrase = this.passphrase();
    return readPrivateKey(pem, {
      ...(passphrase ? { password: passphrase } : {}),
      what: `the certificate store (${path})`,
      passwordHint: `Set ${STORE_PASSPHRASE_ENV} to the passphrase the key was stored with.`,
    });
  }

  /** Record a certificate whose key is already stored (the key is written first). */
  async addCertificate(input: {
    certificateDer: Uint8Array;
    chainDer?: Uint8Array[];
    origin: CertificateOrigin;
    friendlyName?: string;
  }): Promise<CertificateInfo> {
    const parsed = parseCertificate(input.certificateDer, this.now());
    const record: StoredCertificate = {
      version: 1,
      thumbprint: parsed.thumbprint,
      keyId: parsed.keyId,
      origin: input.origin,
      certificatePem: toPem("CERTIFICATE", input.certificateDer),
      chainPem: (input.chainDer ?? []).map((der) => toPem("CERTIFICATE", der)),
      addedAt: this.now().toISOString(),
    };
    if (input.friendlyName) record.friendlyName = input.friendlyName;
    await this.ensureDirs();
    await this.locked(async () => {
      // Checked under the lock: a parallel `cert remove` cannot take the key away in between.
      if (!(await this.hasKey(parsed.keyId))) {
        throw new UsageError(`The private key of certificate ${parsed.thumbprint} is not in the store.`);
      }
      this.assertKeyMatches(
        await this.loadKey(parsed.keyId, parsed.thumbprint),
        parsed.keyId,
        parsed.thumbprint,
      );
      await writeFileAtomic(this.certPath(parsed.thumbprint), `${JSON.stringify(record, null, 2)}\n`, {
        mode: 0o600,
      });
    });
    return this.toInfo(record);
  }

  /**
   * Changes to the store (a key, a record, a removal) run under `<store>/.store.lock`, so parallel
   * `cert new` / `cert remove` / `setup` runs never undo each other (docs/operations.md "Parallel runs").
   */
  private async locked<T>(work: () => Promise<T>): Promise<T> {
    await this.ensureDirs();
    return withFileLock(join(this.dir, ".store"), work, { what: `The certificate store ${this.dir}` });
  }

  private keyPath = (keyId: string) => join(this.keysDir, `${keyId}.pem`);
  private certPath = (thumbprint: string) => join(this.certsDir, `${thumbprint}.json`);

  private async ensureDirs() {
    await ensurePrivateDir(this.dir);
    await ensurePrivateDir(this.keysDir);
    await ensurePrivateDir(this.certsDir);
  }

  private async record(thumbprint: string): Promise<StoredCertificate> {
    const normalized = normalizeThumbprint(thumbprint);
    if (normalized.length === 40) {
      const stored = await this.readRecord(this.certPath(normalized));
      if (stored) return stored;
    } else {
      for (const info of await this.list()) {
        if (info.thumbprintSha256 === normalized)
          return (await this.readRecord(this.certPath(info.thumbprint)))!;
      }
    }
    throw new UsageError(`No certificate with thumbprint ${normalized} in the local store.`, {
      hint: "`exo-cba cert list` shows the certificates of the store.",
    });
  }

  private async readRecord(path: string): Promise<StoredCertificate | undefined> {
    const text = await readTextIfExists(path);
    if (text === undefined) return undefined;
    let parsed: StoredCertificate | undefined;
    try {
      parsed = asStoredCertificate(JSON.parse(text));
    } catch {
      parsed = undefined;
    }
    if (!parsed) {
      throw new UsageError(`The store entry ${path} is damaged.`, {
        hint: "Remove that file and import the certificate again.",
      });
    }
    return parsed;
  }

  private async toInfo(stored: StoredCertificate): Promise<CertificateInfo> {
    const parsed = parseCertificate(stored.certificatePem, this.now());
    const info: CertificateInfo = {
      ...parsed,
      hasKey: await this.hasKey(stored.keyId),
      origin: stored.origin,
    };
    if (stored.friendlyName) info.friendlyName = stored.friendlyName;
    return info;
  }
}
