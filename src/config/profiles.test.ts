import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UsageError } from "../errors.js";
import { checkProfilesFile, findProfile, readProfiles } from "./profiles.js";

describe("the profiles file check", () => {
  it("keeps the known fields, fills the default environment and drops unknown keys", () => {
    const file = checkProfilesFile({
      defaultProfile: "a",
      extra: 1,
      profiles: {
        a: {
          name: "a",
          organization: "contoso.onmicrosoft.com",
          appId: "00000000-0000-0000-0000-000000000001",
          certificateThumbprint: "AB",
          endpoints: {
            authorityHost: "https://l",
            graphEndpoint: "https://g",
            exchangeEndpoint: "https://x",
            z: 1,
          },
          unknown: "dropped",
        },
        b: { name: "b", organization: "o", appId: "", environment: "O365China" },
        c: {
          name: "c",
          organization: "o",
          appId: "x",
          vb365: { server: "https://vb:4443", repositories: ["r1"], password: "never" },
        },
      },
    });
    expect(file).toEqual({
      defaultProfile: "a",
      profiles: {
        a: {
          name: "a",
          organization: "contoso.onmicrosoft.com",
          appId: "00000000-0000-0000-0000-000000000001",
          certificateThumbprint: "AB",
          environment: "O365Default",
          endpoints: {
            authorityHost: "https://l",
            graphEndpoint: "https://g",
            exchangeEndpoint: "https://x",
          },
        },
        b: { name: "b", organization: "o", appId: "", environment: "O365China" },
        c: {
          name: "c",
          organization: "o",
          appId: "x",
          environment: "O365Default",
          vb365: { server: "https://vb:4443", repositories: ["r1"] },
        },
      },
    });
    expect(checkProfilesFile({})).toEqual({ profiles: {} });
  });

  it.each([
    [[], "expected an object"],
    [{ defaultProfile: 3 }, "defaultProfile: expected a string"],
    [{ profiles: [] }, "profiles: expected an object"],
    [{ profiles: { a: "x" } }, "profiles.a: expected an object"],
    [{ profiles: { a: { organization: "o", appId: "x" } } }, "profiles.a.name: expected a string"],
    [{ profiles: { a: { name: "", organization: "o", appId: "x" } } }, "profiles.a.name: must not be empty"],
    [
      { profiles: { a: { name: "a", organization: "o", appId: "x", role: 1 } } },
      "profiles.a.role: expected a string",
    ],
    [
      { profiles: { a: { name: "a", organization: "o", appId: "x", endpoints: { authorityHost: "h" } } } },
      "profiles.a.endpoints.graphEndpoint: expected a string",
    ],
    [
      {
        profiles: {
          a: { name: "a", organization: "o", appId: "x", vb365: { server: "s", repositories: [1] } },
        },
      },
      "profiles.a.vb365.repositories: expected a list of strings",
    ],
    [
      { profiles: { a: { name: "a", organization: "o", appId: "x", vb365: {} } } },
      "profiles.a.vb365.server: expected a string",
    ],
    [JSON.parse('{"profiles":{"__proto__":{}}}'), "profiles: no profile may be named __proto__"],
  ])("%j is refused: %s", (json, message) => {
    expect(checkProfilesFile(json)).toBe(message);
  });
});

describe("readProfiles", () => {
  let home: string;
  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), "exo-cba-profiles-"));
  });
  afterEach(() => rm(home, { recursive: true, force: true }));

  it("reads the default profile, and says which field of a bad file is wrong", async () => {
    expect(await readProfiles(home)).toEqual({ profiles: {} });
    const path = join(home, "profiles.json");
    await writeFile(
      path,
      JSON.stringify({ defaultProfile: "a", profiles: { a: { name: "a", organization: "o", appId: "x" } } }),
    );
    expect(await findProfile(home)).toEqual({
      name: "a",
      organization: "o",
      appId: "x",
      environment: "O365Default",
    });
    await writeFile(path, JSON.stringify({ profiles: { a: { name: "a", organization: 5, appId: "x" } } }));
    const error = await readProfiles(home).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toContain("profiles.a.organization: expected a string");
  });
});
