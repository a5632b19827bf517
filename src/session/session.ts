/**
 * The session: where a command (or a library call) gets its network pieces (docs/architecture.md,
 * "Session"). One HTTPS transport per session, trusting the CA named by the session's own environment
 * (in-process runs such as the demo pass NODE_EXTRA_CA_CERTS in an injected env, not process.env); the
 * connection resolved and validated once, from flags → EXO_* → AZURE_* → profile; Exchange connections,
 * token providers and the admin's directory built from it. `close()` releases the sockets.
 */
import type { TokenProvider } from "../auth/types.js";
import { type ConnectionOptions, type ResolvedConnection, resolveConnection } from "../config/connection.js";
import type { DoctorDeps } from "../diagnostics/doctor.js";
import {
  connectionFromResolved,
  createTokenProvider,
  type ExchangeConnection,
  type ExchangeConnectionOptions,
  openExchangeConnection,
  type TokenResource,
  type ValidatedConnection,
} from "../exchange/connect.js";
import type { DirectoryApi } from "../graph/directory.js";
import { HttpTransport } from "../http/transport.js";
import type { RotationDeps } from "../lifecycle/rotate.js";
import type { Logger } from "../log/log.js";

export interface SessionOptions {
  env?: NodeJS.ProcessEnv;
  /** May an admin be asked to sign in (device code, browser)? False in unattended runs. */
  interactive?: boolean;
  logger?: Logger;
  /** Where sign-in messages (the device code) go. */
  onMessage?: (text: string) => void;
  /** Extra trusted CAs (PEM), e.g. an in-process emulator's. */
  caPem?: string[];
  /** A transport owned by the caller (then `close()` leaves it open). */
  transport?: HttpTransport;
}

export class Session {
  readonly env: NodeJS.ProcessEnv;
  readonly interactive: boolean;
  readonly logger: Logger | undefined;
  readonly onMessage: ((text: string) => void) | undefined;
  readonly #caPem: string[] | undefined;
  #transport: HttpTransport | undefined;
  readonly #ownsTransport: boolean;

  constructor(options: SessionOptions = {}) {
    this.env = options.env ?? process.env;
    this.interactive = options.interactive ?? false;
    this.logger = options.logger;
    this.onMessage = options.onMessage;
    this.#caPem = options.caPem;
    this.#transport = options.transport;
    this.#ownsTransport = options.transport === undefined;
  }

  /** The session's one transport, built on first use. */
  get transport(): HttpTransport {
    this.#transport ??= this.#newTransport();
    return this.#transport;
  }

  /** Trusting the CAs of the session's environment (NODE_EXTRA_CA_CERTS there) and `caPem`. */
  #newTransport(): HttpTransport {
    return new HttpTransport({ env: this.env, ...(this.#caPem ? { caPem: this.#caPem } : {}) });
  }

  /** Flags → EXO_* → AZURE_* → profile, validated once (config/connection.ts). */
  resolve(options: ConnectionOptions, env: NodeJS.ProcessEnv = this.env): Promise<ResolvedConnection> {
    return resolveConnection(options, env);
  }

  /** A resolved connection as the clients take it (nothing is validated again). */
  validated(resolved: ResolvedConnection): ValidatedConnection {
    return connectionFromResolved(resolved, this.env);
  }

  /**
   * An Exchange Online connection on the session's transport; its `disconnect()` leaves that open. With
   * `ownTransport` it gets sockets of its own, closed by its `disconnect()` (one pool per tenant in a
   * multi-tenant report).
   */
  exchange(
    resolved: ResolvedConnection,
    options: Omit<ExchangeConnectionOptions, "transport" | "ownsTransport"> & { ownTransport?: boolean } = {},
  ): Promise<ExchangeConnection> {
    const { ownTransport, ...rest } = options;
    const transport = ownTransport ? this.#newTransport() : this.transport;
    return openExchangeConnection(this.validated(resolved), {
      ...rest,
      transport,
      ownsTransport: ownTransport === true,
    });
  }

  /** An uncached app-only token provider for Exchange or Graph, and the resource it is for. */
  async tokenProvider(
    resolved: ResolvedConnection,
    resource: TokenResource,
  ): Promise<{ provider: TokenProvider; resourceUrl: string }> {
    const { provider } = await createTokenProvider(this.validated(resolved), {
      transport: this.transport,
      resource,
    });
    const endpoints = resolved.endpoints;
    const resourceUrl = resource === "graph" ? endpoints.graphEndpoint : endpoints.exchangeResource;
    return { provider, resourceUrl };
  }

  /** An admin's directory API: EXO_ADMIN_ACCESS_TOKEN, or a sign-in when someone can answer it. */
  async adminDirectory(resolved: ResolvedConnection, why: string): Promise<DirectoryApi> {
    const { adminDirectory } = await import("./wiring.js");
    return adminDirectory(resolved, { ...this.#wiring(), why });
  }

  /** What `doctor` checks with: the local certificate, fresh tokens, live cmdlets, the directory. */
  async doctorDeps(resolved: ResolvedConnection, warnDays: number): Promise<DoctorDeps> {
    const { doctorDeps } = await import("./wiring.js");
    return doctorDeps(resolved, { ...this.#wiring(), warnDays });
  }

  /** What certificate rotation works with: as the app itself (`self`) or as an admin. */
  async rotationDeps(resolved: ResolvedConnection, self: boolean): Promise<RotationDeps> {
    const { rotationDeps } = await import("./wiring.js");
    return rotationDeps(resolved, { ...this.#wiring(), self });
  }

  #wiring() {
    return {
      env: this.env,
      transport: this.transport,
      interactive: this.interactive,
      ...(this.logger ? { logger: this.logger } : {}),
      ...(this.onMessage ? { onMessage: this.onMessage } : {}),
    };
  }

  /** Release the sockets (only of a transport this session built). */
  close(): void {
    if (this.#ownsTransport) this.#transport?.close();
    this.#transport = this.#ownsTransport ? undefined : this.#transport;
  }
}

export function createSession(options: SessionOptions = {}): Session {
  return new Session(options);
}
