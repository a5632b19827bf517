// `npm run bench`: exo-cba's speed and memory goals, measured side by side in one run.
// Prints a table and the JSON (also written to bench/out/latest.json). `--quick` uses smaller tenants;
// `--only=startup,cert,invoke,stream,setup,report` runs some of them (also `stream1m`: only the
// 1,000,000-row stream; `report100k`: only the 100,000-mailbox report).
import { spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { provisionedTenant } from "./fixture.js";
import { now, printTable, round, runChild } from "./lib.js";
import { measureStartup } from "./startup.js";

const quick = process.argv.includes("--quick");
const only = process.argv
  .find((a) => a.startsWith("--only="))
  ?.slice(7)
  .split(",");
// EXO_CBA_BENCH_BIN runs the CLI of another build (e.g. a worktree of an earlier commit) through the same
// benchmarks, for a before/after on the same machine.
const bin = process.env.EXO_CBA_BENCH_BIN || new URL("../bin/exo-cba.js", import.meta.url).pathname;
const rssHook = new URL("./rss-hook.js", import.meta.url).pathname;
const rows = [];
const results = {};
const record = (benchmark, metric, value, goal, ok) =>
  rows.push({ benchmark, metric, value, goal, ok: ok === undefined ? "" : ok ? "yes" : "NO" });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The flags that point `report usage` at the emulator's VB365 server (its password goes in VB365_PASSWORD). */
const vb365Flags = (vb) => [
  "--vb365-server",
  vb.origin,
  "--vb365-username",
  vb.username,
  "--vb365-certificate-fingerprint",
  vb.fingerprintSha256,
];

/** Run the CLI as a user would; returns exit code, wall ms, peak RSS (MB) and stdout. */
function cli(args, env) {
  return new Promise((resolve, reject) => {
    const start = now();
    const child = spawn(process.execPath, ["--import", rssHook, bin, ...args], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = now() - start;
      const rss = /BENCH_RSS (\{.*\})/.exec(err);
      const measured = rss ? JSON.parse(rss[1]) : {};
      resolve({
        code,
        ms,
        maxRssMb: measured.maxRssMb,
        sampledPeaks: measured.sampledPeaks,
        stdout: out,
        stderr: err,
      });
    });
  });
}

const want = (name) => !only || only.includes(name);

/** The JSON report files of `dir` as one string, without what differs between identical runs (times, run id, request counts, growth since the previous run). */
async function comparableReport(dir) {
  const volatile =
    /generatedAt|duration|elapsed|^requests$|retries|throttl|window|Ms$|startedAt|finishedAt|runId|^growth$/i;
  const strip = (v) => {
    if (Array.isArray(v)) return v.map(strip);
    if (v === null || typeof v !== "object") return v;
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => !volatile.test(k))
        .map(([k, x]) => [k, strip(x)]),
    );
  };
  const files = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith(".json")).sort();
  const parts = [];
  for (const f of files) parts.push(JSON.stringify(strip(JSON.parse(await readFile(join(dir, f), "utf8")))));
  return parts.join("\n");
}

// ---------------------------------------------------------------- certificates (issue 3)
if (want("cert")) {
  const home = await mkdtemp(join(tmpdir(), "exo-cba-bench-cert-"));
  const env = { ...process.env, EXO_CBA_HOME: home };
  const times = [];
  for (let i = 0; i < 5; i++) {
    const r = await cli(
      [
        "cert",
        "new",
        "--dns-name",
        `bench${i}.contoso.onmicrosoft.com`,
        "--cer-path",
        join(home, `b${i}.cer`),
        "--output",
        "json",
      ],
      env,
    );
    if (r.code !== 0) throw new Error(`cert new failed: ${r.stderr}`);
    times.push(r.ms);
  }
  const keygen = [];
  for (let i = 0; i < 5; i++) {
    const t = now();
    generateKeyPairSync("rsa", { modulusLength: 2048 });
    keygen.push(now() - t);
  }
  results.cert = { certNewMedianMs: round(median(times)), rsa2048NativeMedianMs: round(median(keygen)) };
  record("cert new (CLI, end to end)", "median ms of 5", round(median(times), 0));
  record("RSA-2048 generation (node:crypto, native)", "median ms of 5", round(median(keygen), 0));
  await rm(home, { recursive: true, force: true });
}

