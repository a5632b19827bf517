import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { vb365Call } from "@exo-cba/emulator/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpTransport } from "../../http/transport.js";
import type { CliContext } from "../context.js";
import { main } from "../main.js";
import { emulatorOptionsFrom, exportLine, runEmulator } from "./emulator.js";

function capture() {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (c) => {
    text += String(c);
  });
  return { stream, text: () => text };
}

function testContext() {
  const out = capture();
  const err = capture();
  const ctx: CliContext = {
    stdout: out.stream,
    stderr: err.stream,
    env: {},
    interactive: false,
    debug: false,
    yes: false,
  };
  return { ctx, out, err };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "exo-cba-emulator-cli-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("exo-cba emulator", () => {
  it("maps flags to emulator options, leaving unset ones to the emulator's defaults", () => {
    expect(emulatorOptionsFrom({})).toEqual({});
    expect(
      emulatorOptionsFrom({
        port: 8443,
        state: "/s",
        seed: 3,
        mailboxes: 10,
        latencyMs: 5,
        throttleRate: 20,
        throttleConcurrency: 4,
        graphThrottleRate: 7,
        errorRate: 0.1,
        dropRate: 0.01,
        tokenLifetime: 600,
        replicationDelayMs: 1000,
        exchangeRoleDelayMs: 2000,
        autoApprove: false,
      }),
    ).toEqual({
      port: 8443,
      stateDir: "/s",
      seed: 3,
      mailboxes: 10,
      latencyMs: 5,
      throttle: { ratePerSecond: 20, concurrency: 4 },
      graphThrottle: { ratePerSecond: 7 },
      faults: { errorRate: 0.1, dropRate: 0.01 },
      tokenLifetimeSeconds: 600,
      replicationDelayMs: 1000,
      exchangeRoleDelayMs: 2000,
      deviceCodeAutoApprove: false,
    });
    expect(emulatorOptionsFrom({ autoApprove: true })).toEqual({});
    expect(emulatorOptionsFrom({ vb365: true })).toEqual({ vb365: {} });
    expect(emulatorOptionsFrom({ vb365Version: 7, vb365TokenLifetime: 90 })).toEqual({
      vb365: { version: 7, tokenLifetimeSeconds: 90 },
    });
  });

  it("quotes export values only when a shell needs it", () => {
    expect(exportLine("EXO_GRAPH_ENDPOINT", "https://127.0.0.1:8444")).toBe(
      "export EXO_GRAPH_ENDPOINT=https://127.0.0.1:8444",
    );
    expect(exportLine("NODE_EXTRA_CA_CERTS", "/tmp/my dir/it's/ca.pem")).toBe(
      "export NODE_EXTRA_CA_CERTS='/tmp/my dir/it'\\''s/ca.pem'",
    );
  });

  it("rejects bad flag values with exit code 2 before starting anything", async () => {
    for (const args of [
      ["--port", "70000"],
      ["--error-rate", "2"],
      ["--mailboxes", "-1"],
      ["--token-lifetime", "abc"],
      ["--vb365-version", "6"],
    ]) {
      const { ctx, err } = testContext();
      expect(await main(["emulator", ...args], ctx)).toBe(2);
      // The flag, then what it takes (src/cli/numbers.ts), e.g. "--port must be a whole number from 0 to 65533".
      expect(err.text()).toContain(`error: ${args[0]} must be `);
    }
  });

  it("reports an unreadable --state file as a usage error (exit 2) with the emulator's hint", async () => {
    const state = join(dir, "damaged");
    await mkdir(state, { recursive: true });
    await writeFile(join(state, "state.json"), "{ not json");
    const { ctx, out, err } = testContext();
    expect(await main(["emulator", "--state", state], ctx)).toBe(2);
    expect(err.text()).toContain(
      `${join(state, "state.json")} is not a readable exo-cba emulator state file.`,
    );
    expect(err.text()).toMatch(/delete that file/);
    expect(out.text()).toBe("");
  });

  it("documents itself with examples", async () => {
    const { ctx, out } = testContext();
    expect(await main(["emulator", "--help"], ctx)).toBe(0);
    expect(out.text()).toContain("--replication-delay-ms");
    expect(out.text()).toContain("Examples:");
  });

  it("prints export lines that reach the running emulator, then stops cleanly", async () => {
    const { ctx, out, err } = testContext();
    const state = join(dir, "state");
    let reachable = 0;
    await runEmulator({ state, mailboxes: 3 }, ctx, async (emu) => {
      const env = Object.fromEntries(
        out
          .text()
          .trim()
          .split("\n")
          .map((line) => /^export (\w+)=(.*)$/.exec(line)!.slice(1) as [string, string]),
      );
      expect(Object.keys(env).sort()).toEqual([
        "EXO_AUTHORITY_HOST",
        "EXO_EXCHANGE_ENDPOINT",
        "EXO_GRAPH_ENDPOINT",
        "EXO_ORGANIZATION",
        "NODE_EXTRA_CA_CERTS",
      ]);
      expect(env.NODE_EXTRA_CA_CERTS).toBe(join(state, "ca.pem"));
      const transport = new HttpTransport({ caPem: [emu.caPem] });
      try {
        const r = await transport.request({
          method: "GET",
          url: `${env.EXO_AUTHORITY_HOST}/${env.EXO_ORGANIZATION}/v2.0/.well-known/openid-configuration`,
        });
        reachable = r.status;
        await r.text();
      } finally {
        transport.close();
      }
      return "test";
    });
    expect(reachable).toBe(200);
    expect(err.text()).toContain("exo-cba emulator running for contoso.onmicrosoft.com");
    expect(err.text()).toContain("emulator stopped.");
    expect(out.text()).not.toContain("running");
    expect((await stat(join(state, "state.json"))).mode & 0o777).toBe(0o600);
  });

  it("with --vb365-version 7 also prints VB365_SERVER/USERNAME/PASSWORD and how to trust its certificate", async () => {
    const { ctx, out, err } = testContext();
    const state = join(dir, "state-vb365");
    let status = 0;
    await runEmulator({ state, mailboxes: 3, vb365Version: 7 }, ctx, async (emu) => {
      const env = Object.fromEntries(
        out
          .text()
          .trim()
          .split("\n")
          .map((line) => /^export (\w+)=(.*)$/.exec(line)!.slice(1) as [string, string]),
      );
      expect(env.VB365_SERVER).toBe(emu.vb365!.origin);
      expect(env.VB365_USERNAME).toBe("vb365-admin");
      expect(env.VB365_PASSWORD).toBe("emulator-vb365");
      const r = await vb365Call(env.VB365_SERVER!, emu.vb365!.certificatePem, "POST", "/v7/token", {
        form: {
          username: env.VB365_USERNAME!,
          password: env.VB365_PASSWORD!,
          disable_antiforgery_token: "true",
        },
      });
      status = r.status;
      return "test";
    });
    expect(status).toBe(200);
    expect(err.text()).toContain(`--vb365-ca-file ${join(state, "vb365.pem")}`);
    expect(err.text()).toMatch(/--vb365-certificate-fingerprint ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
    expect((await stat(join(state, "vb365-key.pem"))).mode & 0o777).toBe(0o600);
  });
});
