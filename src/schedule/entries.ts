import { UsageError } from "../errors.js";

/**
 * Ready-to-install scheduler entries (cron, systemd service + timer, Windows Task Scheduler XML) that run
 * an exo-cba command unattended with a profile. Pure: the caller supplies absolute paths, nothing is
 * installed. Every entry:
 *  - uses absolute node and exo-cba paths (schedulers run with a minimal PATH);
 *  - passes `--log-format json` so each run leaves structured, redacted records for monitoring;
 *  - names the profile explicitly (`--profile P`) so a changed default profile cannot redirect the job.
 */

export const SCHEDULER_KINDS = ["cron", "systemd", "windows-task"] as const;
export type SchedulerKind = (typeof SCHEDULER_KINDS)[number];
export const FREQUENCIES = ["hourly", "daily", "weekly"] as const;
export type Frequency = (typeof FREQUENCIES)[number];

export interface ScheduleRequest {
  kind: SchedulerKind;
  every: Frequency;
  /** "HH:MM" (24 h, local time of the machine). For hourly runs only the minutes are used. */
  at: string;
  /** The exo-cba arguments to run, e.g. ["report", "usage", "--format", "csv", "--out", "/srv/reports"]. */
  command: string[];
  profile?: string;
  /** Absolute path of the node executable. */
  nodePath: string;
  /** Absolute path of bin/exo-cba.js. */
  binPath: string;
  /** Where cron output and the Windows task's log file go (absolute). */
  logFile: string;
  /** EXO_CBA_HOME for the job (cron/systemd), so it finds the same store and profiles as the installer. */
  home?: string;
  /** Account that runs the job (systemd `User=`, Windows `UserId`); cron entries go in that user's crontab. */
  user?: string;
  /** Unit / task name; default derived from the command. */
  name?: string;
}

export interface ScheduleFile {
  /** Suggested file name (`exo-cba-report-usage.service`), or "crontab" for the cron line. */
  name: string;
  content: string;
}

export interface ScheduleEntry {
  kind: SchedulerKind;
  name: string;
  /** The exact argument vector the scheduler will run. */
  argv: string[];
  files: ScheduleFile[];
  /** How to install it, one step a line. */
  install: string[];
}

export function parseTimeOfDay(at: string): { hour: number; minute: number } {
  const m = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(at.trim());
  if (!m) {
    throw new UsageError(`'${at}' is not a time of day.`, {
      hint: "Use --at HH:MM in 24-hour form, e.g. --at 02:30.",
    });
  }
  return { hour: Number(m[1]), minute: Number(m[2]) };
}

/** The argument vector after the node binary: bin, global logging flag, command, profile. */
export function scheduledArgv(req: ScheduleRequest): string[] {
  let command = [...req.command];
  // People paste "exo-cba report usage"; the binary is already in the entry.
  if (command[0] === "exo-cba") command = command.slice(1);
  if (command.length === 0) {
    throw new UsageError("No command to schedule.", {
      hint: "Put the exo-cba command after `--`, e.g. `exo-cba schedule --print --cron -- report usage`.",
    });
  }
  for (const arg of command) {
    // A line break would end a cron line or a unit setting and let the rest run as something else.
    if (/[\r\n\0]/.test(arg)) throw new UsageError("A scheduled command argument contains a line break.");
  }
  const hasProfile = command.some((a) => a === "--profile" || a.startsWith("--profile="));
  if (req.profile && !hasProfile) {
    // After the command words (subcommands and positionals), before the first option: where commander
    // and a human reader both expect it.
    const firstOption = command.findIndex((a) => a.startsWith("-"));
    const at = firstOption === -1 ? command.length : firstOption;
    command.splice(at, 0, "--profile", req.profile);
  }
  const hasLogFormat = command.includes("--log-format");
  return [req.binPath, ...(hasLogFormat ? [] : ["--log-format", "json"]), ...command];
}

export function defaultJobName(command: string[]): string {
  const words = command
    .filter((a) => a !== "exo-cba")
    .filter((a) => !a.startsWith("-"))
    .slice(0, 2);
  const slug = words
    .join("-")
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return `exo-cba-${slug || "job"}`;
}