// ---------------------------------------------------------------- start-up vs bare node (issue 13)
if (want("startup")) {
  const rounds = quick ? 7 : 15;
  const s = await measureStartup({ rounds });
  results.startup = {
    rounds,
    medianMs: Object.fromEntries(Object.entries(s.medianMs).map(([k, v]) => [k, round(v, 1)])),
    ratio: Object.fromEntries(Object.entries(s.ratio).map(([k, v]) => [k, round(v, 2)])),
  };
  const label = `start-up vs bare \`node -e ''\` (median of ${rounds}, alternating)`;
  const m = s.medianMs;
  record(label, "bare node ms", round(m.bare, 0));
  record(label, "--version ratio", round(s.ratio.version, 2), "≤ 2.0", s.ratio.version <= 2);
  record(label, "--help ratio", round(s.ratio.help, 2), "≤ 2.0", s.ratio.help <= 2);
  record(
    label,
    "invoke → first request ratio",
    round(s.ratio.invokeToFirstRequest, 2),
    "≤ 2.0",
    s.ratio.invokeToFirstRequest <= 2,
  );
  record(label, "same, first run (compile cache off)", round(s.ratio.invokeToFirstRequestCold, 2));
  record(
    label,
    "--version / --help / invoke / first-run invoke ms",
    `${round(m.version, 0)} / ${round(m.help, 0)} / ${round(m.invoke, 0)} / ${round(m.invokeCold, 0)}`,
  );
}

// ---------------------------------------------------------------- CLI start-up, first invoke, token reuse (issue 4)
if (want("invoke")) {
  const t = await provisionedTenant({ mailboxes: 100 });
  try {
    const version = [];
    for (let i = 0; i < 7; i++) version.push((await cli(["--version"], t.env)).ms);
    const first = [];
    for (let i = 0; i < 5; i++) {
      const r = await cli(["invoke", "Get-OrganizationConfig", "--output", "json"], t.env);
      if (r.code !== 0) throw new Error(`invoke failed: ${r.stderr}`);
      first.push(r.ms);
    }
    // Token requests per 1,000 invocations, in-process, through the library.
    const { connectExchangeOnline } = await import("../dist/exchange/connect.js");
    const exo = await connectExchangeOnline({
      appId: t.env.EXO_APP_ID ?? t.appId,
      organization: t.emu.tenant.domain,
      certificate: { thumbprint: t.setup.certificate.thumbprint },
      env: t.env,
    });
    const before = t.emu.stats().tokenRequests;
    const start = now();
    for (let i = 0; i < 1000; i++) await exo.invoke("Get-OrganizationConfig");
    const perCall = (now() - start) / 1000;
    const tokens = t.emu.stats().tokenRequests - before;
    await exo.disconnect();
    results.invoke = {
      versionMedianMs: round(median(version)),
      firstInvokeMedianMs: round(median(first)),
      tokenRequestsPer1000Invocations: tokens,
      warmInvokeMeanMs: round(perCall),
    };
    record("exo-cba --version", "median ms of 7", round(median(version), 0));
    record("first invoke (new process, warm emulator)", "median ms of 5", round(median(first), 0));
    record("1,000 invocations, one connection", "token requests", tokens, "1", tokens === 1);
    record("1,000 invocations, one connection", "mean ms per invoke", round(perCall, 2));
  } finally {
    await t.close();
  }
}

