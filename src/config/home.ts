import { homedir } from "node:os";
import { join } from "node:path";

/**
 * The state home: certificate store, profiles, report history, journals.
 * `EXO_CBA_HOME` wins; otherwise the platform's config directory.
 */
export function stateHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.EXO_CBA_HOME) return env.EXO_CBA_HOME;
  if (process.platform === "win32") {
    return join(env.APPDATA ?? join(homedir(), "AppData", "Roaming"), "exo-cba");
  }
  if (process.platform === "darwin") return join(homedir(), "Library", "Application Support", "exo-cba");
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), ".config"), "exo-cba");
}

export const homePaths = (home: string) => ({
  home,
  certStore: join(home, "certificates"),
  profiles: join(home, "profiles.json"),
  history: join(home, "history.sqlite"),
  journals: join(home, "journals"),
});
