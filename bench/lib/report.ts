/**
 * Benchmark results: measurements with their targets, the printed table and the JSON record.
 * Targets are reported against, never asserted: a benchmark that fails on a slow machine tells
 * nothing a table does not.
 * @module
 */

/** A target a measurement is compared with. */
export interface Target {
  /** "atLeast" for rates (higher is better), "atMost" for times and costs. */
  kind: "atLeast" | "atMost";
  value: number;
}

/** One measured number. */
export interface Measurement {
  /** What was measured, e.g. "submit→running p99". */
  metric: string;
  /** NaN or null when it could not be measured. */
  value: number | null;
  unit: string;
  target?: Target;
  /** How it was measured, caveats. */
  note?: string;
}

/** What one scenario produced. */
export interface ScenarioResult {
  measurements: Measurement[];
  /** Everything else worth keeping in the JSON (per-round samples, configuration). */
  details: Record<string, unknown>;
}

/** A scenario's result with its name and how long it ran. */
export interface ScenarioRecord extends ScenarioResult {
  scenario: string;
  durationMs: number;
  error: string | null;
  /** How busy the whole machine was meanwhile (other users' processes distort results). */
  machineLoad: { busyPercent: number; loadAverageAtStart: number; loadAverageAtEnd: number };
}

/** "met", "missed", or "" when there is no target (or no value). */
export function verdict(m: Measurement): "met" | "missed" | "" {
  if (m.target === undefined || m.value === null || Number.isNaN(m.value)) return "";
  const ok = m.target.kind === "atLeast" ? m.value >= m.target.value : m.value <= m.target.value;
  return ok ? "met" : "missed";
}

/** Formats a number for the table: integers with separators, small values with decimals. */
export function formatValue(value: number | null, unit: string): string {
  if (value === null || Number.isNaN(value)) return "n/a";
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  const text = value.toLocaleString("en-US", {
    maximumFractionDigits: digits,
    minimumFractionDigits: 0,
  });
  return unit === "" ? text : `${text} ${unit}`;
}

function formatTarget(m: Measurement): string {
  if (m.target === undefined) return "";
  return `${m.target.kind === "atLeast" ? "≥" : "≤"} ${formatValue(m.target.value, m.unit)}`;
}

/** The results as a Markdown table (readable in a terminal and pasteable into docs). */
export function renderTable(records: readonly ScenarioRecord[]): string {
  const rows: string[][] = [["scenario", "metric", "measured", "target", "", "took"]];
  for (const r of records) {
    const took = `${(r.durationMs / 1000).toFixed(0)} s`;
    if (r.error !== null) {
      rows.push([r.scenario, "error", r.error.split("\n")[0].slice(0, 80), "", "failed", took]);
    }
    r.measurements.forEach((m, i) => {
      rows.push([
        i === 0 ? r.scenario : "",
        m.metric,
        formatValue(m.value, m.unit),
        formatTarget(m),
        verdict(m),
        i === 0 && r.error === null ? took : "",
      ]);
    });
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => [...row[c]].length)));
  const line = (row: string[]) =>
    `| ${row.map((cell, c) => cell + " ".repeat(widths[c] - [...cell].length)).join(" | ")} |`;
  const rule = `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`;
  return [line(rows[0]), rule, ...rows.slice(1).map(line)].join("\n");
}
