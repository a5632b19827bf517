import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunningEmulator } from "@exo-cba/emulator";
import { type CloudEndpoints, resolveEndpoints } from "../../src/cloud/environments.js";
import { type ResolvedConnection, resolveConnection } from "../../src/config/connection.js";
import { readProfiles } from "../../src/config/profiles.js";
import { GraphClient } from "../../src/graph/client.js";
import { DirectoryApi } from "../../src/graph/directory.js";
import type { HttpTransport } from "../../src/http/transport.js";
import { setupExchangeApp } from "../../src/setup/setup.js";

/** A state home with an app provisioned in the emulator by the real setup (profile `name`). */
export async function provisionedHome(
  emu: RunningEmulator,
  transport: HttpTransport,
  name: string,
  role = "global-reader",
): Promise<{ home: string; env: NodeJS.ProcessEnv; endpoints: CloudEndpoints }> {
  const home = await mkdtemp(join(tmpdir(), `exo-ops-${name}-`));
  const env: NodeJS.ProcessEnv = { ...emu.env, EXO_CBA_HOME: home };
  const endpoints = resolveEndpoints(undefined, emu.env);
  await setupExchangeApp({
    organization: emu.tenant.domain,
    role,
    appName: name,
    profile: name,
    home,
    env,
    endpoints,
    transport,
    signIn: { accessToken: emu.issueAdminToken() },
  });
  return { home, env, endpoints };
}

export async function resolvedProfile(env: NodeJS.ProcessEnv, name: string): Promise<ResolvedConnection> {
  return resolveConnection({ profile: name }, env);
}

export async function profileOf(home: string, name: string) {
  return (await readProfiles(home)).profiles[name]!;
}

/** The admin's independent view of the tenant, for assertions. */
export function adminApi(emu: RunningEmulator, transport: HttpTransport): DirectoryApi {
  const token = emu.issueAdminToken();
  return new DirectoryApi(
    new GraphClient({ endpoint: emu.graphEndpoint, transport, getToken: async () => token }),
  );
}
