/**
 * Summarizes a V8 CPU profile written by `deno run --cpu-prof`: how much of the wall time the
 * process was busy, and the functions with the most self and inclusive time. Used to find what
 * limits a benchmark (bench/README in docs/performance.md shows how to profile a node).
 *
 *   deno run --allow-read bench/tools/profile_summary.ts FILE.cpuprofile [--top N] [--filter TEXT]
 * @module
 */
import { parseArgs } from "node:util";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

/** The parts of a .cpuprofile this tool reads. */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Time per function, in milliseconds. */
export interface FunctionTime {
  name: string;
  selfMs: number;
  totalMs: number;
}

/** Busy/idle split and per-function times of a profile. */
export interface ProfileSummary {
  wallMs: number;
  idleMs: number;
  gcMs: number;
  functions: FunctionTime[];
}

const SPECIAL_IDLE = "(idle)";
const SPECIAL_GC = "(garbage collector)";

function label(frame: CallFrame): string {
  const file = frame.url.replace(
    /^file:\/\/.*?\/(orchestrator|worker|shared|client|bench|scripts)\//,
    "$1/",
  )
    .replace(/^.*node_modules\/\.deno\//, "npm:");
  const name = frame.functionName === "" ? "(anonymous)" : frame.functionName;
  return file === "" ? name : `${name} ${file}:${frame.lineNumber + 1}`;
}

/** Aggregates a profile's samples by function (same name and source line). */
export function summarizeProfile(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    // timeDeltas[i] is the time since the previous sample; attribute it to this sample.
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let idleUs = 0;
  let gcUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const name = label(node.callFrame);
    if (node.callFrame.functionName === SPECIAL_IDLE) idleUs += us;
    if (node.callFrame.functionName === SPECIAL_GC) gcUs += us;
    self.set(name, (self.get(name) ?? 0) + us);
    // Inclusive: each function on the stack once (recursion must not count twice).
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = label(byId.get(cur)!.callFrame);
      if (seen.has(n)) continue;
      seen.add(n);
      total.set(n, (total.get(n) ?? 0) + us);
    }
  }
  const functions = [...self.keys()].concat([...total.keys()].filter((k) => !self.has(k)))
    .map((name) => ({
      name,
      selfMs: (self.get(name) ?? 0) / 1000,
      totalMs: (total.get(name) ?? 0) / 1000,
    }));
  return {
    wallMs: (profile.endTime - profile.startTime) / 1000,
    idleMs: idleUs / 1000,
    gcMs: gcUs / 1000,
    functions,
  };
}

function table(rows: FunctionTime[], key: "selfMs" | "totalMs", wallMs: number): string {
  return rows.map((f) =>
    `  ${f[key].toFixed(0).padStart(7)} ms ${
      (100 * f[key] / wallMs).toFixed(1).padStart(5)
    }%  ${f.name}`
  ).join("\n");
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: { top: { type: "string", default: "25" }, filter: { type: "string" } },
    allowPositionals: true,
  });
  const top = Number(values.top);
  for (const path of positionals) {
    const s = summarizeProfile(JSON.parse(await Deno.readTextFile(path)) as CpuProfile);
    const busy = s.wallMs - s.idleMs;
    const keep = (f: FunctionTime) => values.filter === undefined || f.name.includes(values.filter);
    const bySelf = s.functions.filter(keep).sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
    const byTotal = s.functions.filter((f) => keep(f) && !f.name.startsWith("("))
      .sort((a, b) => b.totalMs - a.totalMs).slice(0, top);
    console.log(
      `${path}
  wall ${s.wallMs.toFixed(0)} ms, busy ${busy.toFixed(0)} ms (${
        (100 * busy / s.wallMs).toFixed(0)
      }%), ` +
        `GC ${s.gcMs.toFixed(0)} ms
 self time:
${table(bySelf, "selfMs", s.wallMs)}
 inclusive time:
${table(byTotal, "totalMs", s.wallMs)}
`,
    );
  }
}
