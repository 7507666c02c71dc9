/**
 * The Prometheus text exposition format (version 0.0.4), from plain data: metric families with
 * their help, type and samples. Pure: the shell gathers the values, this only spells them.
 * @module
 */

import type { HistogramReading } from "../../shared/histogram.ts";

/** The content type Prometheus expects of a text scrape. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** One sample: its labels (possibly none) and value. */
export interface Sample {
  /** Appended to the family's name: a histogram's `_bucket`, `_sum` and `_count`. */
  suffix?: "_bucket" | "_sum" | "_count";
  labels?: Readonly<Record<string, string>>;
  value: number;
}

/** A metric family: every sample shares its name, help and type. */
export interface MetricFamily {
  /** `mutirao_…`; counters end in `_total`. */
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  samples: readonly Sample[];
}

const NAME_PATTERN = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Spells metric families in the text format, one `# HELP` and `# TYPE` line per family.
 * @throws {RangeError} when a metric or label name is not a valid Prometheus name, or a
 * counter's name does not end in `_total`, or a histogram's in `_seconds` (all are bugs of the caller, never user input)
 * @example
 * formatMetrics([{ name: "mutirao_up", help: "1", type: "gauge", samples: [{ value: 1 }] }]);
 * // "# HELP mutirao_up 1\n# TYPE mutirao_up gauge\nmutirao_up 1\n"
 */
export function formatMetrics(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const family of families) {
    if (!NAME_PATTERN.test(family.name)) {
      throw new RangeError(`Cannot format metrics: "${family.name}" is not a metric name`);
    }
    if (family.type === "histogram" && !family.name.endsWith("_seconds")) {
      throw new RangeError(
        `Cannot format metrics: histogram "${family.name}" must end in _seconds`,
      );
    }
    if (family.type === "counter" && !family.name.endsWith("_total")) {
      throw new RangeError(`Cannot format metrics: counter "${family.name}" must end in _total`);
    }
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
    lines.push(`# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      const name = family.name + (sample.suffix ?? "");
      lines.push(`${name}${formatLabels(sample.labels)} ${formatValue(sample.value)}`);
    }
  }
  return lines.length === 0 ? "" : lines.join("\n") + "\n";
}

/**
 * A histogram as a metric family: cumulative `_bucket{le}` samples ending in `le="+Inf"`, then
 * `_sum` and `_count`.
 * @example
 * histogramFamily("mutirao_fsync_duration_seconds", "Fsync durations", histogram.read());
 */
export function histogramFamily(
  name: string,
  options: { help: string; reading: HistogramReading },
): MetricFamily {
  const { help, reading } = options;
  const samples: Sample[] = reading.bounds.map((bound, i) => ({
    suffix: "_bucket",
    labels: { le: String(bound) },
    value: reading.cumulative[i],
  }));
  samples.push({ suffix: "_bucket", labels: { le: "+Inf" }, value: reading.count });
  samples.push({ suffix: "_sum", value: reading.sum });
  samples.push({ suffix: "_count", value: reading.count });
  return { name, help, type: "histogram", samples };
}

function formatLabels(labels: Readonly<Record<string, string>> | undefined): string {
  if (labels === undefined) return "";
  const pairs = Object.entries(labels).map(([name, value]) => {
    if (!LABEL_PATTERN.test(name) || name.startsWith("__")) {
      throw new RangeError(`Cannot format metrics: "${name}" is not a label name`);
    }
    return `${name}="${escapeLabelValue(value)}"`;
  });
  return pairs.length === 0 ? "" : `{${pairs.join(",")}}`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** In help text only backslash and newline are escaped. */
function escapeHelp(help: string): string {
  return help.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

/** In label values backslash, double quote and newline are escaped. */
function escapeLabelValue(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

/**
 * Reads text in this format back into `name{labels} -> value` (tests and scrapers of our own
 * output; not a full parser: no timestamps, no exemplars).
 * @throws {SyntaxError} on a line that is neither a comment nor a sample
 */
export function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?) (\S+)$/.exec(line);
    if (match === null) throw new SyntaxError(`Cannot parse metrics: bad line "${line}"`);
    const raw = match[2];
    const value = raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : Number(raw);
    samples.set(match[1], value);
  }
  return samples;
}
