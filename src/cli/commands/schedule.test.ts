import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { jsonRecords, runCli } from "../../../test/helpers/ops-cli.js";

const home = mkdtempSync(join(tmpdir(), "exo-sched-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe("exo-cba schedule", () => {
  it("prints systemd units for the command after --, with absolute node and bin paths", async () => {
    const r = await runCli(
      [
        "schedule",
        "--print",
        "--systemd",
        "--profile",
        "contoso",
        "--",
        "report",
        "usage",
        "--out",
        "/srv/r",
      ],
      { EXO_CBA_HOME: home },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("# ---- exo-cba-report-usage.service ----");
    expect(r.stdout).toContain(`ExecStart=${process.execPath} `);
    expect(r.stdout).toMatch(
      /bin\/exo-cba\.js --log-format json report usage --profile contoso --out \/srv\/r\n/,
    );
    expect(r.stdout).toContain(`Environment=EXO_CBA_HOME=${home}`);
    expect(r.stderr).toContain("systemctl enable --now exo-cba-report-usage.timer");
  });

  it("defaults the job log into the state home and supports --output json", async () => {
    const r = await runCli(["schedule", "--print", "--cron", "--output", "json", "--", "cert", "check"], {
      EXO_CBA_HOME: home,
    });
    expect(r.code).toBe(0);
    const entry = JSON.parse(r.stdout);
    expect(entry.kind).toBe("cron");
    expect(entry.files[0].content).toContain(`>> ${join(home, "logs", "exo-cba-cert-check.log")} 2>&1`);
  });

  it("refuses two scheduler kinds at once with exit 2", async () => {
    const r = await runCli(["schedule", "--cron", "--systemd", "--", "doctor"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Choose one of --cron, --systemd and --windows-task");
  });
});

describe("--log-format json / --log-file (global options)", () => {
  it("writes command.start and command.end records with one run id", async () => {
    const r = await runCli(["--log-format", "json", "schedule", "--cron", "--", "doctor"], {
      EXO_CBA_HOME: home,
    });
    expect(r.code).toBe(0);
    const records = jsonRecords(r.stderr);
    expect(records.map((x) => x.event)).toEqual(["command.start", "command.end"]);
    expect(records[0]!.command).toBe("schedule");
    expect(records[1]).toMatchObject({ status: "ok", exitCode: 0, command: "schedule" });
    expect(typeof records[1]!.durationMs).toBe("number");
    expect(records[0]!.runId).toBe(records[1]!.runId);
  });

  it("records failures with the exit code and typed error, without the secrets of the environment", async () => {
    const password = "Pfx-Pa55word-from-env";
    const r = await runCli(["--log-format", "json", "schedule", "--at", password, "--", "doctor"], {
      EXO_CBA_HOME: home,
      EXO_CERTIFICATE_PASSWORD: password,
    });
    expect(r.code).toBe(2);
    const end = jsonRecords(r.stderr).find((x) => x.event === "command.end")!;
    expect(end).toMatchObject({ status: "error", exitCode: 2 });
    expect((end.error as { error: string }).error).toBe("UsageError");
    expect(JSON.stringify(jsonRecords(r.stderr))).not.toContain(password);
  });

  it("--log-file alone writes the records to an owner-only file and nothing JSON to stderr", async () => {
    const file = join(home, "run.log");
    const r = await runCli(["--log-file", file, "schedule", "--cron", "--", "doctor"], {
      EXO_CBA_HOME: home,
    });
    expect(r.code).toBe(0);
    expect(jsonRecords(r.stderr)).toEqual([]);
    const lines = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.event)).toEqual(["command.start", "command.end"]);
    if (process.platform !== "win32") expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("an unknown log format is a usage error", async () => {
    const r = await runCli(["--log-format", "xml", "schedule", "--", "doctor"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Unknown log format 'xml'");
  });
});
