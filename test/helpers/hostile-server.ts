import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createAppCertificate,
  fakeJwt,
  type RecordedRequest,
  type RecordingServer,
  sendJson,
  startRecordingServer,
} from "./invoke-wire.js";

/**
 * A hostile Exchange Online for reliability tests: a loopback HTTPS server (throwaway certificate, trusted
 * through NODE_EXTRA_CA_CERTS in the CLI's environment) that plays the identity platform (discovery and a
 * token endpoint) and InvokeCommand. It answers like a small healthy tenant until a fault is set; then every
 * InvokeCommand request from the `after`-th on gets the fault:
 *
 * - `no-value`          200 with an envelope that has no `value`
 * - `value-not-array`   200 whose `value` is an object
 * - `html`              200 with an HTML page (a proxy's login or error page)
 * - `repeat-next-link`  a page whose `@odata.nextLink` points at itself, forever
 * - `endless-next-link` pages of one row, each with a new `@odata.nextLink`, forever
 * - `empty-next-link`   empty pages, each with a new `@odata.nextLink`, forever
 * - `huge-page`         a 200 that streams a never-ending `value` array
 * - `silence`           accepts the request and never answers
 * - `stall-body`        sends the headers and the start of a page, then nothing more
 * - `reset`             destroys the connection without an answer
 * - `dead`              the server stops listening (connections are refused from then on)
 */
export type HostileMode =
  | "no-value"
  | "value-not-array"
  | "html"
  | "repeat-next-link"
  | "endless-next-link"
  | "empty-next-link"
  | "huge-page"
  | "silence"
  | "stall-body"
  | "reset"
  | "dead";

export const ORG = "hostile.onmicrosoft.com";
export const APP_ID = "11111111-2222-3333-4444-555555555555";
const EXCHANGE_ADMIN_ROLE = "29232cdf-9323-42fd-ade2-1d097af3e4de";

export interface HostileServer {
  origin: string;
  /** environment for the CLI: endpoints, trust, app id, organization, certificate file, a private home */
  env: NodeJS.ProcessEnv;
  /** scratch directory (removed by close) */
  dir: string;
  /** InvokeCommand requests received so far */
  readonly invokeRequests: number;
  /** cmdlet names of the InvokeCommand requests, in order */
  readonly cmdlets: string[];
  /** Start failing with `mode` from the `after`-th InvokeCommand request on (0: at once). */
  fault(mode: HostileMode | undefined, options?: { after?: number }): void;
  /** Mailboxes the healthy tenant has (default 12). */
  setMailboxes(n: number): void;
  /** Answer the mailbox listing with an empty (well-formed) page while recipients are still listed. */
  hideMailboxes(hidden: boolean): void;
  close(): Promise<void>;
}

