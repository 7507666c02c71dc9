/**
 * Everything `deno task demo` says about its nodes, as pure functions of their state: the report
 * when one dies, the `status` table, and the guide printed once the cluster is up. Kept apart
 * from the processes so each sentence has a unit test.
 * @module
 */

export type DemoRole = "orchestrator" | "worker";

/** How a node's process ended: Deno's `CommandStatus` fields that matter here. */
export interface DemoExit {
  code: number;
  signal: string | null;
}

/** One node as the demo sees it. */
export interface DemoNodeView {
  /** The demo name: the cluster file's id for an orchestrator (`o1`), `w1`, `w2`, … for workers. */
  name: string;
  role: DemoRole;
  state: "starting" | "running" | "paused" | "stopping" | "exited";
  /** The PID of the current (or last) process; null before the first start. */
  pid: number | null;
  /** HOST:PORT once known (a worker started on port 0 learns it when it registers). */
  address: string | null;
  /** How the last process ended; null while it runs. */
  lastExit: DemoExit | null;
}

/** Why a node's process ended, as far as the demo knows. */
export type ExitCause = "kill" | "stop" | "unexpected";

/** What the demo knows about a process that ended. */
export interface ExitFacts {
  exit: DemoExit;
  cause: ExitCause;
  /** The process's last output line, quoted when it exited with an error code. */
  lastLine?: string;
  /** What the cluster has lost with it (availabilityNote); null when it carries on. */
  consequence: string | null;
}

/**
 * The one report printed when a node's process ends, e.g.
 * "worker w2 died (SIGKILL); the cluster carries on; `r w2` restarts it".
 */
export function describeExit(
  node: Pick<DemoNodeView, "name" | "role">,
  options: ExitFacts,
): string {
  const { exit, cause } = options;
  const who = `${node.role} ${node.name}`;
  let what: string;
  if (exit.signal !== null) {
    what = `${who} died (${exit.signal})`;
  } else if (cause === "stop" && exit.code === 0) {
    what = `${who} stopped`;
  } else if (exit.code === 0) {
    what = `${who} exited (code 0)`;
  } else {
    const said = options.lastLine === undefined || options.lastLine.trim() === ""
      ? ""
      : `: ${options.lastLine.trim()}`;
    what = `${who} exited with code ${exit.code}${said}`;
  }
  const consequence = options.consequence ?? "the cluster carries on";
  return `${what}; ${consequence}; \`r ${node.name}\` restarts it`;
}

/**
 * What the loss of nodes means for the cluster (a clause, lower case), or null when nothing is at
 * risk: an orchestrator majority is needed for any write, and tasks need a worker. A paused
 * orchestrator counts as lost: it answers nothing.
 */
export function availabilityNote(nodes: readonly DemoNodeView[]): string | null {
  const orchestrators = nodes.filter((n) => n.role === "orchestrator");
  const up = orchestrators.filter((n) => n.state === "running").length;
  const paused = orchestrators.filter((n) => n.state === "paused").length;
  const majority = Math.floor(orchestrators.length / 2) + 1;
  if (up < majority) {
    const pausedNote = paused === 0 ? "" : `, ${paused} paused`;
    return `only ${up} of ${orchestrators.length} orchestrators run${pausedNote} ` +
      `(a majority is ${majority}): no quorum, so the cluster refuses writes until one is back`;
  }
  const workers = nodes.filter((n) => n.role === "worker");
  if (workers.length > 0 && workers.every((n) => n.state !== "running")) {
    return "no worker runs: new and requeued tasks wait until one is back";
  }
  return null;
}

/** The `status` table: every node with its state, PID and address, and what to type next. */
export function formatStatus(nodes: readonly DemoNodeView[]): string {
  const rows = nodes.map((n) => [
    n.name,
    n.role,
    n.state === "exited" ? exitWord(n.lastExit) : n.state,
    n.pid === null ? "-" : String(n.pid),
    n.address ?? "-",
    nextStep(n),
  ]);
  const header = ["node", "role", "state", "pid", "address", ""];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  const note = availabilityNote(nodes);
  return [line(header), ...rows.map(line), ...(note === null ? [] : [capitalize(note)])].join(
    "\n",
  );
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function exitWord(exit: DemoExit | null): string {
  if (exit === null) return "exited";
  if (exit.signal !== null) return `died (${exit.signal})`;
  return exit.code === 0 ? "stopped" : `exited (code ${exit.code})`;
}

function nextStep(node: DemoNodeView): string {
  switch (node.state) {
    case "paused":
      return `\`resume ${node.name}\` thaws it`;
    case "exited":
      return `\`r ${node.name}\` restarts it`;
    case "starting":
      return "waiting until it is ready";
    case "stopping":
      return "waiting until it exits";
    case "running":
      return "";
  }
}

/** What the guide needs to know about the cluster and the demo's nodes. */
export interface GuideOptions {
  /** `--config PATH` for the client hints, or "" for the default cluster file. */
  configFlag: string;
  /** The first account name to log in with, and its password when the demo file makes it public. */
  user: { name: string; demoPassword: string | null } | null;
  orchestrators: readonly string[];
  workers: readonly string[];
  /** The leader's election timeout range, to say how soon a frozen leader is replaced. */
  electionTimeoutMs: { min: number; max: number };
}

/**
 * The text printed once the cluster is up: what to run in another terminal and how to play both
 * failure scenarios here. The login is shown in its prompt form: `deno task` echoes its command
 * line, so a password typed after `login user1` would land on screen and in the shell history.
 */
export function demoGuide(options: GuideOptions): string {
  const client = `deno task client${options.configFlag}`;
  const o = options.orchestrators[0] ?? "o1";
  const w = options.workers[0] ?? "w1";
  const { min, max } = options.electionTimeoutMs;
  const user = options.user;
  const login = user === null
    ? `${client} login USER    # then type the password at the prompt`
    : user.demoPassword === null
    ? `${client} login ${user.name}    # then type its password at the prompt`
    : `${client} login ${user.name}    # then type ${user.demoPassword} at the prompt (demo account)`;
  return `In another terminal:
  ${login}
  ${client} submit "Processar relatório financeiro" -d 15
  ${client} status t-1
  ${client} submit --kind add --payload '{"a":2,"b":3}' --wait    # examples/handlers.ts
  ${client} result t-2
  ${client} list
  ${client} workers
  ${client} cluster     # who is primary (leader) and who are backups

Failure scenarios: type these commands here (help lists them all).
  1. A worker dies. Submit a task with -d 20 and find its worker with \`status t-1\`; then
     \`kill ${w}\` (or the worker it names). The leader notices the missing heartbeats, logs
     "Worker … lost", and runs the task again elsewhere: \`status t-1\` shows attempt 2.
     \`stop ${w}\` is the graceful version: the worker hands its task back first. \`r ${w}\`
     brings it back, registered under the same name.
  2. The primary dies. Find the leader with \`cluster\`, then \`kill ${o}\` (its id): a backup
     takes over in about a second and logs "Leading term N"; \`cluster\` shows the new leader
     and \`restart ${o}\` brings the old one back as a follower. \`pause ${o}\` freezes it
     instead (SIGSTOP: its connections stay open, so the others notice only its silence, after
     ${min}-${max} ms); \`resume ${o}\` thaws it, and a leader replaced meanwhile steps down.
     Kill two orchestrators and the cluster refuses writes (no quorum) until one is back.
\`status\` shows every node and its PID; \`quit\` or Ctrl-C stops everything and removes the data.`;
}
