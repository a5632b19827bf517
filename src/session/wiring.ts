import { createPublicKey, X509Certificate } from "node:crypto";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { signInAdmin } from "../auth/admin.js";
import { CachingTokenProvider } from "../auth/cache.js";
import {
  CertStore,
  createSelfSignedCertificate,
  inspectCertificatePem,
  loadCertificateCredential,
} from "../cert/index.js";
import type { CertificateReference, ResolvedConnection } from "../config/connection.js";
import { saveProfile } from "../config/profiles.js";
import type { DoctorDeps, LocalCertificateFacts } from "../diagnostics/doctor.js";
import { ExoCbaError, UsageError } from "../errors.js";
import {
  createTokenProvider,
  openExchangeConnection,
  type TokenResource,
  type ValidatedConnection,
} from "../exchange/connect.js";
import { GraphClient } from "../graph/client.js";
import { DirectoryApi } from "../graph/directory.js";
import type { HttpTransport } from "../http/transport.js";
import {
  type AppKeyManager,
  adminKeyManager,
  type KeyedCertificate,
  selfKeyManager,
} from "../lifecycle/app-keys.js";
import type { RotationDeps } from "../lifecycle/rotate.js";
import { cmdletLogger } from "../log/cmdlet-log.js";
import type { Logger } from "../log/log.js";

/**
 * The real implementations behind doctor, rotation and revocation: local store, identity platform, Graph
 * and Exchange, all through one HttpTransport (so the emulator's CA, given in-process, is trusted).
 * Features stay testable with fakes; this file is where they meet the network.
 */

export interface WiringOptions {
  env?: NodeJS.ProcessEnv;
  transport?: HttpTransport;
  logger?: Logger;
  now?: () => Date;
  /** Where admin sign-in messages (device code) go. */
  onMessage?: (text: string) => void;
  /** May an admin be asked to sign in (device code)? False in unattended runs: then only EXO_ADMIN_ACCESS_TOKEN. */
  interactive?: boolean;
}

type Credential = { certificatePem: string; privateKeyPem: string };

function toKeyed(c: Credential & { thumbprint: string; subject: string; notBefore: Date; notAfter: Date }) {
  const keyed: KeyedCertificate = {
    thumbprint: c.thumbprint,
    certificatePem: c.certificatePem,
    privateKeyPem: c.privateKeyPem,
    subject: c.subject,
    notBefore: c.notBefore,
    notAfter: c.notAfter,
  };
  return keyed;
}

async function fileMode(path: string): Promise<number | undefined> {
  if (process.platform === "win32") return undefined;
  try {
    return (await stat(path)).mode & 0o777;
  } catch {
    return undefined;
  }
}

function keyBelongsTo(certificatePem: string, privateKeyPem: string): boolean {
  const fromKey = createPublicKey(privateKeyPem).export({ type: "spki", format: "der" });
  const fromCert = new X509Certificate(certificatePem).publicKey.export({ type: "spki", format: "der" });
  return Buffer.compare(fromKey, fromCert) === 0;
}

/** Everything doctor can learn about the local certificate without the network. */
export async function inspectLocalCertificate(
  ref: CertificateReference,
  home: string,
  env: NodeJS.ProcessEnv,
  now: () => Date = () => new Date(),
): Promise<LocalCertificateFacts> {
  if (ref.kind === "file") {
    const facts: LocalCertificateFacts = {
      reference: ref.path,
      found: false,
      hasKey: false,
      keyFile: ref.path,
    };
    const mode = await fileMode(ref.path);
    if (mode !== undefined) facts.keyFileMode = mode;
    try {
      const c = await loadCertificateCredential(ref, { home, env });
      return {
        ...facts,
        found: true,
        hasKey: true,
        keyMatches: true,
        thumbprint: c.thumbprint,
        subject: c.subject,
        notAfter: c.notAfter,
        credential: { certificatePem: c.certificatePem, privateKeyPem: c.privateKeyPem },
      };
    } catch (error) {
      if (!(error instanceof ExoCbaError)) throw error;
      if (/does not match/.test(error.message))
        return { ...facts, found: true, hasKey: true, keyMatches: false };
      return { ...facts, problem: error.message };
    }
  }

  const store = await CertStore.open(home, env, { now });
  const facts: LocalCertificateFacts = { reference: ref.thumbprint, found: false, hasKey: false };
  if (!(await store.hasCertificate(ref.thumbprint))) {
    return { ...facts, problem: `not in the local store (${store.dir})` };
  }
  const info = await store.get(ref.thumbprint);
  // The store's documented layout: keys/<keyId>.pem, keyId = SHA-256 of the public key.
  const keyFile = join(store.dir, "keys", `${info.keyId}.pem`);
  const out: LocalCertificateFacts = {
    ...facts,
    found: true,
    thumbprint: info.thumbprint,
    subject: info.subject,
    notAfter: info.notAfter,
    hasKey: info.hasKey,
  };
  if (!info.hasKey) return out;
  out.keyFile = keyFile;
  const mode = await fileMode(keyFile);
  if (mode !== undefined) out.keyFileMode = mode;
  try {
    const c = await store.credential(ref.thumbprint);
    out.keyMatches = keyBelongsTo(c.certificatePem, c.privateKeyPem);
    if (out.keyMatches) out.credential = { certificatePem: c.certificatePem, privateKeyPem: c.privateKeyPem };
  } catch (error) {
    if (!(error instanceof ExoCbaError)) throw error;
    // The store itself refuses a key that is not the certificate's (src/cert/store.ts).
    if (/does not belong to it/.test(error.message)) out.keyMatches = false;
    else out.problem = error.message;
  }
  return out;
}

