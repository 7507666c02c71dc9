/**
 * The end-of-run linearizability check of what clients were told: the
 * recorded history (client_history.ts) is projected onto one sub-history per
 * task and per user account (P-compositionality), and each is checked against
 * its sequential model (history_models.ts). A sub-history that fails is
 * checked again without the answers of deposed leaders and with the accounts
 * the system re-created on its own: if that passes, the failure is one of
 * those known bugs (counted, or a violation under `--strict`).
 * @module
 */
import { hashToken } from "../../shared/auth/mod.ts";
import type { TaskState } from "../../shared/protocol/messages.ts";
import { historyOf, type RecordedOp } from "./client_history.ts";
import {
  type AccountInput,
  accountModel,
  type AccountOutput,
  type TaskInput,
  taskModel,
  type TaskOutput,
} from "./history_models.ts";
import type { KnownBugId } from "./known_bugs.ts";
import { checkOperations, type Model, type Operation, type Verdict } from "./linearizability.ts";
import { SimViolation } from "./violation.ts";
import type { World } from "./world.ts";

/** A projected operation, and where it came from. */
interface Projected<I, O> extends Operation<I, O> {
  isStaleAnswer: boolean;
  isSynthetic: boolean;
  /** About a session opened after its revocation (known bug sessionOutlivesRevocation). */
  isLateSession: boolean;
}

interface Partition<S, I, O> {
  ops: Array<Projected<I, O>>;
  model: Model<S, I, O>;
}

/** What the check found: keys checked, and those it could not decide. */
export interface HistoryReport {
  keys: number;
  operations: number;
  inconclusive: string[];
}

/** Token ids in `token list` (a prefix of the token's hash); see account_requests.ts. */
const TOKEN_ID_CHARS = 12;

/**
 * Checks the run's client history.
 * @throws {SimViolation} for a sub-history that is not linearizable (and not a tolerated known bug).
 */
export function checkHistory(world: World): HistoryReport {
  const history = historyOf(world);
  const report: HistoryReport = { keys: 0, operations: 0, inconclusive: [] };
  const checkAll = <I, O>(partitions: Map<string, Partition<unknown, I, O>>) => {
    for (const [key, partition] of partitions) {
      report.keys += 1;
      report.operations += partition.ops.length;
      const verdict = judge(world, key, partition);
      if (verdict !== null) report.inconclusive.push(verdict);
    }
  };
  checkAll(projectTasks(history.ops));
  checkAll(projectAccounts(world, history.ops));
  world.note(
    `history: ${report.keys} keys, ${report.operations} operations linearizable` +
      (report.inconclusive.length > 0 ? `; inconclusive: ${report.inconclusive.join("; ")}` : ""),
  );
  return report;
}

/** Checks one key; returns why it was inconclusive, or null. */
function judge<S, I, O>(world: World, key: string, p: Partition<S, I, O>): string | null {
  const genuine = p.ops.filter((op) => !op.isSynthetic);
  const verdict = checkOperations(genuine, p.model, { key });
  if (verdict.result === "ok") return null;
  if (verdict.result === "inconclusive") return `${key}: ${verdict.reason}`;
  // Which known bugs explain it: without deposed leaders' answers, with re-created accounts.
  const excuses: Array<{ ids: KnownBugId[]; ops: Array<Projected<I, O>> }> = [
    {
      ids: ["sessionOutlivesRevocation"],
      ops: genuine.filter((op) => !op.isLateSession),
    },
    { ids: ["staleLeaderRefusal"], ops: genuine.filter((op) => !op.isStaleAnswer) },
    { ids: ["bootstrapAccountResurrected"], ops: p.ops },
    {
      ids: ["staleLeaderRefusal", "bootstrapAccountResurrected"],
      ops: p.ops.filter((op) => !op.isStaleAnswer),
    },
  ];
  for (const excuse of excuses) {
    const excusesNothing = excuse.ops.length === genuine.length;
    if (excusesNothing && excuse.ops.every((op) => !op.isSynthetic)) {
      continue; // nothing excused
    }
    if (checkOperations(excuse.ops, p.model, { key }).result !== "ok") continue;
    for (const id of excuse.ids) world.knownBug(id, `${describeViolation(key, verdict)}`);
    return null;
  }
  throw new SimViolation(describeViolation(key, verdict));
}

function describeViolation(key: string, verdict: Verdict): string {
  if (verdict.result !== "violation") return `${key}: ${verdict.result}`;
  return `the history of ${key} is not linearizable; linearized up to:\n    ` +
    verdict.longestPrefix.slice(-6).join("\n    ") + "\n  then none of:\n    " +
    verdict.unplaced.join("\n    ");
}

function projected<I, O>(
  op: RecordedOp,
  input: I,
  output: O | null,
  label = `${op.client} ${op.body.type}`,
): Projected<I, O> {
  return {
    input,
    output,
    callMs: op.callMs,
    returnMs: output === null ? null : op.returnMs,
    label: op.isStaleAnswer ? `${label} (deposed leader)` : label,
    isStaleAnswer: op.isStaleAnswer,
    isSynthetic: op.isSynthetic,
    isLateSession: false,
  };
}

