import { existsSync, statSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { StaticTokenProvider } from "../src/auth/static-token.js";
import { ExchangeClient } from "../src/exchange/client.js";
import { HttpTransport } from "../src/http/transport.js";
import { runCli } from "./helpers/cli.js";
import { type HostileServer, ORG, startHostileServer } from "./helpers/hostile-server.js";
import { fakeJwt } from "./helpers/invoke-wire.js";

/**
 * exo-cba against a hostile server (issue 14 items 1 and 6): every answer that is not the documented
 * envelope, paging that never ends and bodies without end give a clear error and their exit code, never
 * an empty "complete" result and never a hang or a crash.
 */
let server: HostileServer;

beforeAll(async () => {
  server = await startHostileServer();
});
afterAll(async () => {
  await server?.close();
});
beforeEach(() => {
  server.fault(undefined);
  server.setMailboxes(12);
  server.hideMailboxes(false);
});

const invoke = (...args: string[]) => runCli(["invoke", "Get-Mailbox", ...args], server.env);
const report = (...args: string[]) => runCli(["report", "usage", ...args], server.env);

describe("a 200 that is not the InvokeCommand envelope is a protocol error (exit 6), never zero rows", () => {
  it("a healthy answer still works (the baseline of the cases below)", async () => {
    const r = await invoke("--output", "json");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toHaveLength(12);
  });

  it.each([
    ["no-value", "has no `value`"],
    ["value-not-array", "has a `value` that is not an array"],
    ["html", "is not JSON (content-type text/html"],
  ] as const)("%s: retried within --retries, then exit 6 with the reason", async (mode, reason) => {
    server.fault(mode);
    const before = server.invokeRequests;
    const r = await invoke("--retries", "1", "--output", "json");
    expect(r.code).toBe(6);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("Gave up after 2 attempts: protocol error: the HTTP 200 answer");
    expect(r.stderr).toContain(reason);
    expect(r.stderr).toContain("hint: The endpoint did not answer like Exchange Online");
    expect(server.invokeRequests - before).toBe(2);
  });

  it("report usage: an envelope without `value` ends the run with exit 6, not a complete empty report", async () => {
    server.fault("no-value");
    const r = await report("--retries", "0", "--output", "json");
    expect(r.code).toBe(6);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("protocol error");
    // Nothing was recorded as complete: the next healthy run has no earlier point to compare with.
    server.fault(undefined);
    const next = await report("--output", "json");
    expect(next.code).toBe(0);
    const summary = JSON.parse(next.stdout);
    expect(summary.tenants[0].counts.mailboxes).toBe(12);
    expect(summary.tenants[0].growth).toBeNull();
  });

  it("report usage: no mailbox listed in a tenant with recipients is not complete (exit 7)", async () => {
    server.hideMailboxes(true);
    const r = await report("--output", "json");
    expect(r.code).toBe(7);
    const summary = JSON.parse(r.stdout);
    expect(summary.tenants[0].status).toBe("partial");
    expect(summary.tenants[0].counts).toMatchObject({ recipients: 12, mailboxes: 0 });
    expect(r.stderr).toContain(
      `error: tenant ${ORG} is not complete: the mailbox listing returned no mailbox although the tenant has 12 recipient(s)`,
    );
    expect(r.stderr).toContain("1 tenant(s) listed no mailbox although they have recipients");
  });
});

describe("paging and bodies are bounded", () => {
  it("a nextLink that repeats an earlier page stops at once (exit 5)", async () => {
    server.fault("repeat-next-link");
    const before = server.invokeRequests;
    const r = await invoke("--output", "json");
    expect(r.code).toBe(5);
    expect(r.stderr).toContain(
      "error: Get-Mailbox: the server's paging is broken (an @odata.nextLink repeats an earlier page)",
    );
    // the first page, then its link (new), whose answer links to itself again: refused without a request
    expect(server.invokeRequests - before).toBe(2);
  });

  it("empty pages that keep linking further stop after 100 (exit 5)", async () => {
    server.fault("empty-next-link");
    const before = server.invokeRequests;
    const r = await invoke("--output", "json");
    expect(r.code).toBe(5);
    expect(r.stderr).toContain("100 empty pages in a row, each with another @odata.nextLink");
    expect(server.invokeRequests - before).toBe(100);
  });

  it("fresh nextLinks forever stop at the page cap (library option maxPages)", async () => {
    server.fault("endless-next-link");
    const transport = new HttpTransport({ caPem: [await readFile(server.env.NODE_EXTRA_CA_CERTS!, "utf8")] });
    const client = new ExchangeClient({
      exchangeEndpoint: server.origin,
      organization: ORG,
      tokenProvider: new StaticTokenProvider(fakeJwt({ exp: 4_000_000_000 })),
      transport,
      maxPages: 30,
    });
    let rows = 0;
    const error = await (async () => {
      for await (const _ of client.stream("Get-Mailbox")) rows++;
    })().catch((e: unknown) => e);
    transport.close();
    expect((error as Error).message).toContain("(more than 30 pages); stopped after 30 page(s)");
    expect(rows).toBe(30);
  });

  it("a page that never ends is cut at 100 MiB with a clear error (exit 5), no crash", async () => {
    server.fault("huge-page");
    const r = await invoke("--output", "json");
    expect(r.code).toBe(5);
    expect(r.stderr).toContain(`error: The answer from ${server.origin} is larger than 100 MiB`);
  });
});

describe("inputs are bounded (exit 2)", () => {
  it("cert import /dev/zero is refused instead of read without end", async () => {
    const r = await runCli(["cert", "import", "/dev/zero"], server.env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: The file /dev/zero is larger than 1 MiB");
  });

  it("a --certificate-password-file that is a device is refused", async () => {
    const r = await invoke("--certificate-password-file", "/dev/zero");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("The password file /dev/zero is larger than 64 KiB");
  });

  it("--parameters-json nested 3000 deep is refused before any request", async () => {
    const before = server.invokeRequests;
    const deep = `{"Identity":${"[".repeat(3000)}1${"]".repeat(3000)}}`;
    const r = await invoke("--parameters-json", deep);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--parameters-json is nested 3001 levels deep; at most 32 are accepted.");
    expect(server.invokeRequests).toBe(before);
  });

  it("--backup-stored-file that never ends is refused", async () => {
    const r = await report("--backup-stored-file", "/dev/zero");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--backup-stored-file /dev/zero is larger than 64 KiB");
  });

  it("a certificate file of 2 MiB is refused (exit 2)", async () => {
    const big = join(server.dir, "big.pem");
    await writeFile(big, Buffer.alloc(2 * 1024 * 1024, 0x41));
    const r = await invoke("--certificate-file-path", big);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`The file ${big} is larger than 1 MiB`);
  });
});

describe("dead and silent servers (issue 14 item 5)", () => {
  it("a server that never answers is given up after --request-timeout, retried, then exit 6", async () => {
    server.fault("silence");
    const before = server.invokeRequests;
    const r = await invoke("--request-timeout", "1", "--retries", "1");
    expect(r.code).toBe(6);
    expect(r.stderr).toContain(
      `Gave up after 2 attempts: connection failed (ETIMEDOUT: No answer from ${server.origin} for 1 s (request timeout))`,
    );
    expect(server.invokeRequests - before).toBe(2);
  });

  it("a body that stops half-way is timed out the same way (the idle timer covers the body)", async () => {
    server.fault("stall-body");
    const r = await invoke("--request-timeout", "1", "--retries", "0");
    expect(r.code).toBe(6);
    expect(r.stderr).toContain(
      `Gave up after 1 attempts: connection failed (ETIMEDOUT: No answer from ${server.origin} for 1 s (request timeout))`,
    );
  });

  it("EXO_HTTP_TIMEOUT sets the same timeout; bad values are refused (exit 2)", async () => {
    server.fault("silence");
    const r = await runCli(["invoke", "Get-Mailbox", "--retries", "0"], {
      ...server.env,
      EXO_HTTP_TIMEOUT: "1",
    });
    expect(r.code).toBe(6);
    expect(r.stderr).toContain("for 1 s (request timeout)");
    const bad = await runCli(["invoke", "Get-Mailbox"], { ...server.env, EXO_HTTP_TIMEOUT: "soon" });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("EXO_HTTP_TIMEOUT must be a number of seconds from 1 to 3600, not 'soon'.");
    const retries = await invoke("--retries", "99");
    expect(retries.code).toBe(2);
    expect(retries.stderr).toContain("--retries must be a whole number from 0 to 20, not '99'.");
  });

  it("connections reset on every call: the circuit breaker stops the report (exit 6), --resume finishes it", async () => {
    server.fault("reset", { after: 3 }); // the three listings answer, every statistics call is reset
    const before = server.invokeRequests;
    const r = await report("--output", "json");
    expect(r.code).toBe(6);
    expect(r.stderr).toContain("retrying: endpoint unreachable (");
    expect(r.stderr).toContain(
      "error: The Exchange endpoint is unreachable: 20 connection failures in a row (last: ECONNRESET); the run was stopped.",
    );
    expect(r.stderr).toContain("hint: Nothing measured so far is lost");
    expect(r.stderr).toContain("--resume");
    // 12 mailboxes at 6 attempts each would be 72 statistics requests: the breaker stopped far earlier
    expect(server.invokeRequests - before).toBeLessThan(3 + 20 + 8);

    server.fault(undefined);
    const resumed = await report("--resume", "--output", "json");
    expect(resumed.code).toBe(0);
    const summary = JSON.parse(resumed.stdout);
    expect(summary.tenants[0].run.resumed).toBe(true);
    expect(summary.tenants[0].totals.mailboxesMeasured).toBe(12);
  });

  it("Ctrl-C aborts the requests in flight (a silent server) and keeps the run resumable (exit 7)", async () => {
    server.fault("silence", { after: 3 });
    const interrupt = new AbortController();
    const started = server.invokeRequests;
    const running = runCli(["report", "usage", "--output", "json"], server.env, { signal: interrupt.signal });
    // Wait until statistics calls hang on the silent server (the default timeout is 300 s), then interrupt.
    while (server.invokeRequests < started + 3 + 4) await new Promise((r) => setTimeout(r, 20));
    interrupt.abort();
    const r = await running;
    expect(r.code).toBe(7);
    expect(r.stderr).toContain("not fetched: the run was interrupted");
    expect(r.stderr).toContain("--resume");

    server.fault(undefined);
    const resumed = await report("--resume", "--output", "json");
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout).tenants[0].totals.mailboxesMeasured).toBe(12);
  });

  it("a server that dies mid-run: connections refused, the breaker stops the report (exit 6)", async () => {
    const dying = await startHostileServer();
    try {
      dying.fault("dead", { after: 3 });
      const r = await runCli(["report", "usage", "--output", "json"], dying.env);
      expect(r.code).toBe(6);
      expect(r.stderr).toContain("retrying: endpoint unreachable (");
      expect(r.stderr).toMatch(/20 connection failures in a row \(last: ECONN(REFUSED|RESET)\)/);
    } finally {
      await dying.close();
    }
  });
});

