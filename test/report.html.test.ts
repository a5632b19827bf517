import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runUsageReport, type TenantTarget } from "../src/report/usage-report.js";
import { browserUnavailableReason, findChromium } from "./helpers/chromium.js";
import { FAKE_MAILBOXES, FakeExchange } from "./helpers/report-fake.js";

/**
 * The HTML report in a real headless browser: loaded from file://, every request outside file:// is
 * refused and recorded; the totals are in the page and the SVG charts have a size.
 */
const CHROMIUM = findChromium();
const UNAVAILABLE = browserUnavailableReason(CHROMIUM);
// A contributor without a browser (macOS/Windows laptops) still runs the rest of the suite; the
// reason is printed so the skip is never silent. On CI (`CI` set) a missing browser fails instead.
if (UNAVAILABLE) console.warn(`skipping the HTML report browser test: ${UNAVAILABLE}`);
let browser: Browser;
let dir: string;
let htmlPath: string;

beforeAll(async () => {
  if (UNAVAILABLE) return;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  dir = await mkdtemp(join(tmpdir(), "exo-report-html-"));
  const historyPath = join(dir, "history.sqlite");
  const outDir = join(dir, "out");
  const target = (fake: FakeExchange): TenantTarget => ({
    name: "contoso",
    organization: "contoso.onmicrosoft.com",
    connect: async () => fake,
  });
  const clock = (iso: string) => () => new Date(iso);
  // two stored runs a month apart so the growth chart has a line; the second has one failing mailbox
  await runUsageReport({
    targets: [target(new FakeExchange(FAKE_MAILBOXES))],
    historyPath,
    now: clock("2026-10-01T00:00:00Z"),
  });
  const second = new FakeExchange(FAKE_MAILBOXES.map((m) => ({ ...m, bytes: m.bytes * 2 })));
  await runUsageReport({ targets: [target(second)], historyPath, now: clock("2026-11-01T00:00:00Z") });
  const third = new FakeExchange(FAKE_MAILBOXES);
  third.failPrimary.set("g2", Number.POSITIVE_INFINITY);
  await runUsageReport({
    targets: [target(third)],
    historyPath,
    outDir,
    formats: ["html"],
    backupStoredBytes: 10245,
    now: clock("2026-11-15T00:00:00Z"),
  });
  htmlPath = join(outDir, "usage-contoso.html");
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(UNAVAILABLE !== undefined)("HTML usage report in a headless browser", () => {
  it("is self-contained: no script, no external reference", async () => {
    const html = await readFile(htmlPath, "utf8");
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(/i);
  });

  it("shows the totals and the failing mailbox, renders the SVG charts, and requests nothing from the network", async () => {
    const page = await browser.newPage();
    const outside: string[] = [];
    await page.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith("file://")) return route.continue();
      outside.push(url);
      return route.abort();
    });
    page.on("request", (r) => {
      if (!r.url().startsWith("file://")) outside.push(r.url());
    });
    await page.goto(pathToFileURL(htmlPath).href, { waitUntil: "load" });

    // third run without bob (g2 failed): 20490 − (2000 + 200) = 18290 bytes = 17.86 KiB
    expect(await page.locator("#total-protected .v").textContent()).toBe("17.86 KiB");
    expect(await page.locator("#totals").textContent()).toContain("18,290");
    expect(await page.locator("#mailbox-count .v").textContent()).toBe("5");
    expect(await page.locator("#errors").textContent()).toContain("1 mailbox(es) not measured");
    expect(await page.locator("body").textContent()).toContain("bob@contoso.com");
    expect(await page.locator("body").textContent()).toContain("1 KiB = 1024 bytes");
    // backup: (18290 − 10245) / 18290 = 43.98 %
    expect(await page.locator("#backup").textContent()).toContain("44.0 %");

    const charts = page.locator("svg.chart");
    const titles = await charts.evaluateAll((els) => els.map((e) => e.getAttribute("aria-label")));
    expect(titles).toEqual([
      "Mailboxes by type",
      "Mailboxes by total protected size",
      "Largest mailboxes",
      "Total protected bytes over time",
    ]);
    for (let i = 0; i < titles.length; i++) {
      const box = await charts.nth(i).boundingBox();
      expect(box?.width).toBeGreaterThan(100);
      expect(box?.height).toBeGreaterThan(50);
      // bars, columns or the line were drawn, not just an empty frame
      expect(await charts.nth(i).locator("rect, polyline").count()).toBeGreaterThan(0);
    }
    // growth uses only complete runs: 2026-10-01 (20490) → 2026-11-01 (primary doubled: 20490 + 6900)
    expect(await page.locator("#growth").textContent()).toContain("6,900 bytes");

    // print stylesheet: charts still laid out on paper
    await page.emulateMedia({ media: "print" });
    expect((await charts.nth(3).boundingBox())?.width).toBeGreaterThan(100);
    const pdf = await page.pdf({ format: "A4" });
    expect(pdf.byteLength).toBeGreaterThan(1000);

    expect(outside).toEqual([]);
    await page.close();
  });
});
