import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Command, Option } from "commander";
import { stateHome } from "../../config/home.js";
import { UsageError } from "../../errors.js";
import { type CliContext, PACKAGE_ROOT } from "../context.js";
import { withExamples } from "../options.js";

/** `exo-cba schedule --print [--cron|--systemd|--windows-task] ... -- <exo-cba command...>` */
export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("schedule")
    .description(
      "print a ready scheduler entry (cron line, systemd service + timer, or Windows Task Scheduler XML)\n" +
        "that runs an exo-cba command unattended with a profile; nothing is installed",
    )
    .argument("<command...>", "the exo-cba command to run, after `--`")
    .option("--print", "print the entry (the only mode: exo-cba never edits your scheduler)")
    .option("--cron", "a crontab line (default on Linux and macOS)")
    .option("--systemd", "a systemd service and timer")
    .option("--windows-task", "Windows Task Scheduler XML (default on Windows)")
    .addOption(
      new Option("--every <frequency>", "how often").choices(["hourly", "daily", "weekly"]).default("daily"),
    )
    .option("--at <HH:MM>", "time of day, 24-hour local time (hourly: the minute)", "02:30")
    .option("--profile <name>", "profile the job uses (added to the command as --profile)")
    .option("--name <name>", "unit / task name (default: exo-cba-<command>)")
    .option("--user <account>", "account that runs the job (systemd User=, Windows UserId)")
    .option("--job-log <file>", "log file of the job (default: <state home>/logs/<name>.log)")
    .addOption(
      new Option("-o, --output <format>", "text (the files) or json")
        .choices(["text", "json"])
        .default("text"),
    );
  withExamples(cmd, [
    "exo-cba schedule --print --cron --profile contoso -- report usage --format csv --out /srv/reports",
    "exo-cba schedule --print --systemd --every weekly --at 06:00 --user exo -- cert check --warn-days 30",
    "exo-cba schedule --print --windows-task --profile contoso -- doctor --output json",
  ]);
  cmd.action(async (command: string[], opts: Record<string, unknown>) => {
    const { buildScheduleEntry, defaultJobName } = await import("../../schedule/entries.js");
    const kinds = (["cron", "systemd", "windows-task"] as const).filter(
      (k) => opts[k === "windows-task" ? "windowsTask" : k] === true,
    );
    if (kinds.length > 1) {
      throw new UsageError("Choose one of --cron, --systemd and --windows-task.");
    }
    const kind = kinds[0] ?? (process.platform === "win32" ? "windows-task" : "cron");
    const name = typeof opts.name === "string" ? opts.name : defaultJobName(command);
    const home = stateHome(ctx.env);
    const entry = buildScheduleEntry({
      kind,
      every: opts.every as "hourly" | "daily" | "weekly",
      at: String(opts.at),
      command,
      ...(typeof opts.profile === "string" ? { profile: opts.profile } : {}),
      nodePath: process.execPath,
      binPath: fileURLToPath(new URL("bin/exo-cba.js", PACKAGE_ROOT)),
      logFile: typeof opts.jobLog === "string" ? opts.jobLog : join(home, "logs", `${name}.log`),
      // Pin the state home only when the installer chose one explicitly; otherwise the job's user's default applies.
      ...(ctx.env.EXO_CBA_HOME ? { home: ctx.env.EXO_CBA_HOME } : {}),
      ...(typeof opts.user === "string" ? { user: opts.user } : {}),
      name,
    });
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
  });
}