/** The error code a finished request got, "" for success, null when indeterminate. */
/**
 * True when the request may or may not have taken effect: no answer, or a refusal after retries
 * (an earlier attempt may have been applied even though its reply was lost, e.g. a submission
 * acknowledged just before a partition, then retried until the session was revoked).
 */
function isIndeterminate(op: RecordedOp): boolean {
  const r = op.result;
  return r === null || (!r.ok && (r.code === null || r.isRetry === true));
}

function codeOf(op: RecordedOp): string | null {
  const r = op.result;
  if (r === null) return null;
  if (r.ok) return "";
  return r.code;
}

// ---- tasks ----

type TaskPartition = Partition<unknown, TaskInput, TaskOutput>;

function projectTasks(ops: readonly RecordedOp[]): Map<string, TaskPartition> {
  // Which task each key became, and each owner's tasks (for `list`).
  const taskOfKey = new Map<string, string>();
  const tasksOf = new Map<string, Set<string>>();
  const ownerKey = (op: RecordedOp, key: string) => `${op.user}\0${key}`;
  for (const op of ops) {
    const r = op.result;
    if (r === null || !r.ok) continue;
    const found: Array<[string, string]> = [];
    if (r.reply.type === "submitOk") found.push([op.body.idempotencyKey as string, r.reply.taskId]);
    if (r.reply.type === "submitBatchOk") {
      const items = op.body.tasks as Array<{ idempotencyKey: string }>;
      r.reply.results.forEach((x, i) => found.push([items[i].idempotencyKey, x.taskId]));
    }
    for (const [key, taskId] of found) {
      taskOfKey.set(ownerKey(op, key), taskId);
      const owned = tasksOf.get(op.user) ?? new Set();
      owned.add(taskId);
      tasksOf.set(op.user, owned);
    }
  }
  const partitions = new Map<string, TaskPartition>();
  const add = (
    taskId: string | undefined,
    from: RecordedOp,
    input: TaskInput,
    output: TaskOutput | null,
  ) => {
    if (taskId === undefined) return;
    const op = projected(from, input, output);
    let p = partitions.get(`task ${taskId}`);
    if (p === undefined) {
      p = { ops: [], model: taskModel as Model<unknown, TaskInput, TaskOutput> };
      partitions.set(`task ${taskId}`, p);
    }
    p.ops.push(op);
  };
  for (const op of ops) {
    const code = codeOf(op);
    if (op.isSynthetic) continue;
    const r = op.result;
    const reply = r !== null && r.ok ? r.reply : null;
    switch (op.body.type) {
      case "submit": {
        const taskId = taskOfKey.get(ownerKey(op, op.body.idempotencyKey as string));
        if (isIndeterminate(op)) add(taskId, op, { kind: "submit" }, null);
        if (reply?.type === "submitOk") {
          add(taskId, op, { kind: "submit" }, { duplicate: reply.duplicate });
        }
        break;
      }
      case "submitBatch": {
        const items = op.body.tasks as Array<{ idempotencyKey: string }>;
        items.forEach((item, i) => {
          const taskId = taskOfKey.get(ownerKey(op, item.idempotencyKey));
          if (isIndeterminate(op)) add(taskId, op, { kind: "submit" }, null);
          if (reply?.type === "submitBatchOk") {
            add(taskId, op, { kind: "submit" }, { duplicate: reply.results[i].duplicate });
          }
        });
        break;
      }
      case "status":
      case "wait":
      case "cancel": {
        const kind = op.body.type === "cancel" ? "cancel" : "read";
        const taskId = op.body.taskId as string;
        if (code === null) {
          if (kind === "cancel") add(taskId, op, { kind }, null);
        } else if (reply?.type === "task") {
          add(taskId, op, { kind }, { state: reply.task.state });
        } else if (code === "not_found") {
          add(taskId, op, { kind }, { notFound: true });
        } else if (code === "expired") {
          add(taskId, op, { kind }, { expired: true });
        } else if (code === "conflict" && r !== null && !r.ok) {
          const state = /already (\w+)/.exec(r.message)?.[1] as TaskState | undefined;
          if (state !== undefined) add(taskId, op, { kind }, { state });
        }
        break;
      }
      case "list": {
        if (reply?.type !== "taskList" || reply.tasks.length >= (op.body.limit as number)) break;
        const listed = new Set(reply.tasks.map((t) => t.id));
        for (const taskId of tasksOf.get(op.user) ?? []) {
          add(taskId, op, { kind: "list" }, { listed: listed.has(taskId) });
        }
        break;
      }
    }
  }
  return partitions;
}

// ---- accounts ----

type AccountPartition = Partition<unknown, AccountInput, AccountOutput>;

const ACCOUNT_REQUESTS = new Set([
  "userAdd",
  "userPasswd",
  "userRemove",
  "userList",
  "tokenList",
  "tokenRevoke",
]);

