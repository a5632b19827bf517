import { describe, expect, it } from "vitest";
import type { Profile } from "../config/profiles.js";
import { UsageError } from "../errors.js";
import type { KeyCredential } from "../graph/types.js";
import { revokeCertificate } from "./revoke.js";

const A = "A".repeat(40);
const B = "B".repeat(40);
const key = (keyId: string, thumb: string): KeyCredential => ({
  keyId,
  type: "AsymmetricX509Cert",
  usage: "Verify",
  customKeyIdentifier: thumb,
});
const profile: Profile = {
  name: "p",
  organization: "contoso.onmicrosoft.com",
  appId: "x",
  environment: "O365Default",
  certificateThumbprint: B,
  previousThumbprint: A,
  keepOldUntil: "2026-12-31",
};

function api(initial: KeyCredential[]) {
  let keys = initial;
  const writes: KeyCredential[][] = [];
  return {
    writes,
    keys: () => keys,
    api: {
      getKeyCredentials: async () => keys,
      setKeyCredentials: async (_id: string, list: KeyCredential[]) => {
        writes.push(list);
        keys = list;
      },
    },
  };
}

describe("revokeCertificate", () => {
  it("removes the key and keeps the others by keyId; clears the profile's kept previous key", async () => {
    const fake = api([key("ka", A), key("kb", B)]);
    const saved: Profile[] = [];
    const result = await revokeCertificate({
      api: fake.api,
      applicationObjectId: "obj",
      thumbprint: A.toLowerCase(),
      profile,
      saveProfile: async (p) => {
        saved.push(p);
      },
    });
    expect(result).toMatchObject({ removed: true, keyId: "ka", remainingKeys: 1, warnings: [] });
    expect(fake.writes).toEqual([
      [{ keyId: "kb", type: "AsymmetricX509Cert", usage: "Verify", key: null, customKeyIdentifier: B }],
    ]);
    expect(saved[0]!.previousThumbprint).toBeUndefined();
    expect(saved[0]!.keepOldUntil).toBeUndefined();
  });

  it("does nothing for a key that is not on the app", async () => {
    const fake = api([key("kb", B)]);
    expect(
      await revokeCertificate({ api: fake.api, applicationObjectId: "obj", thumbprint: A }),
    ).toMatchObject({ removed: false, remainingKeys: 1 });
    expect(fake.writes).toHaveLength(0);
  });

  it("refuses to remove the profile's own certificate or the last key without confirmation", async () => {
    const fake = api([key("ka", A), key("kb", B)]);
    await expect(
      revokeCertificate({ api: fake.api, applicationObjectId: "obj", thumbprint: B, profile }),
    ).rejects.toThrow(UsageError);
    const last = api([key("ka", A)]);
    await expect(
      revokeCertificate({ api: last.api, applicationObjectId: "obj", thumbprint: A }),
    ).rejects.toThrow(/last key/);
    const confirmed = await revokeCertificate({
      api: last.api,
      applicationObjectId: "obj",
      thumbprint: A,
      confirmedBreaking: true,
    });
    expect(confirmed.removed).toBe(true);
    expect(confirmed.warnings[0]).toContain("last key");
    expect(fake.writes).toHaveLength(0);
  });
});
