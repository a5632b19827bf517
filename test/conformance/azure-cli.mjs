// `npm run conformance:azure-cli`: Azure CLI (Debian's azure-cli, unpatched) against the emulator.
// Opt-in: the package is large and not installed by .ci/run. Prints one line per step and a JSON
// summary; docs/emulator.md records the last results. Needs `az`, `openssl` and a build (`dist/`).
//
// Azure CLI runs on MSAL Python, which asks login.microsoftonline.com (a host name written into MSAL)
// whether an authority host is trusted (instance discovery). Nothing here leaves the machine: az gets
// HTTPS_PROXY pointing at a small proxy in this script that answers only that one host, by passing the
// request on to the emulator's own instance-discovery endpoint over a TLS certificate from a CA made
// for this run and trusted only by this az process; every other host is refused and reported.
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer as createHttpServer } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TLSSocket } from "node:tls";
import { promisify } from "node:util";
import { startEmulator } from "@exo-cba/emulator";
import { HttpTransport } from "../../dist/http/transport.js";

const run = promisify(execFile);
const MICROSOFT_LOGIN = "login.microsoftonline.com";
const EXO_APP_ID = "00000002-0000-0ff1-ce00-000000000000";
const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";
const MANAGE_AS_APP = "dc50a0fb-09a3-484d-be87-e023b12c6440";
const APPLICATION_READWRITE_ALL = "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9";
const EXCHANGE_ADMINISTRATOR = "29232cdf-9323-42fd-ade2-1d097af3e4de";

for (const [tool, hint] of [
  ["az", "apt-get install azure-cli (Debian) or Microsoft's installer"],
  ["openssl", "apt-get install openssl"],
]) {
  try {
    await run(tool, ["version"]);
  } catch {
    console.error(`${tool} is not available (${hint}); nothing was run.`);
    process.exit(2);
  }
}

const dir = await mkdtemp(join(tmpdir(), "exo-cba-azcli-"));
const steps = [];
const refusedHosts = new Set();
let emu;
let proxy;

async function openssl(...args) {
  await run("openssl", args, { cwd: dir });
}

