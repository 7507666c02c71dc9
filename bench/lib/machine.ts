/**
 * Describes the machine and build a benchmark ran on, for the results file: numbers from a
 * 2-core VM and from a 64-core server are not comparable without this.
 * @module
 */
import { REPO_ROOT } from "../../scripts/lib/managed_process.ts";
import { readMachineCpu } from "./proc_stats.ts";

/** The machine, runtime and source revision of a run. */
export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryTotalBytes: number;
  kernel: string;
  deno: string;
  v8: string;
  typescript: string;
  /** Commit of the measured source, and whether the work tree differed from it. */
  commit: string | null;
  dirty: boolean | null;
}

/** Reads /proc and asks git (read-only) which commit is being measured. */
export async function describeMachine(): Promise<MachineInfo> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo");
  const models = [...cpuinfo.matchAll(/^model name\s*:\s*(.+)$/gm)].map((m) => m[1].trim());
  const meminfo = await Deno.readTextFile("/proc/meminfo");
  const memKiB = Number(/^MemTotal:\s+(\d+) kB$/m.exec(meminfo)?.[1] ?? 0);
  const kernel = (await Deno.readTextFile("/proc/sys/kernel/osrelease")).trim();
  const git = await gitState();
  return {
    cores: navigator.hardwareConcurrency,
    cpuModel: models[0] ?? "unknown",
    memoryTotalBytes: memKiB * 1024,
    kernel,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    ...git,
  };
}

async function gitState(): Promise<{ commit: string | null; dirty: boolean | null }> {
  // A copy of the tree without .git (e.g. from `git archive`) can say what it is.
  const fromEnv = Deno.env.get("MUTIRAO_SOURCE_COMMIT");
  if (fromEnv) return { commit: fromEnv, dirty: false };
  const run = async (args: string[]) => {
    try {
      const out = await new Deno.Command("git", { args, cwd: REPO_ROOT, stderr: "null" }).output();
      return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
    } catch {
      return null; // git is not installed: the commit is simply unknown
    }
  };
  const commit = await run(["rev-parse", "HEAD"]);
  const status = commit === null
    ? null
    : await run(["status", "--porcelain", "--untracked-files=no"]);
  return { commit, dirty: status === null ? null : status !== "" };
}

async function loadAverage(): Promise<number> {
  return Number((await Deno.readTextFile("/proc/loadavg")).split(" ")[0]);
}

/**
 * How busy the machine was between `start()` and `finish()`: all cores' busy share and the
 * 1-minute load average. On a shared machine, a scenario that ran next to someone else's test
 * suite says so in its record.
 */
export class MachineLoad {
  private constructor(
    readonly cpu: { busy: number; total: number },
    readonly loadAverageAtStart: number,
  ) {}

  static async start(): Promise<MachineLoad> {
    return new MachineLoad(await readMachineCpu(), await loadAverage());
  }

  async finish(): Promise<
    { busyPercent: number; loadAverageAtStart: number; loadAverageAtEnd: number }
  > {
    const now = await readMachineCpu();
    const busy = now.busy - this.cpu.busy;
    const total = Math.max(1, now.total - this.cpu.total);
    return {
      busyPercent: Math.round((100 * busy) / total),
      loadAverageAtStart: this.loadAverageAtStart,
      loadAverageAtEnd: await loadAverage(),
    };
  }
}