// ---------------------------------------------------------------- streaming Get-Mailbox (issue 4)
// `--only=stream1m` runs just the 1,000,000-row size (about 10 minutes on a quiet machine).
if (want("stream") || want("stream1m")) {
  const sizes = !want("stream") ? [1_000_000] : quick ? [100_000] : [100_000, 1_000_000];
  for (const n of sizes) {
    const t = await provisionedTenant({ mailboxes: n });
    try {
      const { connectExchangeOnline } = await import("../dist/exchange/connect.js");
      const exo = await connectExchangeOnline({
        appId: t.appId,
        organization: t.emu.tenant.domain,
        certificate: { thumbprint: t.setup.certificate.thumbprint },
        env: t.env,
      });
      const token = (await exo.tokenProvider.getToken()).token;
      await exo.disconnect();
      const childEnv = {
        ...t.env,
        EXO_APP_ID: t.appId,
        EXO_ORGANIZATION: t.emu.tenant.domain,
        EXO_CERTIFICATE_THUMBPRINT: t.setup.certificate.thumbprint,
        BENCH_TOKEN: token,
      };
      // Alternate the sides so none always runs on a warmer machine; take each side's median.
      const rounds = n >= 1_000_000 ? 2 : 3;
      const runs = { raw: [], client: [], "client-raw": [] };
      for (let i = 0; i < rounds; i++) {
        for (const mode of ["raw", "client", "client-raw"])
          runs[mode].push(await runChild("bench/child-stream.js", [mode], childEnv));
      }
      const rowCounts = new Set(Object.values(runs).flatMap((rs) => rs.map((r) => r.rows)));
      if (rowCounts.size !== 1)
        throw new Error(`row counts differ between runs: ${[...rowCounts].join(", ")}`);
      const med = (mode) => median(runs[mode].map((r) => r.ms));
      const rssOf = (mode) => Math.max(...runs[mode].map((r) => r.maxRssMb));
      const ratio = med("client") / med("raw");
      const ratioRaw = med("client-raw") / med("raw");
      const rss = rssOf("client");
      results[`stream${n}`] = {
        rows: runs.raw[0].rows,
        rounds,
        rawMs: round(med("raw")),
        clientMs: round(med("client")),
        clientRawMs: round(med("client-raw")),
        ratio: round(ratio, 3),
        ratioWithoutNormalisation: round(ratioRaw, 3),
        clientPeakRssMb: round(rss, 1),
        rawPeakRssMb: round(rssOf("raw"), 1),
      };
      const label = `Get-Mailbox -ResultSize Unlimited, ${n.toLocaleString("en-US")} rows → ndjson`;
      record(
        label,
        `time ratio client/raw loop (median of ${rounds})`,
        round(ratio, 3),
        "≤ 1.15",
        ratio <= 1.15,
      );
      record(
        label,
        "same, client with raw: true (no normalisation)",
        round(ratioRaw, 3),
        "≤ 1.15",
        ratioRaw <= 1.15,
      );
      record(
        label,
        "raw / client / client raw:true ms",
        `${round(med("raw"), 0)} / ${round(med("client"), 0)} / ${round(med("client-raw"), 0)}`,
      );
      record(
        label,
        "client peak RSS MB",
        round(rss, 1),
        n >= 1_000_000 ? "< 200" : "",
        n >= 1_000_000 ? rss < 200 : undefined,
      );
    } finally {
      await t.close();
    }
  }
}

// ---------------------------------------------------------------- setup against replication delays (issue 5)
if (want("setup")) {
  const delays = quick ? [1000] : [1000, 3000];
  for (const delayMs of delays) {
    // Setup waits out three propagations on its path: the new app before its service principal can be
    // created, the new service principal before the consent, the new grants before Exchange sees them.
    // Their sum is the lower bound; peers sleep 30-60 s regardless.
    const t = await provisionedTenant({ mailboxes: 10, replicationDelayMs: delayMs });
    try {
      const setupMs = t.setupMs;
      const lowerBound = 3 * delayMs;
      const ratio = setupMs / lowerBound;
      results[`setup${delayMs}`] = {
        replicationDelayMs: delayMs,
        setupMs: round(setupMs),
        lowerBoundMs: lowerBound,
        ratio: round(ratio, 3),
      };
      record(
        `setup, replication delay ${delayMs} ms`,
        "setup time / sum of delays",
        round(ratio, 3),
        "≤ 1.2",
        ratio <= 1.2,
      );
      record(
        `setup, replication delay ${delayMs} ms`,
        "setup ms / lower bound ms",
        `${round(setupMs, 0)} / ${lowerBound}`,
      );
    } finally {
      await t.close();
    }
  }
}