type Target = Pick<ResolvedConnection, "appId" | "organization" | "tenantId" | "endpoints">;

/** The app signing in with these PEMs (not the connection's own certificate) — checked when resolved. */
function withKeyPair(resolved: Target, credential: Credential): ValidatedConnection {
  return {
    appId: resolved.appId,
    organization: resolved.organization,
    ...(resolved.tenantId ? { tenantId: resolved.tenantId } : {}),
    // Only the PEMs: the pair, whatever else the caller's object carries.
    credential: {
      kind: "pem",
      certificatePem: credential.certificatePem,
      privateKeyPem: credential.privateKeyPem,
    },
    endpoints: resolved.endpoints,
    home: "",
    env: {},
  };
}

/** A fresh app-only token (no cache) for Exchange or Graph, signed with `credential`. */
export async function freshToken(
  resolved: Target,
  credential: Credential,
  resource: TokenResource,
  transport: HttpTransport,
): Promise<string> {
  const { provider } = await createTokenProvider(withKeyPair(resolved, credential), { transport, resource });
  return (await provider.getToken()).token;
}

/** Run one cmdlet on a new connection authenticated with `credential` (so its token is fresh). */
export async function invokeWith(
  resolved: Target,
  credential: Credential,
  cmdlet: string,
  transport: HttpTransport,
  logger?: Logger,
): Promise<Record<string, unknown>[]> {
  // One structured record per cmdlet for unattended runs (`cmdlet.end`, the same shape as invoke's).
  const onCallEnd = cmdletLogger(logger);
  const connection = await openExchangeConnection(withKeyPair(resolved, credential), {
    transport,
    ...(onCallEnd ? { onCallEnd } : {}),
  });
  try {
    return await connection.invoke(cmdlet);
  } finally {
    await connection.disconnect();
  }
}

/** The admin's directory API when EXO_ADMIN_ACCESS_TOKEN is set (doctor never prompts for a sign-in). */
export function adminDirectoryFromEnv(
  resolved: Pick<ResolvedConnection, "endpoints">,
  env: NodeJS.ProcessEnv,
  transport: HttpTransport,
): DirectoryApi | undefined {
  const token = env.EXO_ADMIN_ACCESS_TOKEN?.trim();
  if (!token) return undefined;
  return new DirectoryApi(
    new GraphClient({ endpoint: resolved.endpoints.graphEndpoint, transport, getToken: async () => token }),
  );
}

/** An admin's directory API: EXO_ADMIN_ACCESS_TOKEN, or a device-code sign-in when someone can answer it. */
export async function adminDirectory(
  resolved: Pick<ResolvedConnection, "endpoints" | "organization">,
  options: WiringOptions & { transport: HttpTransport; why: string },
): Promise<DirectoryApi> {
  const env = options.env ?? process.env;
  const fromEnv = adminDirectoryFromEnv(resolved, env, options.transport);
  if (fromEnv) return fromEnv;
  if (!options.interactive) {
    throw new UsageError(
      `${options.why} needs an administrator's Graph token, and there is no terminal to sign in on.`,
      {
        hint: "Set EXO_ADMIN_ACCESS_TOKEN to a delegated Graph token of an Application Administrator, or (for rotation) use --self so the app rotates its own key.",
      },
    );
  }
  const session = await signInAdmin({
    endpoints: resolved.endpoints,
    organization: resolved.organization,
    transport: options.transport,
    ...(options.onMessage ? { onMessage: options.onMessage } : {}),
  });
  return new DirectoryApi(
    new GraphClient({
      endpoint: resolved.endpoints.graphEndpoint,
      transport: options.transport,
      getToken: () => session.getToken(),
    }),
  );
}

export function doctorDeps(
  resolved: ResolvedConnection,
  options: WiringOptions & { transport: HttpTransport; warnDays?: number },
): DoctorDeps {
  const env = options.env ?? process.env;
  const now = options.now ?? (() => new Date());
  const directory = adminDirectoryFromEnv(resolved, env, options.transport);
  const deps: DoctorDeps = {
    appId: resolved.appId,
    organization: resolved.organization,
    now,
    inspectCertificate: () => inspectLocalCertificate(resolved.certificate, resolved.home, env, now),
    acquireToken: (credential) => freshToken(resolved, credential, "exchange", options.transport),
    invoke: (credential, cmdlet) =>
      invokeWith(resolved, credential, cmdlet, options.transport, options.logger),
  };
  if (resolved.profile) deps.profile = resolved.profile;
  if (directory) deps.directory = directory;
  if (options.warnDays !== undefined) deps.warnDays = options.warnDays;
  if (options.logger) deps.logger = options.logger;
  return deps;
}

