import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { child, parseXml } from "../../test/helpers/xml.js";
import { UsageError } from "../errors.js";
import {
  buildScheduleEntry,
  type ScheduleRequest,
  scheduledArgv,
  shellQuote,
  windowsQuote,
} from "./entries.js";

const base: ScheduleRequest = {
  kind: "cron",
  every: "daily",
  at: "02:30",
  command: ["report", "usage", "--format", "csv", "--out", "/srv/exo reports"],
  profile: "contoso",
  nodePath: "/usr/bin/node",
  binPath: "/opt/exo-cba/bin/exo-cba.js",
  logFile: "/var/log/exo-cba/report.log",
};

describe("scheduledArgv", () => {
  it("adds JSON logs and the profile after the command words", () => {
    expect(scheduledArgv(base)).toEqual([
      "/opt/exo-cba/bin/exo-cba.js",
      "--log-format",
      "json",
      "report",
      "usage",
      "--profile",
      "contoso",
      "--format",
      "csv",
      "--out",
      "/srv/exo reports",
    ]);
  });

  it("keeps a profile and log format the command already names, and drops a pasted 'exo-cba'", () => {
    expect(
      scheduledArgv({ ...base, command: ["exo-cba", "--log-format", "text", "doctor", "--profile", "x"] }),
    ).toEqual(["/opt/exo-cba/bin/exo-cba.js", "--log-format", "text", "doctor", "--profile", "x"]);
  });

  it("refuses an empty command and line breaks", () => {
    expect(() => scheduledArgv({ ...base, command: [] })).toThrow(UsageError);
    expect(() => scheduledArgv({ ...base, command: ["doctor", "x\n* * * * * rm -rf /"] })).toThrow(
      /line break/,
    );
  });
});

describe("cron", () => {
  it("prints one line with 5 schedule fields, absolute paths and a log redirect", () => {
    const entry = buildScheduleEntry(base);
    const lines = entry.files[0]!.content.split("\n").filter((l) => l && !l.startsWith("#"));
    expect(lines).toHaveLength(1);
    const fields = lines[0]!.split(" ");
    expect(fields.slice(0, 5)).toEqual(["30", "2", "*", "*", "*"]);
    expect(fields[5]).toBe("/usr/bin/node");
    expect(lines[0]).toContain(
      "/opt/exo-cba/bin/exo-cba.js --log-format json report usage --profile contoso",
    );
    expect(lines[0]!.endsWith(">> /var/log/exo-cba/report.log 2>&1")).toBe(true);
  });

  it.each([
    ["hourly", "5 * * * *"],
    ["weekly", "5 23 * * 1"],
  ] as const)("%s schedule fields", (every, expected) => {
    const entry = buildScheduleEntry({ ...base, every, at: "23:05" });
    const line = entry.files[0]!.content.split("\n")[1]!;
    expect(line.split(" ").slice(0, 5).join(" ")).toBe(expected);
  });

  it("quotes arguments so the shell gives back exactly the same argv (including % for cron)", () => {
    const tricky = ["report", "usage", "--out", "/srv/it's here", "--title", "50% $HOME `x` done"];
    const entry = buildScheduleEntry({ ...base, command: tricky, profile: undefined });
    const line = entry.files[0]!.content.split("\n")[1]!;
    const commandPart = line
      .split(" ")
      .slice(5)
      .join(" ")
      .replace(/ >> .*$/, "");
    // cron turns \% back into % and hands the rest to /bin/sh.
    const shCommand = commandPart.replace(/\\%/g, "%");
    const out = execFileSync("/bin/sh", ["-c", `printf '%s\\0' ${shCommand}`], { encoding: "utf8" });
    expect(out.split("\0").slice(0, -1)).toEqual([
      "/usr/bin/node",
      ...scheduledArgv({ ...base, command: tricky, profile: undefined }),
    ]);
    expect(commandPart).not.toMatch(/[^\\]%/);
  });

  it("sets EXO_CBA_HOME when given", () => {
    const entry = buildScheduleEntry({ ...base, home: "/home/svc/.config/exo-cba" });
    expect(entry.files[0]!.content).toContain("EXO_CBA_HOME=/home/svc/.config/exo-cba /usr/bin/node");
  });

  it("shellQuote leaves plain words alone and single-quotes the rest", () => {
    expect(shellQuote("/usr/bin/node")).toBe("/usr/bin/node");
    expect(shellQuote("a b")).toBe("'a b'");
  });
});