// ---------------------------------------------------------------- usage report (issue 6)
if (want("report")) {
  const n = quick ? 2_000 : 10_000;
  const budget = { ratePerSecond: 500, burst: 50 };
  const latencyMs = 20;
  const t = await provisionedTenant({ mailboxes: n, latencyMs, throttle: budget });
  try {
    const out = await mkdtemp(join(tmpdir(), "exo-cba-bench-report-"));
    const before = t.emu.stats().exchangeRequests;
    const r = await cli(
      ["report", "usage", "--format", "json", "--out", out, "--concurrency", "32", "--output", "json"],
      t.env,
    );
    if (r.code !== 0) throw new Error(`report failed (${r.code}): ${r.stderr.slice(-2000)}`);
    const requests = t.emu.stats().exchangeRequests - before;
    const throttled = t.emu.stats().throttled;
    // The floor the budget allows: every request admitted at the sustained rate after the initial burst,
    // and never faster than latency allows (one request per latency per allowed concurrent slot is not
    // a limit here: the rate is).
    const lowerBoundMs = Math.max(0, (requests - budget.burst) / budget.ratePerSecond) * 1000;
    const ratio = r.ms / lowerBoundMs;
    // Sequential, one call at a time like the original script, on a slice of the same tenant, scaled to n.
    const slice = quick ? 200 : 1_000;
    const seqTenant = await provisionedTenant({ mailboxes: slice, latencyMs, throttle: budget });
    let seqMsScaled;
    try {
      const s = await cli(
        ["report", "usage", "--format", "json", "--out", out, "--concurrency", "1", "--output", "json"],
        seqTenant.env,
      );
      if (s.code !== 0) throw new Error(`sequential report failed: ${s.stderr.slice(-2000)}`);
      seqMsScaled = (s.ms * n) / slice;
    } finally {
      await seqTenant.close();
    }
    results.report = {
      mailboxes: n,
      latencyMs,
      budget,
      requests,
      throttled,
      wallMs: round(r.ms),
      lowerBoundMs: round(lowerBoundMs),
      ratio: round(ratio, 3),
      sequentialEstimateMs: round(seqMsScaled),
      speedup: round(seqMsScaled / r.ms, 1),
      peakRssMb: round(r.maxRssMb, 1),
    };
    const label = `report usage, ${n.toLocaleString("en-US")} mailboxes, ${latencyMs} ms latency, ${budget.ratePerSecond}/s budget`;
    record(label, "wall / budget lower bound", round(ratio, 3), "≤ 1.25", ratio <= 1.25);
    record(label, "wall ms / lower bound ms", `${round(r.ms, 0)} / ${round(lowerBoundMs, 0)}`);
    record(label, "speed-up vs sequential (slice scaled)", `${round(seqMsScaled / r.ms, 1)}x`);
    record(label, "peak RSS MB", round(r.maxRssMb, 1));
    await rm(out, { recursive: true, force: true });
  } finally {
    await t.close();
  }
  // Sparse random throttling: 3% of Exchange calls answered 429 (Retry-After 1 s) and 2% 503, spread
  // over the run (nearly all calls are the per-mailbox statistics), against the same run fault-free.
  // The case: 2,500 mailboxes at concurrency 8, whose fault-free run takes 5–10 s. With 20 ms per
  // call (as the budget case above; Exchange itself answers in 100–500 ms) it takes ~8 s here; the same
  // without latency (~3.5 s) is shown too, where the unavoidable tail (the last calls' own waits: a
  // second for each Retry-After) weighs twice as much.
  for (const latencyMs of [20, 0]) {
    const mailboxes = 2_500;
    const concurrency = 8;
    // One seed per round: the emulator's faults are a fixed sequence per seed, and the last calls of a
    // run (the retries of the stragglers) always land on the same stretch of it. Seed 13 has a cluster of
    // 8 faults in 43 requests (19 %) exactly there, so one seed alone measures that cluster, not the
    // "spread randomly" of the goal; the ratio is the median over the seeds, each listed.
    const seeds = [13, 14, 15];
    const faultsFor = (seed) => ({ throttleRate: 0.03, throttleRetryAfterSeconds: 1, errorRate: 0.02, seed });
    const ft = await provisionedTenant({ mailboxes, latencyMs });
    try {
      const rounds = [];
      let cleanOutput;
      let identical = true;
      for (const seed of seeds) {
        const round_ = { seed };
        for (const side of ["clean", "faulty"]) {
          ft.emu.configure({ faults: side === "faulty" ? faultsFor(seed) : {} });
          const before = ft.emu.stats();
          const out = await mkdtemp(join(tmpdir(), "exo-cba-bench-report-"));
          const r = await cli(
            ["report", "usage", "--format", "json", "--out", out, "--concurrency", String(concurrency)],
            ft.env,
          );
          if (r.code !== 0) throw new Error(`report (${side}) failed (${r.code}): ${r.stderr.slice(-2000)}`);
          const after = ft.emu.stats();
          round_[`${side}Ms`] = round(r.ms);
          if (side === "faulty") round_.faults = after.faultsInjected - before.faultsInjected;
          const output = await comparableReport(out);
          cleanOutput ??= output;
          if (output !== cleanOutput) identical = false;
          await rm(out, { recursive: true, force: true });
        }
        round_.ratio = round(round_.faultyMs / round_.cleanMs, 3);
        rounds.push(round_);
      }
      const ratio = median(rounds.map((r) => r.ratio));
      results[latencyMs ? "reportSparseFaults" : "reportSparseFaultsNoLatency"] = {
        mailboxes,
        concurrency,
        latencyMs,
        faults: faultsFor("13, 14, 15"),
        rounds,
        ratio: round(ratio, 3),
        outputIdentical: identical,
      };
      const label = `report usage, ${mailboxes.toLocaleString("en-US")} mailboxes, ${latencyMs} ms latency, concurrency ${concurrency}, 3% 429 (Retry-After 1 s) + 2% 503`;
      record(
        label,
        "wall / fault-free wall (median over seeds 13-15)",
        round(ratio, 3),
        latencyMs ? "≤ 1.5" : "",
        latencyMs ? ratio <= 1.5 : undefined,
      );
      record(
        label,
        "per seed: fault-free ms / faulty ms",
        rounds.map((r) => `${r.seed}: ${round(r.cleanMs, 0)} / ${round(r.faultyMs, 0)}`).join(", "),
      );
      record(label, "reports identical to the fault-free one", identical ? "yes" : "NO", "yes", identical);
    } finally {
      await ft.close();
    }
  }
}