export function buildScheduleEntry(req: ScheduleRequest): ScheduleEntry {
  for (const [label, path] of [
    ["node", req.nodePath],
    ["exo-cba", req.binPath],
    ["log file", req.logFile],
  ] as const) {
    if (!isAbsolutePath(path)) {
      throw new UsageError(`The ${label} path '${path}' is not absolute.`, {
        hint: "Schedulers run with a minimal environment; give absolute paths.",
      });
    }
  }
  const time = parseTimeOfDay(req.at);
  const argv = scheduledArgv(req);
  const name = req.name ?? defaultJobName(req.command);
  if (!/^[A-Za-z0-9][A-Za-z0-9_.@-]*$/.test(name)) {
    throw new UsageError(`'${name}' is not a usable job name.`, {
      hint: "Use letters, digits, '-', '_' and '.'.",
    });
  }
  switch (req.kind) {
    case "cron":
      return cronEntry(req, name, argv, time);
    case "systemd":
      return systemdEntry(req, name, argv, time);
    case "windows-task":
      return windowsTaskEntry(req, name, argv, time);
  }
}

// ---------------------------------------------------------------- cron

/** POSIX shell single-quoting, plus cron's own rule: an unescaped % ends the command. */
export function shellQuote(arg: string): string {
  const quoted = /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
  return quoted.replace(/%/g, "\\%");
}

function cronEntry(
  req: ScheduleRequest,
  name: string,
  argv: string[],
  t: { hour: number; minute: number },
): ScheduleEntry {
  const fields =
    req.every === "hourly"
      ? `${t.minute} * * * *`
      : req.every === "daily"
        ? `${t.minute} ${t.hour} * * *`
        : `${t.minute} ${t.hour} * * 1`;
  const env = req.home ? `EXO_CBA_HOME=${shellQuote(req.home)} ` : "";
  const command = [req.nodePath, ...argv].map(shellQuote).join(" ");
  const line = `${fields} ${env}${command} >> ${shellQuote(req.logFile)} 2>&1`;
  const content = `# ${name}: exo-cba ${req.command.join(" ")} (${req.every}) — stdout and JSON logs appended to the log file\n${line}\n`;
  return {
    kind: "cron",
    name,
    argv,
    files: [{ name: "crontab", content }],
    install: [
      `Run \`crontab -e\`${req.user ? ` as ${req.user} (sudo crontab -u ${req.user} -e)` : ""} and add the line above.`,
      `Create the log file's directory with mode 0700; the job's user must own the certificate store.`,
    ],
  };
}

// ---------------------------------------------------------------- systemd