describe("systemd", () => {
  const entry = buildScheduleEntry({ ...base, kind: "systemd", user: "exo", home: "/var/lib/exo-cba" });
  const [service, timer] = entry.files;
  const sections = (text: string) => text.split("\n").filter((l) => /^\[.+\]$/.test(l));
  const setting = (text: string, key: string) =>
    text
      .split("\n")
      .filter((l) => l.startsWith(`${key}=`))
      .map((l) => l.slice(key.length + 1));

  it("names a service and a timer after the command", () => {
    expect(entry.name).toBe("exo-cba-report-usage");
    expect(service!.name).toBe("exo-cba-report-usage.service");
    expect(timer!.name).toBe("exo-cba-report-usage.timer");
  });

  it("service has [Unit] and [Service] with a oneshot absolute ExecStart, user and private umask", () => {
    expect(sections(service!.content)).toEqual(["[Unit]", "[Service]"]);
    expect(setting(service!.content, "Type")).toEqual(["oneshot"]);
    expect(setting(service!.content, "ExecStart")).toEqual([
      '/usr/bin/node /opt/exo-cba/bin/exo-cba.js --log-format json report usage --profile contoso --format csv --out "/srv/exo reports"',
    ]);
    expect(setting(service!.content, "User")).toEqual(["exo"]);
    expect(setting(service!.content, "UMask")).toEqual(["0077"]);
    expect(setting(service!.content, "Environment")).toEqual(["EXO_CBA_HOME=/var/lib/exo-cba"]);
  });

  it("timer has [Unit], [Timer] and [Install] with the calendar time, persistence and the service", () => {
    expect(sections(timer!.content)).toEqual(["[Unit]", "[Timer]", "[Install]"]);
    expect(setting(timer!.content, "OnCalendar")).toEqual(["*-*-* 02:30:00"]);
    expect(setting(timer!.content, "Persistent")).toEqual(["true"]);
    expect(setting(timer!.content, "Unit")).toEqual(["exo-cba-report-usage.service"]);
    expect(setting(timer!.content, "WantedBy")).toEqual(["timers.target"]);
  });

  it("hourly and weekly calendars; % and $ cannot expand", () => {
    const hourly = buildScheduleEntry({ ...base, kind: "systemd", every: "hourly", at: "00:15" });
    expect(setting(hourly.files[1]!.content, "OnCalendar")).toEqual(["*-*-* *:15:00"]);
    const weekly = buildScheduleEntry({
      ...base,
      kind: "systemd",
      every: "weekly",
      command: ["invoke", "Get-Mailbox", "-Filter", "Name -like '50%$x'"],
    });
    expect(setting(weekly.files[1]!.content, "OnCalendar")).toEqual(["Mon *-*-* 02:30:00"]);
    expect(setting(weekly.files[0]!.content, "ExecStart")[0]).toContain(`"Name -like '50%%$$x'"`);
  });
});

// systemd's own checker, where installed (it is not on macOS/Windows or minimal containers).
const hasSystemdAnalyze = spawnSync("systemd-analyze", ["--version"]).status === 0;