// ---------------------------------------------------------------- usage report at 100,000 mailboxes (issue 13)
// Peak RSS of the CLI with all three formats, without and with the VB365 backup side (every active
// mailbox protected). `--only=report100k` runs just this; `--only=report` includes it unless --quick.
if (want("report100k") || (want("report") && !quick)) {
  const n = 100_000;
  const big = await provisionedTenant({
    mailboxes: n,
    vb365: { userMailboxShare: 1, resourceMailboxShare: 1 },
  });
  try {
    const vb = big.emu.vb365;
    const base = ["report", "usage", "--format", "csv,json,html", "--concurrency", "16", "--output", "json"];
    const sides = [["without", ["--no-vb365"], big.env]];
    if (vb) {
      sides.push(["withVb365", vb365Flags(vb), { ...big.env, VB365_PASSWORD: vb.password }]);
    }
    results.report100k = { mailboxes: n, loadAverageBefore: loadavg().map((x) => round(x, 1)) };
    for (const [side, extra, env] of sides) {
      const out = await mkdtemp(join(tmpdir(), "exo-cba-bench-report-"));
      const r = await cli([...base, "--out", out, ...extra], env);
      if (r.code !== 0) throw new Error(`report (${side}) failed (${r.code}): ${r.stderr.slice(-2000)}`);
      results.report100k[side] = {
        exitCode: r.code,
        wallMs: round(r.ms),
        peakRssMb: round(r.maxRssMb, 1),
        sampledPeaks: r.sampledPeaks,
        loadAverageAfter: loadavg().map((x) => round(x, 1)),
      };
      const label = `report usage, 100,000 mailboxes, CSV+JSON+HTML, ${side === "without" ? "no backup side" : "with the VB365 backup side"}`;
      record(label, "wall s", round(r.ms / 1000, 1));
      record(label, "peak RSS MB", round(r.maxRssMb, 1), "≤ 250", r.maxRssMb <= 250);
      record(
        label,
        "sampled peak heap used / external MB",
        `${r.sampledPeaks?.heapUsedMb} / ${r.sampledPeaks?.externalMb}`,
      );
      await rm(out, { recursive: true, force: true });
    }
  } finally {
    await big.close();
  }
}

