/**
 * Human-readable output of the CLI. `--json` output does not come through
 * here: it is the reply data as is. Text that other users control (names,
 * descriptions, output, errors) is made terminal-safe here: another user's
 * task must not drive an admin's terminal.
 * @module
 */
import { LIMITS } from "../../shared/limits.ts";
import { terminalSafe } from "../../shared/terminal_safe.ts";
import type {
  NodeStatusView,
  ScheduleView,
  TaskSummary,
  TaskView,
  WorkerView,
} from "../../shared/protocol/messages.ts";

/** One orchestrator in the `cluster` view. */
export type ClusterRow =
  & Omit<NodeStatusView, "role">
  & {
    role: NodeStatusView["role"] | "unreachable";
    address: string;
    /** How far its applied state is behind the leader's commit index (null without a leader). */
    lag: number | null;
    error: string | null;
  };

export function unreachableRow(id: string, address: string, error: string): ClusterRow {
  return {
    id,
    address,
    role: "unreachable",
    term: 0,
    leaderId: null,
    commitIndex: 0,
    appliedIndex: 0,
    lastIndex: 0,
    followers: [],
    droppedDatagrams: { malformed: 0, forged: 0, stale: 0, replayed: 0 },
    lag: null,
    error,
  };
}

export function formatCluster(rows: readonly ClusterRow[], leaderId: string | null): string {
  const lines = table(
    ["ORCHESTRATOR", "ADDRESS", "ROLE", "TERM", "COMMIT", "APPLIED", "LAG", "DISK"],
    rows.map((r) =>
      r.role === "unreachable" ? [r.id, r.address, "unreachable", "-", "-", "-", "-", "-"] : [
        r.id,
        r.address,
        r.role === "leader"
          ? "leader (primary)"
          : r.role === "follower"
          ? "follower (backup)"
          : r.role,
        String(r.term),
        String(r.commitIndex),
        String(r.appliedIndex),
        r.lag === null ? "-" : String(r.lag),
        r.disk === undefined ? "-" : formatDiskUse(r.disk),
      ]
    ),
  );
  const summary = leaderId === null
    ? "No leader: the cluster cannot accept writes (an election is running, or fewer than a majority are up)."
    : `Leader: ${leaderId}.`;
  return `${lines}\n${summary}`;
}

/** `12.3 MiB (snapshots 10.1 MiB, log 2.2 MiB)`. */
export function formatDiskUse(disk: { snapshotBytes: number; logBytes: number }): string {
  const { snapshotBytes, logBytes } = disk;
  return `${formatBytes(snapshotBytes + logBytes)} (snapshots ${formatBytes(snapshotBytes)}, ` +
    `log ${formatBytes(logBytes)})`;
}

/** Bytes in B, KiB, MiB or GiB, one decimal above bytes. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function formatTime(ms: number | null): string {
  return ms === null ? "-" : new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

export function describeSpec(task: Pick<TaskView, "spec">): string {
  const spec = task.spec;
  const limit = spec.timeoutMs === undefined ? "" : ` (time limit ${spec.timeoutMs / 1000} s)`;
  switch (spec.kind) {
    case "sleep":
      return `sleep ${spec.durationMs / 1000} s${limit}`;
    case "exec":
      return `exec ${JSON.stringify(spec.argv)}${limit}`;
    case "handler":
      return `${spec.handler} (handler, payload ${formatBytes(spec.payload.length)})${limit}`;
  }
}

export function formatTask(task: TaskView): string {
  const lines = [
    `Task ${task.id}: ${task.state}`,
    `  description: ${terminalSafe(task.spec.description)}`,
    `  kind:        ${terminalSafe(describeSpec(task))}`,
    `  worker:      ${terminalSafe(task.workerId ?? "-")}`,
    `  attempt:     ${task.attempt}${
      task.retry === undefined
        ? ` of ${task.maxAttempts}`
        : ` (retries used ${
          task.retried ?? 0
        } of ${task.retry.retries}; ${task.maxAttempts} for lost workers)`
    }`,
    `  submitted:   ${formatTime(task.submittedAtMs)}`,
    `  finished:    ${formatTime(task.finishedAtMs)}`,
  ];
  if (task.waitingReason !== null) {
    lines.push(`  waiting:     ${terminalSafe(task.waitingReason)}`);
  }
  if (task.result !== null) {
    const r = task.result;
    lines.push(`  exit code:   ${r.exitCode ?? "-"}`);
    if (r.error !== null) lines.push(`  error:       ${terminalSafe(r.error)}`);
    if (r.value !== undefined) lines.push(...outputLines("result", r.value, false));
    lines.push(...outputLines("stdout", r.stdout, r.stdoutTruncated === true));
    lines.push(...outputLines("stderr", r.stderr, r.stderrTruncated === true));
  }
  lines.push("History (Lamport order):");
  for (const e of task.history) {
    const where = e.workerId === null || e.node === e.workerId
      ? ""
      : e.event === "assigned"
      ? ` -> ${e.workerId}`
      : ` (worker ${e.workerId})`;
    const detail = e.detail !== null ? ` (${e.detail})` : "";
    lines.push(
      terminalSafe(
        `  L${String(e.lamport).padEnd(6)} ${e.node.padEnd(18)} ${
          e.event.padEnd(9)
        } attempt ${e.attempt}${where}${detail}`,
      ),
    );
  }
  return lines.join("\n");
}

/** Lines showing one output stream, saying so when the worker kept only its tail. */
function outputLines(name: string, text: string, isTruncated: boolean): string[] {
  if (text === "") return [];
  if (!isTruncated) return [`  ${`${name}:`.padEnd(13)}${indentTail(text)}`];
  const kib = LIMITS.outputTailBytes / 1024;
  return [`  ${name} (truncated: last ${kib} KiB shown):`, `               ${indentTail(text)}`];
}

