/**
 * A minimal structured logger for the shells (the cores return log lines as
 * data). One line per event on stderr: time, level, component, message.
 * @module
 */

import { terminalSafe } from "./terminal_safe.ts";

export type LogLevel = "debug" | "info" | "warn" | "error";

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  log(level: LogLevel, message: string): void;
}

/**
 * A logger writing to stderr; the level comes from `MUTIRAO_LOG_LEVEL` (default info).
 *
 * Lines are buffered and written once per burst (the lines one step logs): a busy orchestrator logs
 * several lines per task, and one write per line cost about a quarter of its throughput
 * (docs/performance.md). Warnings and errors are written at once with what is buffered, and the
 * buffer is flushed when the process exits through `Deno.exit` or the end of the program.
 */
export function createLogger(component: string, level: LogLevel = envLevel()): Logger {
  const log = (lineLevel: LogLevel, message: string) => {
    if (RANK[lineLevel] < RANK[level]) return;
    stderrBuffer.push(formatLogLine({ atMs: Date.now(), level: lineLevel, component, message }));
    if (RANK[lineLevel] >= RANK.warn) flushLogs();
    else scheduleFlush();
  };
  return loggerFrom(log);
}

/**
 * One log line, newline included. User text (names, descriptions, output) reaches log lines, so
 * the message is made terminal-safe: it stays one line, and nothing in it drives a terminal.
 */
export function formatLogLine(
  line: { atMs: number; level: LogLevel; component: string; message: string },
): string {
  return `${new Date(line.atMs).toISOString()} ${
    line.level.toUpperCase().padEnd(5)
  } ${line.component}: ${terminalSafe(line.message)}\n`;
}

/** A Logger whose every method goes through `log` (for loggers that write elsewhere). */
export function loggerFrom(log: (level: LogLevel, message: string) => void): Logger {
  return {
    log,
    debug: (m) => log("debug", m),
    info: (m) => log("info", m),
    warn: (m) => log("warn", m),
    error: (m) => log("error", m),
  };
}

/** Lines waiting for the end of this turn, shared by every logger of the process. */
const stderrBuffer: string[] = [];
let flushScheduled = false;
let unloadHooked = false;
const encoder = new TextEncoder();

function scheduleFlush(): void {
  if (flushScheduled) return;
  flushScheduled = true;
  if (!unloadHooked) {
    unloadHooked = true;
    globalThis.addEventListener("unload", flushLogs);
  }
  // After the synchronous work that is logging (one node step logs all its lines at once); a
  // microtask, not a timer, so nothing is left pending when a test or the program ends.
  queueMicrotask(flushLogs);
}

/** Writes every buffered line now. */
export function flushLogs(): void {
  flushScheduled = false;
  if (stderrBuffer.length === 0) return;
  const bytes = encoder.encode(stderrBuffer.join(""));
  stderrBuffer.length = 0;
  try {
    let offset = 0;
    while (offset < bytes.length) offset += Deno.stderr.writeSync(bytes.subarray(offset));
  } catch {
    // stderr closed (parent went away): logging must never take the process down.
  }
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
