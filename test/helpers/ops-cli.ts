export { runCli } from "./cli.js";

/** The JSON log records among stderr lines (other lines are human messages). */
export function jsonRecords(stderr: string): Array<Record<string, unknown>> {
  return stderr
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