/** A self-signed certificate + key for the app (PEM), and its DER base64 for keyCredentials. */
async function appCertificate(name) {
  await openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-sha256",
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.crt`,
  );
  const cert = await readFile(join(dir, `${name}.crt`), "utf8");
  const key = await readFile(join(dir, `${name}.key`), "utf8");
  await writeFile(join(dir, `${name}.pem`), `${cert.trim()}\n${key.trim()}\n`, { mode: 0o600 });
  const der = cert.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  return { pem: join(dir, `${name}.pem`), crt: join(dir, `${name}.crt`), der };
}

/** A CA for this run and a certificate for login.microsoftonline.com signed by it. */
async function proxyCertificate() {
  await openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-sha256",
    "-days",
    "1",
    "-subj",
    "/CN=exo-cba az conformance CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign",
    "-keyout",
    "proxy-ca.key",
    "-out",
    "proxy-ca.crt",
  );
  await openssl(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    `/CN=${MICROSOFT_LOGIN}`,
    "-keyout",
    "login.key",
    "-out",
    "login.csr",
  );
  await writeFile(
    join(dir, "login.ext"),
    `subjectAltName=DNS:${MICROSOFT_LOGIN}\nextendedKeyUsage=serverAuth\n`,
  );
  await openssl(
    "x509",
    "-req",
    "-in",
    "login.csr",
    "-CA",
    "proxy-ca.crt",
    "-CAkey",
    "proxy-ca.key",
    "-CAcreateserial",
    "-days",
    "1",
    "-sha256",
    "-extfile",
    "login.ext",
    "-out",
    "login.crt",
  );
  return {
    ca: await readFile(join(dir, "proxy-ca.crt"), "utf8"),
    cert: await readFile(join(dir, "login.crt"), "utf8"),
    key: await readFile(join(dir, "login.key"), "utf8"),
  };
}

/** The HTTPS proxy az is given: login.microsoftonline.com → the emulator; everything else refused. */
function startProxy(tls) {
  const inner = createHttpServer((req, res) => {
    const target = new URL(req.url ?? "/", emu.authorityHost);
    const upstream = httpsRequest(
      target,
      { method: req.method, headers: { ...req.headers, host: target.host }, ca: emu.caPem },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  const server = createHttpServer((req, res) => {
    refusedHosts.add(req.headers.host ?? "?");
    res.writeHead(403).end();
  });
  server.on("connect", (req, socket) => {
    const [host, port] = (req.url ?? "").split(":");
    if (host !== MICROSOFT_LOGIN || port !== "443") {
      refusedHosts.add(req.url ?? "?");
      socket.end("HTTP/1.1 403 Forbidden\r\n\r\n");
      return;
    }
    socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    const secure = new TLSSocket(socket, { isServer: true, cert: tls.cert, key: tls.key });
    inner.emit("connection", secure);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

function az(args, env) {
  return new Promise((resolve) => {
    const child = spawn("az", [...args, "--only-show-errors"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

async function step(name, args, env, check) {
  const started = Date.now();
  const r = await az(args, env);
  let parsed;
  try {
    parsed = r.stdout.trim() ? JSON.parse(r.stdout) : undefined;
  } catch {
    parsed = undefined;
  }
  let problem =
    r.code === 0 ? undefined : `exit ${r.code}: ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`;
  if (!problem && check) problem = check(parsed);
  steps.push({ step: name, ok: !problem, ms: Date.now() - started, ...(problem ? { problem } : {}) });
  console.log(`${problem ? "FAIL" : "ok  "} ${name}${problem ? ` — ${problem}` : ""}`);
  return parsed;
}

try {
  const azVersion = JSON.parse((await run("az", ["version", "--output", "json"])).stdout);
  const [appCert, secondCert, proxyTls] = await Promise.all([
    appCertificate("az-app"),
    appCertificate("az-second"),
    proxyCertificate(),
  ]);
  emu = await startEmulator({ mailboxes: 12 });
  proxy = await startProxy(proxyTls);

  // What setup would do, by hand: app + certificate, its SP, Exchange.ManageAsApp, Application.ReadWrite.All
  // (so az can create apps with its app-only Graph token) and the Exchange Administrator role.
  const transport = new HttpTransport({ caPem: [emu.caPem] });
  const admin = emu.issueAdminToken();
  const graph = async (method, path, body) => {
    const res = await transport.request({
      method,
      url: `${emu.graphEndpoint}/v1.0/${path}`,
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  const app = await graph("POST", "applications", {
    displayName: "exo-cba az conformance",
    keyCredentials: [{ type: "AsymmetricX509Cert", usage: "Verify", key: appCert.der }],
  });
  const sp = await graph("POST", "servicePrincipals", { appId: app.appId });
  for (const [resourceAppId, appRoleId] of [
    [EXO_APP_ID, MANAGE_AS_APP],
    [GRAPH_APP_ID, APPLICATION_READWRITE_ALL],
  ]) {
    const resource = (await graph("GET", `servicePrincipals(appId='${resourceAppId}')`)).id;
    await graph("POST", `servicePrincipals/${resource}/appRoleAssignedTo`, {
      principalId: sp.id,
      resourceId: resource,
      appRoleId,
    });
  }
  await graph("POST", "roleManagement/directory/roleAssignments", {
    principalId: sp.id,
    roleDefinitionId: EXCHANGE_ADMINISTRATOR,
    directoryScopeId: "/",
  });

  await writeFile(join(dir, "trust.pem"), `${emu.caPem.trim()}\n${proxyTls.ca.trim()}\n`);
  const env = {
    PATH: process.env.PATH,
    HOME: dir,
    AZURE_CONFIG_DIR: join(dir, "azure"),
    AZURE_CORE_COLLECT_TELEMETRY: "false",
    AZURE_CORE_NO_COLOR: "true",
    AZURE_CORE_OUTPUT: "json",
    REQUESTS_CA_BUNDLE: join(dir, "trust.pem"),
    HTTPS_PROXY: `http://127.0.0.1:${proxy.address().port}`,
    NO_PROXY: "127.0.0.1,localhost",
  };
  // Every endpoint given, so az fetches no metadata; Graph and Resource Manager share the Graph listener.
  await writeFile(
    join(dir, "cloud.json"),
    JSON.stringify({
      endpoints: {
        activeDirectory: emu.authorityHost,
        activeDirectoryResourceId: "https://management.core.windows.net/",
        activeDirectoryGraphResourceId: "https://graph.windows.net/",
        resourceManager: `${emu.graphEndpoint}/`,
        management: "https://management.core.windows.net/",
        gallery: "https://gallery.azure.com/",
        microsoftGraphResourceId: `${emu.graphEndpoint}/`,
      },
    }),
  );
  await step(
    "az cloud register (custom cloud: emulator endpoints)",
    ["cloud", "register", "--name", "ExoCbaEmulator", "--cloud-config", `@${join(dir, "cloud.json")}`],
    env,
  );
  await step("az cloud set", ["cloud", "set", "--name", "ExoCbaEmulator"], env);
  await step(
    "az login --service-principal (certificate)",
    [
      "login",
      "--service-principal",
      "-u",
      app.appId,
      "-p",
      appCert.pem,
      "--tenant",
      emu.tenant.id,
      "--allow-no-subscriptions",
    ],
    env,
    (out) =>
      Array.isArray(out) && out[0]?.tenantId === emu.tenant.id
        ? undefined
        : `unexpected ${JSON.stringify(out)}`,
  );
  const created = await step(
    "az ad app create",
    ["ad", "app", "create", "--display-name", "az-made-app"],
    env,
    (out) => (out?.appId ? undefined : `no appId in ${JSON.stringify(out)}`),
  );
  await step(
    "az ad app list --display-name",
    ["ad", "app", "list", "--display-name", "az-made-app"],
    env,
    (out) =>
      Array.isArray(out) && out.length === 1 && out[0].appId === created?.appId
        ? undefined
        : `expected the one app, got ${JSON.stringify(out)?.slice(0, 200)}`,
  );
  await step("az ad sp show --id", ["ad", "sp", "show", "--id", app.appId], env, (out) =>
    out?.id === sp.id ? undefined : `expected ${sp.id}, got ${JSON.stringify(out)?.slice(0, 200)}`,
  );
  await step(
    "az ad app credential reset --append (certificate)",
    ["ad", "app", "credential", "reset", "--id", app.appId, "--cert", `@${secondCert.crt}`, "--append"],
    env,
  );
  const keys = (await graph("GET", `applications/${app.id}`)).keyCredentials;
  steps.push({ step: "  → the app now has both certificates", ok: keys.length === 2, keys: keys.length });
  console.log(`${keys.length === 2 ? "ok  " : "FAIL"}   → the app has ${keys.length} key credential(s)`);
  await step(
    "az rest → InvokeCommand (resource https://outlook.office365.com)",
    [
      "rest",
      "--method",
      "post",
      "--url",
      `${emu.exchangeEndpoint}/adminapi/beta/${emu.tenant.domain}/InvokeCommand`,
      "--resource",
      "https://outlook.office365.com",
      "--headers",
      "Content-Type=application/json",
      "--body",
      JSON.stringify({ CmdletInput: { CmdletName: "Get-OrganizationConfig", Parameters: {} } }),
    ],
    env,
    (out) =>
      Array.isArray(out?.value) && out.value.length === 1
        ? undefined
        : `unexpected ${JSON.stringify(out)?.slice(0, 200)}`,
  );
  const summary = {
    date: new Date().toISOString(),
    azureCli: azVersion["azure-cli"],
    azureCliCore: azVersion["azure-cli-core"],
    msal: (
      await run("/usr/bin/python3", ["-c", "import msal; print(msal.__version__)"]).catch(() => ({
        stdout: "?",
      }))
    ).stdout.trim(),
    refusedHosts: [...refusedHosts],
    steps,
  };
  console.log(JSON.stringify(summary, null, 2));
  // Hosts az tried besides the emulator (its update check, for example) were refused and are listed;
  // only a failed step fails the run.
  process.exitCode = steps.every((s) => s.ok) ? 0 : 1;
} catch (error) {
  console.error(error);
  process.exitCode = 2;
} finally {
  proxy?.close();
  await emu?.close();
  await rm(dir, { recursive: true, force: true });
}
