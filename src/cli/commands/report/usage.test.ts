import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capturedContext } from "../../../../test/helpers/cli.js";
import { FAKE_MAILBOXES, FakeExchange } from "../../../../test/helpers/report-fake.js";
import { saveProfile } from "../../../config/profiles.js";
import { exitCodeFor, PartialResultError, UsageError } from "../../../errors.js";
import { runUsageReport } from "../../../report/usage-report.js";
import { main } from "../../main.js";
import {
  buildTargets,
  command,
  parseFormats,
  parseStoredBytes,
  readStoredBytesFile,
  reportProblems,
} from "./usage.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "exo-report-cli-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function context(env: NodeJS.ProcessEnv = {}) {
  const c = capturedContext({ EXO_CBA_HOME: join(dir, "home"), ...env });
  return { ctx: c.ctx, out: c.stdout, err: c.stderr };
}

describe("report usage option parsing", () => {
  it("parses --format lists in canonical order and rejects unknown formats", () => {
    expect(parseFormats("html, CSV")).toEqual(["csv", "html"]);
    expect(parseFormats(undefined)).toBeUndefined();
    expect(() => parseFormats("csv,pdf")).toThrow(/pdf/);
    expect(() => parseFormats(",")).toThrow(UsageError);
  });

  it("accepts --concurrency 1..256 only (default 8)", async () => {
    const concurrency = command.options.concurrency!;
    const schema = concurrency.schema.build(await import("../../zod.js"));
    expect(schema.parse("16")).toBe(16);
    expect(concurrency.default).toBe("8");
    for (const bad of ["0", "257", "2.5", "-1", "x"]) expect(schema.safeParse(bad).success).toBe(false);
    const c = context();
    await expect(main(["report", "usage", "--concurrency", "0"], c.ctx)).resolves.toBe(2);
    expect(c.err()).toContain("--concurrency must be a whole number from 1 to 256, not '0'.");
  });

  it("reads stored bytes as a number, with separators, or from a file (number or JSON)", async () => {
    expect(parseStoredBytes("1,234,567", "x")).toBe(1234567);
    expect(() => parseStoredBytes("12 GB", "x")).toThrow(UsageError);
    const plain = join(dir, "stored.txt");
    await writeFile(plain, "987654321\n");
    expect(await readStoredBytesFile(plain)).toBe(987654321);
    const json = join(dir, "stored.json");
    await writeFile(json, '{ "storedBytes": 42 }');
    expect(await readStoredBytesFile(json)).toBe(42);
    await writeFile(json, '{ "stored": 42 }');
    await expect(readStoredBytesFile(json)).rejects.toThrow(/storedBytes/);
    await expect(readStoredBytesFile(join(dir, "missing"))).rejects.toThrow(UsageError);
  });
});

describe("exo-cba report usage (usage errors, before any network call)", () => {
  it("needs --out with --format", async () => {
    const c = context();
    expect(await main(["report", "usage", "--format", "csv"], c.ctx)).toBe(2);
    expect(c.err()).toContain("--format needs --out");
  });

  it("refuses both --profiles and --all-profiles, and connection flags with --profiles", async () => {
    const a = context();
    expect(await main(["report", "usage", "--profiles", "a", "--all-profiles"], a.ctx)).toBe(2);
    expect(a.err()).toContain("not both");
    const b = context();
    expect(await main(["report", "usage", "--profiles", "a", "--app-id", "x"], b.ctx)).toBe(2);
    expect(b.err()).toContain("drop the connection flags");
  });

  it("says how to get a profile when there is none", async () => {
    const c = context();
    expect(await main(["report", "usage", "--all-profiles"], c.ctx)).toBe(2);
    expect(c.err()).toContain("exo-cba setup");
  });

  it("rejects a bad --concurrency and conflicting backup options", async () => {
    const a = context();
    expect(await main(["report", "usage", "--concurrency", "0"], a.ctx)).toBe(2);
    const b = context();
    expect(
      await main(["report", "usage", "--backup-stored-bytes", "1", "--backup-stored-file", "f"], b.ctx),
    ).toBe(2);
    expect(b.err()).toContain("not both");
  });

  it("lists the command and its options in --help", async () => {
    const c = context();
    expect(await main(["report", "usage", "--help"], c.ctx)).toBe(0);
    for (const flag of [
      "--format",
      "--out",
      "--concurrency",
      "--profiles",
      "--all-profiles",
      "--resume",
      "--backup-stored-bytes",
    ]) {
      expect(c.out()).toContain(flag);
    }
  });
});

describe("report usage errors section", () => {
  it("lists the failed mailbox on stderr and ends with exit 7 and a --resume hint", async () => {
    const fake = new FakeExchange(FAKE_MAILBOXES);
    fake.failPrimary.set("g3", Number.POSITIVE_INFINITY);
    const result = await runUsageReport({
      targets: [{ name: "contoso", organization: "contoso.onmicrosoft.com", connect: async () => fake }],
      historyPath: join(dir, "errors-history.sqlite"),
    });
    const c = context();
    let thrown: unknown;
    try {
      reportProblems(result, c.ctx);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(PartialResultError);
    expect(exitCodeFor(thrown)).toBe(7);
    expect((thrown as PartialResultError).hint).toContain("--resume");
    expect(c.err()).toContain("errors: 1 mailbox(es) could not be measured");
    expect(c.err()).toMatch(/contoso {2}info@contoso\.com {2}\(primary\) TransientError: /);
  });

  it("is silent and does not throw for a complete run", async () => {
    const result = await runUsageReport({
      targets: [
        {
          name: "contoso",
          organization: "contoso.onmicrosoft.com",
          connect: async () => new FakeExchange(FAKE_MAILBOXES),
        },
      ],
      historyPath: join(dir, "ok-history.sqlite"),
    });
    const c = context();
    reportProblems(result, c.ctx);
    expect(c.err()).toBe("");
  });
});

describe("report usage tenants from profiles", () => {
  it("takes each profile's own tenant (EXO_* connection variables do not leak into them) and reports a tenant once", async () => {
    const home = join(dir, "profiles-home");
    const profile = (name: string, organization: string) => ({
      name,
      organization,
      appId: "11111111-2222-3333-4444-555555555555",
      certificateThumbprint: "A".repeat(40),
      environment: "O365Default",
    });
    await saveProfile(home, profile("contoso", "contoso.onmicrosoft.com"));
    await saveProfile(home, profile("fabrikam", "fabrikam.onmicrosoft.com"));
    await saveProfile(home, profile("contoso-2", "Contoso.onmicrosoft.com"));
    const c = context({ EXO_CBA_HOME: home, EXO_ORGANIZATION: "evil.onmicrosoft.com", EXO_APP_ID: "x" });
    const all = await buildTargets({ allProfiles: true }, c.ctx);
    expect(all.map((t) => t.organization)).toEqual(["contoso.onmicrosoft.com", "fabrikam.onmicrosoft.com"]);
    expect(c.err()).toContain("reached by more than one profile");
    const some = await buildTargets({ profiles: "fabrikam" }, context({ EXO_CBA_HOME: home }).ctx);
    expect(some.map((t) => t.name)).toEqual(["fabrikam.onmicrosoft.com"]);
    await expect(buildTargets({ profiles: "nope" }, context({ EXO_CBA_HOME: home }).ctx)).rejects.toThrow(
      /No profile named 'nope'/,
    );
  });
});
