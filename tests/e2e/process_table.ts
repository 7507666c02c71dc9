/**
 * Reads the Linux process table (/proc) so end-to-end tests can check which child processes a
 * node started and that they are gone after it stopped them.
 * @module
 */

export interface ProcessEntry {
  pid: number;
  /** The command line; a program started by name shows its resolved path ("/usr/bin/sleep"). */
  argv: string[];
}

/** The live processes whose parent is `parentPid` (zombies excluded). */
export async function childProcesses(parentPid: number): Promise<ProcessEntry[]> {
  const found: ProcessEntry[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const pid = Number(entry.name);
    const stat = await readStat(pid);
    if (stat === null || stat.ppid !== parentPid || stat.state === "Z") continue;
    const cmdline = await readOrNull(`/proc/${pid}/cmdline`);
    if (cmdline !== null) found.push({ pid, argv: cmdline.split("\0").slice(0, -1) });
  }
  return found;
}

/** True while `pid` exists and is not a zombie (a zombie has exited; only its entry is left). */
export async function isRunning(pid: number): Promise<boolean> {
  const stat = await readStat(pid);
  return stat !== null && stat.state !== "Z";
}

async function readStat(pid: number): Promise<{ state: string; ppid: number } | null> {
  const stat = await readOrNull(`/proc/${pid}/stat`);
  if (stat === null) return null;
  // "pid (comm) state ppid ...": comm may contain spaces and parentheses, so split after the last ")".
  const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { state, ppid: Number(ppid) };
}

async function readOrNull(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    // The process ended between listing /proc and reading its files.
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}
