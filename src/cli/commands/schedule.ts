import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stateHome } from "../../config/home.js";
import { UsageError } from "../../errors.js";
import { PACKAGE_ROOT } from "../context.js";
import { argument, defineCommand, option } from "../define-command.js";
import { flag, oneOf, requiredText, text, words } from "../option-schemas.js";

/** `exo-cba schedule --print [--cron|--systemd|--windows-task] ... -- <exo-cba command...>` */
export const command = defineCommand({
  name: "schedule",
  description:
    "print a ready scheduler entry (cron line, systemd service + timer, or Windows Task Scheduler XML)\n" +
    "that runs an exo-cba command unattended with a profile; nothing is installed",
  examples: [
    "exo-cba schedule --print --cron --profile contoso -- report usage --format csv --out /srv/reports",
    "exo-cba schedule --print --systemd --every weekly --at 06:00 --user exo -- cert check --warn-days 30",
    "exo-cba schedule --print --windows-task --profile contoso -- doctor --output json",
  ],
  arguments: { command: argument("<command...>", "the exo-cba command to run, after `--`", words()) },
  options: {
    print: option("--print", "print the entry (the only mode: exo-cba never edits your scheduler)", flag()),
    cron: option("--cron", "a crontab line (default on Linux and macOS)", flag()),
    systemd: option("--systemd", "a systemd service and timer", flag()),
    windowsTask: option("--windows-task", "Windows Task Scheduler XML (default on Windows)", flag()),
    every: option("--every <frequency>", "how often", oneOf(["hourly", "daily", "weekly"]), {
      default: "daily",
    }),
    at: option("--at <HH:MM>", "time of day, 24-hour local time (hourly: the minute)", requiredText(), {
      default: "02:30",
    }),
    profile: option("--profile <name>", "profile the job uses (added to the command as --profile)", text()),
    name: option("--name <name>", "unit / task name (default: exo-cba-<command>)", text()),
    user: option("--user <account>", "account that runs the job (systemd User=, Windows UserId)", text()),
    jobLog: option("--job-log <file>", "log file of the job (default: <state home>/logs/<name>.log)", text()),
    output: option("-o, --output <format>", "text (the files) or json", oneOf(["text", "json"]), {
      default: "text",
    }),
  },
  needs: "none",
  async run(ctx, opts) {
    const { buildScheduleEntry, defaultJobName } = await import("../../schedule/entries.js");
    const kinds = (["cron", "systemd", "windows-task"] as const).filter(
      (k) => opts[k === "windows-task" ? "windowsTask" : k],
    );
    if (kinds.length > 1) {
      throw new UsageError("Choose one of --cron, --systemd and --windows-task.");
    }
    const kind = kinds[0] ?? (process.platform === "win32" ? "windows-task" : "cron");
    const name = opts.name ?? defaultJobName(opts.command);
    const home = stateHome(ctx.env);
    return buildScheduleEntry({
      kind,
      every: opts.every,
      at: opts.at,
      command: opts.command,
      ...(opts.profile !== undefined ? { profile: opts.profile } : {}),
      nodePath: process.execPath,
      binPath: fileURLToPath(new URL("bin/exo-cba.js", PACKAGE_ROOT)),
      logFile: opts.jobLog ?? join(home, "logs", `${name}.log`),
      // Pin the state home only when the installer chose one explicitly; otherwise the job's user's default applies.
      ...(ctx.env.EXO_CBA_HOME ? { home: ctx.env.EXO_CBA_HOME } : {}),
      ...(opts.user !== undefined ? { user: opts.user } : {}),
      name,
    });
  },
  render(entry, opts, ctx) {
    if (opts.output === "json") {
      ctx.stdout.write(`${JSON.stringify(entry, null, 2)}\n`);
      return;
    }
    const many = entry.files.length > 1;
    for (const file of entry.files) {
      if (many) ctx.stdout.write(`# ---- ${file.name} ----\n`);
      ctx.stdout.write(file.content.endsWith("\n") ? file.content : `${file.content}\n`);
    }
    for (const step of entry.install) ctx.stderr.write(`${step}\n`);
  },
});