describe.skipIf(!hasSystemdAnalyze)("systemd units checked by systemd-analyze", () => {
  it("`systemd-analyze verify` accepts the service and timer", () => {
    const dir = mkdtempSync(join(tmpdir(), "exo-units-"));
    try {
      const entry = buildScheduleEntry({
        ...base,
        kind: "systemd",
        every: "weekly",
        nodePath: process.execPath,
        command: ["report", "usage", "--out", "/srv/exo reports", "--title", "50% $x"],
      });
      const paths = entry.files.map((f) => {
        const path = join(dir, f.name);
        writeFileSync(path, f.content);
        return path;
      });
      const r = spawnSync("systemd-analyze", ["verify", ...paths], { encoding: "utf8" });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each(["hourly", "daily", "weekly"] as const)("the %s OnCalendar expression is valid", (every) => {
    const entry = buildScheduleEntry({ ...base, kind: "systemd", every, at: "06:05" });
    const onCalendar = /^OnCalendar=(.+)$/m.exec(entry.files[1]!.content)![1]!;
    const r = spawnSync("systemd-analyze", ["calendar", onCalendar], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`Normalized form: ${onCalendar}`);
  });
});

describe("Windows Task Scheduler", () => {
  const entry = buildScheduleEntry({
    ...base,
    kind: "windows-task",
    every: "weekly",
    nodePath: "C:\\Program Files\\nodejs\\node.exe",
    binPath: "C:\\exo-cba\\bin\\exo-cba.js",
    logFile: "C:\\ProgramData\\exo-cba\\report.log",
    user: "CONTOSO\\svc-exo",
    command: ["report", "usage", "--out", "C:\\Reports & <Archive>\\"],
  });
  const xml = entry.files[0]!.content;

  it("is well-formed XML in the Task Scheduler namespace", () => {
    const root = parseXml(xml);
    expect(root.name).toBe("Task");
    expect(root.attributes.xmlns).toBe("http://schemas.microsoft.com/windows/2004/02/mit/task");
    expect(root.children.map((c) => c.name)).toEqual([
      "RegistrationInfo",
      "Triggers",
      "Principals",
      "Settings",
      "Actions",
    ]);
  });

  it("runs node with quoted arguments, a log file and the profile, as the given user without a stored password", () => {
    const root = parseXml(xml);
    const exec = child(child(root, "Actions"), "Exec");
    expect(child(exec, "Command").text).toBe("C:\\Program Files\\nodejs\\node.exe");
    expect(child(exec, "Arguments").text).toBe(
      'C:\\exo-cba\\bin\\exo-cba.js --log-file C:\\ProgramData\\exo-cba\\report.log --log-format json report usage --profile contoso --out "C:\\Reports & <Archive>\\\\"',
    );
    const principal = child(child(root, "Principals"), "Principal");
    expect(child(principal, "UserId").text).toBe("CONTOSO\\svc-exo");
    expect(child(principal, "LogonType").text).toBe("S4U");
  });

  it("weekly trigger on Monday at the given time; hourly repeats every hour", () => {
    const trigger = child(child(parseXml(xml), "Triggers"), "CalendarTrigger");
    expect(child(trigger, "StartBoundary").text).toBe("2026-01-01T02:30:00");
    expect(child(child(child(trigger, "ScheduleByWeek"), "DaysOfWeek"), "Monday")).toBeDefined();
    const hourly = buildScheduleEntry({ ...base, kind: "windows-task", every: "hourly", at: "07:45" });
    const t2 = child(child(parseXml(hourly.files[0]!.content), "Triggers"), "CalendarTrigger");
    expect(child(child(t2, "Repetition"), "Interval").text).toBe("PT1H");
    expect(child(t2, "StartBoundary").text).toBe("2026-01-01T00:45:00");
  });

  it("windowsQuote follows CommandLineToArgvW rules", () => {
    expect(windowsQuote("plain")).toBe("plain");
    expect(windowsQuote("")).toBe('""');
    expect(windowsQuote("a b")).toBe('"a b"');
    expect(windowsQuote('say "hi"')).toBe('"say \\"hi\\""');
    expect(windowsQuote("C:\\dir with space\\")).toBe('"C:\\dir with space\\\\"');
  });
});

describe("validation", () => {
  it("refuses bad times, relative paths and odd names", () => {
    expect(() => buildScheduleEntry({ ...base, at: "25:00" })).toThrow(/time of day/);
    expect(() => buildScheduleEntry({ ...base, at: "2pm" })).toThrow(UsageError);
    expect(() => buildScheduleEntry({ ...base, nodePath: "node" })).toThrow(/not absolute/);
    expect(() => buildScheduleEntry({ ...base, name: "../x" })).toThrow(/job name/);
  });
});

describe("the test XML parser itself", () => {
  it("rejects malformed documents", () => {
    expect(() => parseXml("<a><b></a></b>")).toThrow();
    expect(() => parseXml("<a>x & y</a>")).toThrow();
    expect(() => parseXml("<a x=1/>")).toThrow();
    expect(() => parseXml("<a/><b/>")).toThrow();
    expect(parseXml("<?xml version='1.0'?><a k='&lt;'>t&amp;u</a>")).toEqual({
      name: "a",
      attributes: { k: "<" },
      children: [],
      text: "t&u",
    });
  });
});
