/**
 * Reads a process's memory and CPU use from Linux's /proc, for benchmarks that report what a
 * node costs. Plain file reads: no permission beyond --allow-read is needed.
 * @module
 */

/** Memory figures from /proc/PID/status, in bytes. */
export interface MemoryStatus {
  /** Peak resident set size over the process's life (VmHWM). */
  peakRssBytes: number;
  /** Current resident set size (VmRSS). */
  rssBytes: number;
}

/**
 * Reads VmHWM and VmRSS of `pid`.
 * @throws {Deno.errors.NotFound} when the process is gone.
 */
export async function readMemoryStatus(pid: number): Promise<MemoryStatus> {
  const text = await Deno.readTextFile(`/proc/${pid}/status`);
  return {
    peakRssBytes: statusKiB(text, "VmHWM") * 1024,
    rssBytes: statusKiB(text, "VmRSS") * 1024,
  };
}

function statusKiB(text: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(text);
  if (match === null) throw new SyntaxError(`Cannot read ${field} from /proc status`);
  return Number(match[1]);
}

/**
 * CPU time (user + system) `pid` has used so far, in milliseconds. /proc/PID/stat counts clock
 * ticks; Linux reports them at USER_HZ = 100 on every architecture Deno runs on.
 * @throws {Deno.errors.NotFound} when the process is gone.
 */
export async function readCpuTimeMs(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  // "pid (comm) state ..." with comm possibly holding spaces: fields start after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 (utime) and 15 (stime) of stat(5); index 0 here is field 3 (state).
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks * 10;
}

/**
 * CPU time so far (readCpuTimeMs) of each node that has a process, by node id.
 * @throws {Deno.errors.NotFound} when a process is gone.
 */
export async function readNodesCpuTimeMs(
  nodes: ReadonlyArray<{ id: string; process: { pid: number } | null }>,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const node of nodes) {
    if (node.process !== null) out[node.id] = await readCpuTimeMs(node.process.pid);
  }
  return out;
}

/** Whole-machine CPU busy fraction between two samples of /proc/stat (0..1 per machine). */
export async function readMachineCpu(): Promise<{ busy: number; total: number }> {
  const line = (await Deno.readTextFile("/proc/stat")).split("\n")[0];
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = values[3] + (values[4] ?? 0);
  const total = values.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** The machine's available (MemAvailable) and total memory, in bytes, from /proc/meminfo. */
export async function readMachineMemory(): Promise<{ availableBytes: number; totalBytes: number }> {
  const text = await Deno.readTextFile("/proc/meminfo");
  const kib = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(text)?.[1]);
  return { availableBytes: kib("MemAvailable") * 1024, totalBytes: kib("MemTotal") * 1024 };
}