// ---------------------------------------------------------------- VB365 backup side (issue 11)
if (want("vb365")) {
  const n = quick ? 10_000 : 100_000;
  // Every active mailbox protected, so the backup lists hold about n mailboxes (pages of 10,000).
  const t = await provisionedTenant({
    mailboxes: n,
    vb365: { userMailboxShare: 1, resourceMailboxShare: 1 },
  });
  try {
    const vb = t.emu.vb365;
    if (!vb) throw new Error("this emulator has no VB365 service (packages/emulator/src/vb365)");
    const { Vb365Client } = await import("../dist/vb365/client.js");
    const { readBackupSnapshot, resolveBackupTarget } = await import("../dist/vb365/backup.js");
    // 1. The backup-side calls alone: sign-in, organization, repositories, MailboxData, UserData, LicensedUsers.
    const start = now();
    const client = new Vb365Client({
      server: vb.origin,
      username: vb.username,
      password: vb.password,
      trust: { fingerprint: vb.fingerprintSha256 },
      pageSize: 10_000,
    });
    const target = await resolveBackupTarget(client, { tenantId: t.emu.tenant.id });
    const snapshot = await readBackupSnapshot(client, target);
    await client.logout();
    const backupMs = now() - start;
    const protectedRows = snapshot.protection.reduce((s, p) => s + p.primaryItems, 0);
    // 2. The whole report with and without the backup side (CLI, new process each).
    const out = await mkdtemp(join(tmpdir(), "exo-cba-bench-vb365-"));
    const base = [
      "report",
      "usage",
      "--format",
      "json",
      "--out",
      out,
      "--concurrency",
      "16",
      "--output",
      "json",
    ];
    const withVb = await cli([...base, ...vb365Flags(vb)], { ...t.env, VB365_PASSWORD: vb.password });
    if (withVb.code !== 0)
      throw new Error(`report with VB365 failed (${withVb.code}): ${withVb.stderr.slice(-2000)}`);
    // --no-vb365: the tenant's environment names the emulator's VB365 server, which would otherwise apply
    const without = await cli([...base, "--no-vb365"], t.env);
    if (without.code !== 0)
      throw new Error(`report failed (${without.code}): ${without.stderr.slice(-2000)}`);
    results.vb365 = {
      mailboxes: n,
      protectedRows,
      backupMs: round(backupMs),
      backupRequests: client.stats.requests,
      backupPages: client.stats.pages,
      tokenRequests: client.stats.tokenRequests,
      reportWithMs: round(withVb.ms),
      reportWithoutMs: round(without.ms),
      shareOfReport: round(backupMs / withVb.ms, 3),
      peakRssWithMb: round(withVb.maxRssMb, 1),
      peakRssWithoutMb: round(without.maxRssMb, 1),
    };
    const label = `VB365 backup side, ${protectedRows.toLocaleString("en-US")} protected mailboxes (pages of 10,000)`;
    record(
      label,
      "backup calls alone: wall ms / requests / token requests",
      `${round(backupMs, 0)} / ${client.stats.requests} / ${client.stats.tokenRequests}`,
    );
    record(
      label,
      "report wall s with / without the backup side",
      `${round(withVb.ms / 1000, 1)} / ${round(without.ms / 1000, 1)}`,
    );
    record(
      label,
      "backup calls' share of the report's wall time",
      `${round((backupMs / withVb.ms) * 100, 1)} %`,
    );
    record(
      label,
      "report peak RSS MB with / without",
      `${round(withVb.maxRssMb, 0)} / ${round(without.maxRssMb, 0)}`,
    );
    await rm(out, { recursive: true, force: true });
  } finally {
    await t.close();
  }
}

printTable(rows);
console.log(
  `\nload average at the end (1/5/15 min): ${loadavg()
    .map((x) => x.toFixed(1))
    .join(" / ")}`,
);
console.log();
console.log(JSON.stringify(results, null, 2));
await mkdir(new URL("./out/", import.meta.url), { recursive: true });
await writeFile(
  new URL("./out/latest.json", import.meta.url),
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, quick, loadAverage: loadavg(), results }, null, 2)}\n`,
);
