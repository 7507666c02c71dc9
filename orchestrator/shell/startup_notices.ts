/**
 * What an orchestrator says about its configuration when it starts. A warning is for something
 * the operator must act on; the demo file's well-known passwords and missing cluster secret are
 * what the demo is (one machine, nothing exposed), so they are one info line, not warnings that
 * teach newcomers to ignore WARN (README, "Security").
 * @module
 */
import type { LogLevel } from "../../shared/log.ts";

/** One startup line. */
export interface StartupNotice {
  level: LogLevel;
  message: string;
}

/**
 * The lines to log at startup.
 * @param options.configPath the cluster file, as named to the operator
 * @param options.isDemo the file says `"demo": true`
 * @param options.hasSecret a cluster secret authenticates workers and peers
 */
export function startupNotices(
  options: { configPath: string; isDemo: boolean; hasSecret: boolean },
): StartupNotice[] {
  if (options.isDemo) {
    const what = options.hasSecret
      ? "well-known passwords"
      : "well-known passwords and no cluster secret";
    return [{
      level: "info",
      message: `${options.configPath} is a demo configuration (${what}): for trying Mutirão on ` +
        "one machine; never expose its ports (see SECURITY.md for a real cluster)",
    }];
  }
  if (options.hasSecret) return [];
  return [{
    level: "warn",
    message: "No cluster secret: any process that reaches this port can act as a worker or a " +
      "peer orchestrator (set clusterSecretFile; see SECURITY.md)",
  }];
}
