/**
 * A minimal structured logger for the shells (the cores return log lines as
 * data). One line per event on stderr: time, level, component, message.
 * @module
 */

export type LogLevel = "debug" | "info" | "warn" | "error";

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  log(level: LogLevel, message: string): void;
}

/** A logger writing to stderr; the level comes from `MUTIRAO_LOG_LEVEL` (default info). */
export function createLogger(component: string, level: LogLevel = envLevel()): Logger {
  const encoder = new TextEncoder();
  const log = (lineLevel: LogLevel, message: string) => {
    if (RANK[lineLevel] < RANK[level]) return;
    const line = `${new Date().toISOString()} ${
      lineLevel.toUpperCase().padEnd(5)
    } ${component}: ${message}\n`;
    try {
      Deno.stderr.writeSync(encoder.encode(line));
    } catch {
      // stderr closed (parent went away): logging must never take the process down.
    }
  };
  return {
    log,
    debug: (m) => log("debug", m),
    info: (m) => log("info", m),
    warn: (m) => log("warn", m),
    error: (m) => log("error", m),
  };
}

function envLevel(): LogLevel {
  let value: string | undefined;
  try {
    value = Deno.env.get("MUTIRAO_LOG_LEVEL");
  } catch {
    // No --allow-env: use the default level.
  }
  return value === "debug" || value === "warn" || value === "error" ? value : "info";
}