function indentTail(text: string): string {
  const trimmed = text.replace(/\n$/, "");
  const lines = trimmed.split("\n");
  const shown = lines.length > 20 ? ["…", ...lines.slice(-20)] : lines;
  return shown.map(terminalSafe).join("\n               ");
}

/** Where a list page stands among every matching task (from orchestrators that say). */
export interface ListPage {
  /** Every matching task, on any page. */
  total: number;
  /** The cursor of the next page, or null on the last one. */
  next: string | null;
  /** The command that listed this page, to which the next page's `--after` is added. */
  command: string;
}

export function formatTaskList(tasks: readonly TaskSummary[], page?: ListPage): string {
  if (tasks.length === 0) {
    return page === undefined || page.total === 0
      ? "No tasks."
      : `No tasks on this page (${page.total} match in all).`;
  }
  const rows = _taskTable(tasks);
  if (page === undefined) return rows;
  const shown = `Showing ${tasks.length} of ${page.total} task${page.total === 1 ? "" : "s"}`;
  return page.next === null
    ? `${rows}\n${shown}${page.total > tasks.length ? " (the last page)" : ""}.`
    : `${rows}\n${shown}; next page: ${page.command} --after ${page.next}`;
}

function _taskTable(tasks: readonly TaskSummary[]): string {
  return table(
    ["ID", "OWNER", "STATE", "KIND", "ATTEMPT", "WORKER", "SUBMITTED", "DESCRIPTION"],
    tasks.map((t) => [
      t.id,
      t.owner,
      t.state,
      t.kind,
      String(t.attempt),
      t.workerId ?? "-",
      formatTime(t.submittedAtMs),
      t.description.length > 40 ? `${t.description.slice(0, 39)}…` : t.description,
    ]),
  );
}

export function formatWorkers(workers: readonly WorkerView[]): string {
  if (workers.length === 0) return "No live workers.";
  return table(
    ["WORKER", "STATUS", "RUNNING", "SLOTS", "EXEC", "LAST HEARTBEAT", "COMPLETED"],
    workers.map((w) => [
      w.id,
      w.status,
      String(w.running),
      String(w.slots),
      !w.canExec ? "no" : w.execAllow === null ? "yes" : w.execAllow.join(","),
      w.lastHeartbeatAgoMs === null ? "-" : `${w.lastHeartbeatAgoMs} ms ago`,
      String(w.completed),
    ]),
  );
}

export function formatSchedules(schedules: readonly ScheduleView[], all: boolean): string {
  if (schedules.length === 0) return "No schedules.";
  return table(
    [
      ...(all ? ["OWNER"] : []),
      "NAME",
      "CRON",
      "TASK",
      "NEXT TICK",
      "LAST FIRED",
      "LAST TASK",
      "PAUSED",
      "FIRED",
      "MISSED",
    ],
    schedules.map((s) => [
      ...(all ? [s.owner] : []),
      s.name,
      s.timezone === null ? s.cron : `${s.cron} (${s.timezone})`,
      describeSpec(s.task),
      formatTime(s.nextTickMs),
      formatTime(s.lastTickMs),
      s.lastTaskId ?? "-",
      s.paused ? "yes" : "no",
      String(s.fired),
      String(s.missedTicks),
    ]),
  );
}

export function formatUsers(
  users: ReadonlyArray<{ name: string; role: string; createdAtMs: number; sessions: number }>,
): string {
  return table(
    ["USER", "ROLE", "CREATED", "SESSIONS"],
    users.map((u) => [u.name, u.role, formatTime(u.createdAtMs), String(u.sessions)]),
  );
}

export function formatTokens(
  tokens: ReadonlyArray<{ id: string; user: string; issuedAtMs: number; expiresAtMs: number }>,
): string {
  if (tokens.length === 0) return "No live sessions.";
  return table(
    ["TOKEN ID", "USER", "ISSUED", "EXPIRES"],
    tokens.map((t) => [t.id, t.user, formatTime(t.issuedAtMs), formatTime(t.expiresAtMs)]),
  );
}

function table(header: string[], unsafeRows: string[][]): string {
  const rows = unsafeRows.map((row) => row.map(terminalSafe));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}