export async function startHostileServer(): Promise<HostileServer> {
  const [server, cert] = await Promise.all([startRecordingServer(), createAppCertificate("CN=exo-hostile")]);
  const dir = await mkdtemp(join(tmpdir(), "exo-hostile-"));
  const pem = join(dir, "app.pem");
  const caFile = join(dir, "ca.pem");
  await writeFile(pem, `${cert.certificatePem}${cert.privateKeyPem}`, { mode: 0o600 });
  await writeFile(caFile, server.caPem);
  const token = fakeJwt({
    roles: ["Exchange.ManageAsApp"],
    wids: [EXCHANGE_ADMIN_ROLE],
    tid: "t-hostile",
    exp: 4_000_000_000,
  });
  let mode: HostileMode | undefined;
  let after = 0;
  let mailboxes = 12;
  let hidden = false;
  let invokeRequests = 0;
  const cmdlets: string[] = [];
  const silent: ServerResponse[] = [];
  let dead = false;

  const healthy = (input: { CmdletName?: string; Parameters?: Record<string, unknown> }) => {
    const name = input.CmdletName ?? "";
    const params = input.Parameters ?? {};
    if (/Recipient$/.test(name)) return rows(mailboxes, (i) => ({ Name: `user${i}` }));
    if (/MailboxStatistics$/.test(name)) {
      const i = Number(String(params.Identity).slice(-4));
      return [
        {
          DisplayName: `User ${i}`,
          TotalItemSize: `${1 + i} KB (${1024 * (1 + i)} bytes)`,
          ItemCount: 10 + i,
          TotalDeletedItemSize: "0 B (0 bytes)",
          DeletedItemCount: 0,
        },
      ];
    }
    if (/Mailbox$/.test(name)) {
      if (params.InactiveMailboxOnly || hidden) return [];
      return rows(mailboxes, (i) => ({
        ExchangeGuid: `00000000-0000-0000-0000-00000000${String(i).padStart(4, "0")}`,
        UserPrincipalName: `user${i}@${ORG}`,
        DisplayName: `User ${i}`,
        RecipientTypeDetails: "UserMailbox",
        ArchiveStatus: "None",
        ArchiveGuid: "00000000-0000-0000-0000-000000000000",
      }));
    }
    return [];
  };

  const invoke = (req: RecordedRequest, res: ServerResponse, socket: Socket) => {
    invokeRequests++;
    const input = (JSON.parse(req.body) as { CmdletInput: { CmdletName?: string } }).CmdletInput;
    cmdlets.push(input.CmdletName ?? "");
    const faulty = mode !== undefined && invokeRequests > after;
    if (!faulty) return sendJson(res, 200, { "@adminapi.warnings": [], value: healthy(input) });
    const self = `${server.origin}${req.url.split("?")[0]}`;
    switch (mode) {
      case "no-value":
        return sendJson(res, 200, { "@odata.context": "x", "@adminapi.warnings": [] });
      case "value-not-array":
        return sendJson(res, 200, { value: { Name: "not a list" } });
      case "html":
        res.writeHead(200, { "content-type": "text/html" });
        res.end("<html><body>Sign in to continue</body></html>");
        return;
      case "repeat-next-link":
        return sendJson(res, 200, { value: [], "@odata.nextLink": `${self}?$skiptoken=same` });
      case "endless-next-link":
        return sendJson(res, 200, {
          value: [{ Name: `row${invokeRequests}` }],
          "@odata.nextLink": `${self}?$skiptoken=${invokeRequests}`,
        });
      case "empty-next-link":
        return sendJson(res, 200, { value: [], "@odata.nextLink": `${self}?$skiptoken=${invokeRequests}` });
      case "huge-page":
        return streamEndlessPage(res);
      case "silence":
        silent.push(res);
        return;
      case "stall-body":
        res.writeHead(200, { "content-type": "application/json" });
        res.write('{"value":[{"Name":"half');
        silent.push(res);
        return;
      case "reset":
        socket.destroy();
        return;
      case "dead":
        socket.destroy();
        if (!dead) {
          dead = true;
          void server.close();
        }
        return;
      default:
        return sendJson(res, 500, {});
    }
  };

  server.setHandler((req, res, socket) => {
    if (req.url.includes("/.well-known/openid-configuration")) {
      return sendJson(res, 200, {
        issuer: `${server.origin}/${ORG}/v2.0`,
        authorization_endpoint: `${server.origin}/${ORG}/oauth2/v2.0/authorize`,
        token_endpoint: `${server.origin}/${ORG}/oauth2/v2.0/token`,
        jwks_uri: `${server.origin}/${ORG}/discovery/v2.0/keys`,
      });
    }
    if (req.url.includes("/oauth2/v2.0/token")) {
      return sendJson(res, 200, { token_type: "Bearer", expires_in: 3599, access_token: token });
    }
    if (req.url.startsWith(`/adminapi/beta/${ORG}/InvokeCommand`)) return invoke(req, res, socket);
    sendJson(res, 404, {});
  });

  return {
    origin: server.origin,
    dir,
    env: {
      EXO_CBA_HOME: join(dir, "home"),
      EXO_AUTHORITY_HOST: server.origin,
      EXO_EXCHANGE_ENDPOINT: server.origin,
      EXO_GRAPH_ENDPOINT: server.origin,
      NODE_EXTRA_CA_CERTS: caFile,
      EXO_APP_ID: APP_ID,
      EXO_ORGANIZATION: ORG,
      EXO_CERTIFICATE_FILE_PATH: pem,
    },
    get invokeRequests() {
      return invokeRequests;
    },
    cmdlets,
    fault(m, options = {}) {
      mode = m;
      after = invokeRequests + (options.after ?? 0);
    },
    setMailboxes(n) {
      mailboxes = n;
    },
    hideMailboxes(h) {
      hidden = h;
    },
    close: async () => {
      for (const res of silent) res.destroy();
      if (!dead) await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  } satisfies HostileServer & { origin: string };
}

function rows(n: number, make: (i: number) => Record<string, unknown>) {
  return Array.from({ length: n }, (_, i) => make(i));
}

/** A 200 whose `value` array never ends: rows are written as fast as the client reads them. */
function streamEndlessPage(res: ServerResponse) {
  res.writeHead(200, { "content-type": "application/json" });
  res.write('{"value":[');
  const row = `${JSON.stringify({ Name: "x".repeat(1000) })},`;
  const chunk = row.repeat(64);
  const pump = () => {
    while (!res.destroyed && res.write(chunk)) {
      // keep writing until the socket buffer is full
    }
    if (!res.destroyed) res.once("drain", pump);
  };
  res.on("close", () => res.removeAllListeners("drain"));
  pump();
}

export type { RecordingServer };