/** systemd command-line quoting: double quotes with C escapes; `%` and `$` doubled so no expansion. */
export function systemdQuote(arg: string): string {
  const escaped = arg.replace(/%/g, "%%").replace(/\$/g, "$$$$");
  if (/^[A-Za-z0-9_@+=:,./-]+$/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

function systemdEntry(
  req: ScheduleRequest,
  name: string,
  argv: string[],
  t: { hour: number; minute: number },
): ScheduleEntry {
  const hh = String(t.hour).padStart(2, "0");
  const mm = String(t.minute).padStart(2, "0");
  const onCalendar =
    req.every === "hourly"
      ? `*-*-* *:${mm}:00`
      : req.every === "daily"
        ? `*-*-* ${hh}:${mm}:00`
        : `Mon *-*-* ${hh}:${mm}:00`;
  const description = `exo-cba ${req.command.join(" ")}`.replace(/%/g, "%%");
  const service = [
    "[Unit]",
    `Description=${description}`,
    "Wants=network-online.target",
    "After=network-online.target",
    "",
    "[Service]",
    "Type=oneshot",
    `ExecStart=${[req.nodePath, ...argv].map(systemdQuote).join(" ")}`,
    ...(req.user ? [`User=${req.user}`] : []),
    ...(req.home ? [`Environment=${systemdQuote(`EXO_CBA_HOME=${req.home}`)}`] : []),
    // Files the job creates (reports, logs) stay owner-only, like the key store.
    "UMask=0077",
    "NoNewPrivileges=yes",
    "PrivateTmp=yes",
    // Stdout and the JSON logs on stderr go to the journal: `journalctl -u <name>`.
    "StandardOutput=journal",
    "StandardError=journal",
    "",
  ].join("\n");
  const timer = [
    "[Unit]",
    `Description=Run ${name} ${req.every}`,
    "",
    "[Timer]",
    `OnCalendar=${onCalendar}`,
    // Runs missed while the machine was off start at boot instead of being skipped silently.
    "Persistent=true",
    `Unit=${name}.service`,
    "",
    "[Install]",
    "WantedBy=timers.target",
    "",
  ].join("\n");
  return {
    kind: "systemd",
    name,
    argv,
    files: [
      { name: `${name}.service`, content: service },
      { name: `${name}.timer`, content: timer },
    ],
    install: [
      `Save both files in /etc/systemd/system/ (or ~/.config/systemd/user/ with --user).`,
      `systemctl daemon-reload && systemctl enable --now ${name}.timer`,
      `Check runs with: systemctl list-timers ${name}.timer; journalctl -u ${name}.service`,
    ],
  };
}

// ---------------------------------------------------------------- Windows Task Scheduler

export function xmlEscape(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

/** Quote one argument the way CommandLineToArgvW (and node.exe) splits it back. */
export function windowsQuote(arg: string): string {
  if (arg !== "" && !/[\s"]/.test(arg)) return arg;
  let out = '"';
  let backslashes = 0;
  for (const ch of arg) {
    if (ch === "\\") {
      backslashes++;
      continue;
    }
    if (ch === '"') {
      out += `${"\\".repeat(backslashes * 2 + 1)}"`;
    } else {
      out += `${"\\".repeat(backslashes)}${ch}`;
    }
    backslashes = 0;
  }
  return `${out}${"\\".repeat(backslashes * 2)}"`;
}

function windowsTaskEntry(
  req: ScheduleRequest,
  name: string,
  argv: string[],
  t: { hour: number; minute: number },
): ScheduleEntry {
  const hh = String(t.hour).padStart(2, "0");
  const mm = String(t.minute).padStart(2, "0");
  // Task Scheduler cannot redirect output: the log file flag keeps each run's JSON records.
  const args = [...argv];
  if (!args.includes("--log-file")) args.splice(1, 0, "--log-file", req.logFile);
  const schedule =
    req.every === "weekly"
      ? "      <ScheduleByWeek>\n        <WeeksInterval>1</WeeksInterval>\n        <DaysOfWeek><Monday /></DaysOfWeek>\n      </ScheduleByWeek>"
      : "      <ScheduleByDay>\n        <DaysInterval>1</DaysInterval>\n      </ScheduleByDay>";
  const repetition =
    req.every === "hourly"
      ? "      <Repetition>\n        <Interval>PT1H</Interval>\n        <Duration>P1D</Duration>\n        <StopAtDurationEnd>false</StopAtDurationEnd>\n      </Repetition>\n"
      : "";
  const start = req.every === "hourly" ? `2026-01-01T00:${mm}:00` : `2026-01-01T${hh}:${mm}:00`;
  const userId = req.user ? `      <UserId>${xmlEscape(req.user)}</UserId>\n` : "";
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Description>${xmlEscape(`exo-cba ${req.command.join(" ")} (${req.every})`)}</Description>
    <URI>\\${xmlEscape(name)}</URI>
  </RegistrationInfo>
  <Triggers>
    <CalendarTrigger>
${repetition}      <StartBoundary>${start}</StartBoundary>
      <Enabled>true</Enabled>
${schedule}
    </CalendarTrigger>
  </Triggers>
  <Principals>
    <Principal id="Author">
${userId}      <LogonType>S4U</LogonType>
      <RunLevel>LeastPrivilege</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <StartWhenAvailable>true</StartWhenAvailable>
    <RunOnlyIfNetworkAvailable>true</RunOnlyIfNetworkAvailable>
    <ExecutionTimeLimit>PT4H</ExecutionTimeLimit>
    <Enabled>true</Enabled>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>${xmlEscape(req.nodePath)}</Command>
      <Arguments>${xmlEscape(args.map(windowsQuote).join(" "))}</Arguments>
    </Exec>
  </Actions>
</Task>
`;
  return {
    kind: "windows-task",
    name,
    argv: args,
    files: [{ name: `${name}.xml`, content: xml }],
    install: [
      `Save the XML as ${name}.xml, then in an elevated PowerShell:`,
      `Register-ScheduledTask -TaskName '${name}' -Xml (Get-Content -Raw '${name}.xml')`,
      "S4U runs the task whether or not the user is signed in, without storing a password.",
    ],
  };
}

function isAbsolutePath(p: string): boolean {
  return p.startsWith("/") || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith("\\\\");
}