describe("report files and logs (issue 14 items 3 and 4)", () => {
  const tenantBase = `usage-${ORG}`;

  it("a complete run removes an earlier run's errors CSV beside its files", async () => {
    const out = join(server.dir, "out-stale");
    await mkdir(out, { recursive: true });
    const stale = join(out, `${tenantBase}-errors.csv`);
    await writeFile(stale, "tenant,identity\nold,failure\n");
    const r = await report("--format", "csv,json", "--out", out, "--output", "json");
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`removed ${stale}`);
    expect((await readdir(out)).sort()).toEqual([`${tenantBase}.csv`, `${tenantBase}.json`]);
  });

  it("an --out that cannot be written is refused before any request (exit 2)", async () => {
    const file = join(server.dir, "not-a-dir");
    await writeFile(file, "x");
    const before = server.invokeRequests;
    for (const out of [file, join(file, "reports")]) {
      const r = await report("--format", "json", "--out", out);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`error: Cannot write to --out ${out}: (EEXIST|ENOTDIR)\\.`));
      expect(r.stderr).toContain("hint: Give a directory the job's user can write to");
    }
    expect(server.invokeRequests).toBe(before);
  });

  it("files that cannot be written leave the run unfinished; --resume writes them without fetching again", async () => {
    const out = join(server.dir, "out-blocked");
    // The folder is writable, but the report's own file name is taken by a folder: the write fails late.
    await mkdir(join(out, `${tenantBase}.json`), { recursive: true });
    const r = await report("--format", "json", "--out", out, "--output", "json");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error: Cannot write the report files to ${out}:`);
    expect(r.stderr).toContain("--resume (nothing is fetched again)");

    await rm(join(out, `${tenantBase}.json`), { recursive: true });
    const before = server.invokeRequests;
    const resumed = await report("--resume", "--format", "json", "--out", out, "--output", "json");
    expect(resumed.code).toBe(0);
    const tenant = JSON.parse(resumed.stdout).tenants[0];
    expect(tenant.run.resumed).toBe(true);
    expect(tenant.run.calls.reused).toBe(12);
    expect(server.invokeRequests - before).toBe(3); // the three listings only
    expect(JSON.parse(await readFile(join(out, `${tenantBase}.json`), "utf8")).status).toBe("complete");
  });

  // /dev/full (Linux) fails every write with ENOSPC: a full disk without filling one.
  it.skipIf(!existsSync("/dev/full"))(
    "a log file on a full disk warns once on stderr and the command still succeeds",
    async () => {
      const mode = statSync("/dev/full").mode;
      const r = await runCli(
        ["--log-file", "/dev/full", "invoke", "Get-Mailbox", "--output", "json"],
        server.env,
      );
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toHaveLength(12);
      const warnings = r.stderr.split("\n").filter((l) => l.startsWith("warning: cannot write the log file"));
      expect(warnings).toEqual([
        "warning: cannot write the log file /dev/full (ENOSPC); the command goes on without it.",
      ]);
      expect(statSync("/dev/full").mode).toBe(mode); // a device given as the log is not re-moded
    },
  );
});
