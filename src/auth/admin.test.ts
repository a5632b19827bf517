import { request } from "node:http";
import type { RunningEmulator } from "@exo-cba/emulator";
import { startEmulator } from "@exo-cba/emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CloudEndpoints, resolveEndpoints } from "../cloud/environments.js";
import { AuthenticationError, AuthorizationError } from "../errors.js";
import { HttpTransport } from "../http/transport.js";
import { ADMIN_SCOPE_NAMES, mapSignInError, resolveTenantId, signInAdmin } from "./admin.js";
import { decodeJwtClaims } from "./jwt.js";

let emu: RunningEmulator;
let transport: HttpTransport;
let endpoints: CloudEndpoints;

beforeAll(async () => {
  emu = await startEmulator({ mailboxes: 1 });
  transport = new HttpTransport({ caPem: [emu.caPem] });
  endpoints = resolveEndpoints(undefined, emu.env);
});
afterAll(async () => {
  transport?.close();
  await emu?.close();
});

describe("resolveTenantId", () => {
  it("returns the tenant id of a known organization", async () => {
    expect(await resolveTenantId(endpoints, emu.tenant.domain, transport)).toBe(emu.tenant.id);
  });

  it("reports an unknown organization as AADSTS90002 (exit 3)", async () => {
    const error = (await resolveTenantId(endpoints, "nope.onmicrosoft.com", transport).catch(
      (e: unknown) => e,
    )) as AuthenticationError;
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.aadstsCode).toBe(90002);
    expect(error.exitCode).toBe(3);
    expect(error.message).toContain("nope.onmicrosoft.com");
  });
});

describe("signInAdmin", () => {
  it("uses EXO_ADMIN_ACCESS_TOKEN as is", async () => {
    const session = await signInAdmin({
      endpoints,
      organization: emu.tenant.domain,
      transport,
      accessToken: " tok \n",
    });
    expect(session.method).toBe("access-token");
    expect(await session.getToken()).toBe("tok");
  });

  it("device code: shows the message and gets a delegated Graph token for only the three scopes", async () => {
    const messages: string[] = [];
    const session = await signInAdmin({
      endpoints,
      organization: emu.tenant.domain,
      transport,
      onMessage: (m) => messages.push(m),
    });
    expect(messages.join("\n")).toMatch(/devicelogin|code/i);
    const claims = decodeJwtClaims(await session.getToken())!;
    expect(claims.aud).toBe(endpoints.graphEndpoint);
    expect(String(claims.scp).split(" ").sort()).toEqual([...ADMIN_SCOPE_NAMES].sort());
    expect(claims.appid).toBe("14d82eec-204b-4c2f-b7e8-296a70dab67e");
    expect(session.username).toBe(emu.admin.userPrincipalName);
  });

  it("browser: opens the authority's authorize URL with a loopback redirect; a refused consent is exit 4", async () => {
    let opened: URL | undefined;
    const error = await signInAdmin({
      endpoints,
      organization: emu.tenant.domain,
      transport,
      method: "browser",
      // Stands in for the user's browser (only the launch is skipped): the identity platform form-posts the
      // user's refusal back to the loopback redirect.
      openBrowser: async (url) => {
        opened = new URL(url);
        const redirect = new URL(opened.searchParams.get("redirect_uri")!);
        const form = new URLSearchParams({
          error: "access_denied",
          error_description: "AADSTS65004: User declined to consent to access the app.",
          state: opened.searchParams.get("state") ?? "",
        }).toString();
        setTimeout(() => {
          const req = request(redirect, {
            method: "POST",
            headers: {
              "content-type": "application/x-www-form-urlencoded",
              "content-length": Buffer.byteLength(form),
            },
          });
          req.on("response", (res) => res.resume()).on("error", () => {});
          req.end(form);
        }, 50);
      },
    }).catch((e: unknown) => e);
    expect(opened?.origin).toBe(endpoints.authorityHost);
    expect(opened?.pathname).toBe(`/${emu.tenant.domain}/oauth2/v2.0/authorize`);
    expect(opened?.searchParams.get("redirect_uri")).toMatch(/^http:\/\/localhost:\d+/);
    for (const s of ADMIN_SCOPE_NAMES)
      expect(opened?.searchParams.get("scope")).toContain(`${endpoints.graphEndpoint}/${s}`);
    expect(error).toBeInstanceOf(AuthorizationError);
    expect((error as AuthorizationError).reason).toBe("admin-rights");
    expect((error as AuthorizationError).exitCode).toBe(4);
  });
});

describe("mapSignInError", () => {
  const msal = (code: string, message: string) =>
    Object.assign(new Error(message), { errorCode: code, errorMessage: message });

  it("Conditional Access blocking device code suggests --browser", () => {
    const e = mapSignInError(
      msal("invalid_grant", "AADSTS53003: Access has been blocked by Conditional Access policies."),
      "device-code",
      "c.onmicrosoft.com",
    ) as AuthenticationError;
    expect(e).toBeInstanceOf(AuthenticationError);
    expect(e.aadstsCode).toBe(53003);
    expect(e.hint).toContain("--browser");
  });

  it("a blocked or missing client app suggests --admin-client-id", () => {
    const e = mapSignInError(
      msal("unauthorized_client", "AADSTS700016: Application with identifier '14d8…' was not found"),
      "device-code",
      "c",
    ) as AuthenticationError;
    expect(e.aadstsCode).toBe(700016);
    expect(e.hint).toContain("--admin-client-id");
  });

  it("an expired device code says to run again", () => {
    const e = mapSignInError(
      msal("expired_token", "The device code expired"),
      "device-code",
      "c",
    ) as AuthenticationError;
    expect(e.message).toContain("expired");
    expect(e.exitCode).toBe(3);
  });
});