/** A Graph client authenticated as the app itself with `cert` (app-only, `<graph>/.default`). */
function selfGraphFactory(resolved: ResolvedConnection, transport: HttpTransport) {
  const clients = new Map<string, GraphClient>();
  return (cert: KeyedCertificate) => {
    let client = clients.get(cert.thumbprint);
    if (!client) {
      let tokens: Promise<CachingTokenProvider> | undefined;
      const graphTokens = () => {
        tokens ??= createTokenProvider(withKeyPair(resolved, cert), { transport, resource: "graph" }).then(
          ({ provider }) => new CachingTokenProvider(provider),
        );
        return tokens;
      };
      client = new GraphClient({
        endpoint: resolved.endpoints.graphEndpoint,
        transport,
        getToken: async () => (await (await graphTokens()).getToken()).token,
      });
      clients.set(cert.thumbprint, client);
    }
    const c = client;
    return {
      get: <T>(path: string) => c.get<T>(path),
      post: <T>(path: string, body: unknown) => c.post<T>(path, body),
    };
  };
}

export interface RotationWiringOptions extends WiringOptions {
  transport: HttpTransport;
  self?: boolean;
}

/** The real rotation dependencies for a resolved profile. */
export async function rotationDeps(
  resolved: ResolvedConnection,
  options: RotationWiringOptions,
): Promise<RotationDeps> {
  const env = options.env ?? process.env;
  const now = options.now ?? (() => new Date());
  const profile = resolved.profile;
  if (!profile) {
    throw new UsageError("Rotation updates a profile, and none was found.", {
      hint: "Pass --profile NAME (a profile saved by `exo-cba setup`).",
    });
  }
  const store = await CertStore.open(resolved.home, env, { now });
  const loadCertificate = async (thumbprint: string) => toKeyed(await store.credential(thumbprint));

  let keys: AppKeyManager;
  if (options.self) {
    if (!profile.appObjectId) {
      throw new UsageError(
        `Profile '${profile.name}' does not record the app's object id, which addKey needs.`,
        {
          hint: "Run `exo-cba setup` once more for this profile (it records the id), or rotate as an admin (without --self).",
        },
      );
    }
    const current = profile.certificateThumbprint
      ? await loadCertificate(profile.certificateThumbprint)
      : undefined;
    if (!current)
      throw new UsageError(`Profile '${profile.name}' has no store certificate to sign the proof with.`);
    if (current.notAfter.getTime() <= now().getTime()) {
      // addKey only accepts a proof from a key that is still valid: Graph would answer a bare 401.
      throw new UsageError(
        `The certificate ${current.thumbprint} expired on ${current.notAfter.toISOString().slice(0, 10)}, so the app can no longer rotate itself.`,
        {
          hint: "Rotate as an admin instead: set EXO_ADMIN_ACCESS_TOKEN (or sign in interactively) and run `exo-cba cert rotate` without --self.",
        },
      );
    }
    keys = selfKeyManager(selfGraphFactory(resolved, options.transport), profile.appObjectId, current, now);
  } else {
    const directory = await adminDirectory(resolved, { ...options, why: "Rotation as an admin" });
    let objectId = profile.appObjectId;
    if (!objectId) {
      const app = await directory.findApplicationByAppId(resolved.appId);
      if (!app)
        throw new UsageError(`No application with app id ${resolved.appId} in ${resolved.organization}.`);
      objectId = app.id;
    }
    keys = adminKeyManager(directory, objectId);
  }

  const deps: RotationDeps = {
    home: resolved.home,
    profile,
    keys,
    loadCertificate,
    createCertificate: async (current) => {
      const parsed = inspectCertificatePem(current.certificatePem);
      const cn = /CN=([^,]+)/.exec(parsed.subject)?.[1];
      const dnsName = parsed.dnsNames[0] ?? cn ?? resolved.organization;
      const created = await createSelfSignedCertificate({
        home: resolved.home,
        env,
        dnsName,
        friendlyName: `exo-cba ${profile.name} (rotated ${now().toISOString().slice(0, 10)})`,
        ...(parsed.keySize >= 2048 ? { keySize: parsed.keySize } : {}),
        now,
      });
      return created.thumbprint;
    },
    verify: async (cert) => {
      await invokeWith(resolved, cert, "Get-OrganizationConfig", options.transport, options.logger);
    },
    saveProfile: async (p) => {
      await saveProfile(resolved.home, p);
    },
    now,
  };
  if (options.logger) deps.logger = options.logger;
  if (options.onMessage) deps.onProgress = options.onMessage;
  return deps;
}

/** A transport that also trusts `caPem` (in-process emulator) — for callers that have none. */