function projectAccounts(world: World, ops: readonly RecordedOp[]): Map<string, AccountPartition> {
  const history = historyOf(world);
  // Every session token a client learned, with its user and when the login was sent.
  const tokens: Array<{ token: string; user: string; id: string; sinceMs: number }> = [];
  for (const op of ops) {
    const r = op.result;
    if (op.body.type === "login" && r !== null && r.ok && r.reply.type === "loginOk") {
      tokens.push({
        token: r.reply.token,
        user: op.body.user as string,
        id: hashToken(r.reply.token).slice(0, TOKEN_ID_CHARS),
        sinceMs: op.callMs,
      });
    }
  }
  const partitions = new Map<string, AccountPartition>();
  const add = (
    user: string,
    from: RecordedOp,
    input: AccountInput,
    output: AccountOutput | null,
    label?: string,
  ) => {
    const op = projected(from, input, output, label);
    const token = "token" in input
      ? input.token
      : output !== null && "token" in output
      ? output.token
      : undefined;
    op.isLateSession = token !== undefined && history.lateSessions.has(hashToken(token));
    const password = history.bootstrapPasswords.get(user);
    if (password === undefined) return; // an account the workload never uses
    let p = partitions.get(`account ${user}`);
    if (p === undefined) {
      p = { ops: [], model: accountModel(password) as Model<unknown, AccountInput, AccountOutput> };
      partitions.set(`account ${user}`, p);
    }
    p.ops.push(op);
  };
  // A refusal after a retry may mean that an earlier attempt did it: the outcome is unknown.
  const outcome = (code: string | null, op: RecordedOp): AccountOutput | null =>
    code === null || (code !== "" && op.result?.isRetry === true)
      ? null
      : code === ""
      ? { done: true }
      : { refused: true };
  for (const op of ops) {
    const code = codeOf(op);
    const r = op.result;
    const type = op.body.type;
    if (type === "login") {
      // Throttled or indeterminate logins tell nothing about the account.
      const password = op.body.password as string;
      if (r !== null && r.ok && r.reply.type === "loginOk") {
        add(op.body.user as string, op, { kind: "login", password }, {
          done: true,
          token: r.reply.token,
        });
      } else if (code === "bad_credentials") {
        add(op.body.user as string, op, { kind: "login", password }, { refused: true });
      }
      continue;
    }
    if (op.isSynthetic) {
      const input: AccountInput = { kind: "add", password: op.body.password as string };
      add(op.user, op, input, { done: true }, "the bootstrap configuration re-creates it");
      continue;
    }
    // The session that sent it: accepted unless the answer was "unauthenticated".
    const token = op.token!;
    if (type === "logout") {
      add(op.user, op, { kind: "logout", token }, outcome(code, op));
      continue;
    }
    if (code !== null) {
      add(
        op.user,
        op,
        { kind: "auth", token },
        code === "unauthenticated" ? { refused: true } : { done: true },
      );
    }
    if (!ACCOUNT_REQUESTS.has(type) || code === "unauthenticated" || code === "forbidden") {
      continue;
    }
    projectAccountRequest(op, code, tokens, [...history.bootstrapPasswords.keys()], add, outcome);
  }
  return partitions;
}

function projectAccountRequest(
  op: RecordedOp,
  code: string | null,
  tokens: ReadonlyArray<{ token: string; user: string; id: string; sinceMs: number }>,
  users: readonly string[],
  add: (user: string, from: RecordedOp, input: AccountInput, output: AccountOutput | null) => void,
  outcome: (code: string | null, op: RecordedOp) => AccountOutput | null,
): void {
  const r = op.result;
  const reply = r !== null && r.ok ? r.reply : null;
  const name = op.body.name as string;
  switch (op.body.type) {
    case "userPasswd":
      add(name, op, { kind: "passwd", password: op.body.password as string }, outcome(code, op));
      return;
    case "userRemove":
      add(name, op, { kind: "remove" }, outcome(code, op));
      return;
    case "userAdd":
      add(name, op, { kind: "add", password: op.body.password as string }, outcome(code, op));
      return;
    case "tokenRevoke": {
      const target = tokens.find((t) => t.id === op.body.tokenId);
      if (target !== undefined) {
        add(target.user, op, { kind: "revoke", token: target.token }, outcome(code, op));
      }
      return;
    }
    case "tokenList": {
      if (reply?.type !== "tokenList") return;
      const listed = new Set(reply.tokens.map((t) => t.id));
      for (const t of tokens) {
        if (t.sinceMs > op.returnMs!) continue;
        add(t.user, op, { kind: "tokenListed", token: t.token }, { listed: listed.has(t.id) });
      }
      return;
    }
    case "userList": {
      if (reply?.type !== "userList") return;
      const listed = new Set(reply.users.map((u) => u.name));
      for (const user of users) {
        add(user, op, { kind: "userListed" }, { listed: listed.has(user) });
      }
      return;
    }
  }
}
