/**
 * A linearizability checker in the style of Porcupine and Knossos (Wing & Gong's
 * search with Lowe's just-in-time linearization and a cache of visited
 * configurations): does some total order of a history's operations, consistent
 * with real time, satisfy a sequential model? Histories are split per key first
 * (P-compositionality: a history is linearizable iff each key's sub-history
 * is), which keeps each search small; each search has a step budget and says
 * "inconclusive" rather than run on.
 *
 * An operation with no response (a timeout, a lost connection: it may or may
 * not have taken effect) returns at infinity, so it may be placed after
 * everything else, which is the same as never having happened.
 *
 * ```ts
 * const verdict = checkLinearizable(ops, register);
 * if (verdict.result === "violation") console.log(verdict.key, verdict.longestPrefix);
 * ```
 * @module
 */

/** One operation of a history, as a client saw it. */
export interface Operation<I, O> {
  /** What the client asked. */
  input: I;
  /** What it was told; null when it never learned (indeterminate). */
  output: O | null;
  callMs: number;
  /** When the answer arrived; null when it never did (indeterminate). */
  returnMs: number | null;
  /** For reports: who did it, and anything that helps a reader. */
  label: string;
}

/** A sequential specification of one key's state. */
export interface Model<S, I, O> {
  init(): S;
  /**
   * The state after `input` answered `output` in state `state`, or null when that answer is
   * impossible there. `output` is null for an indeterminate operation: any outcome the state
   * allows is fine (and it may also never have happened, see the module doc).
   */
  step(state: S, input: I, output: O | null): S | null;
  /** A string equal for equal states (the search caches configurations by it). */
  key(state: S): string;
}

/** Outcome of checking one key's history (or all of them). */
export type Verdict =
  | { result: "ok"; steps: number }
  | {
    result: "violation";
    key: string;
    steps: number;
    /** The longest prefix the search could linearize, then the operations it could not place. */
    longestPrefix: string[];
    unplaced: string[];
  }
  | { result: "inconclusive"; key: string; steps: number; reason: string };

/** Search steps allowed per key before giving up (a step tries one operation in one configuration). */
export const DEFAULT_STEP_BUDGET = 200_000;

interface Entry {
  /** The operation's index; -1 for the list head. */
  id: number;
  isCall: boolean;
  timeMs: number;
  match: Entry | null;
  prev: Entry | null;
  next: Entry | null;
}

/**
 * Checks one key's operations against `model`.
 * @param options.stepBudget search steps before answering "inconclusive".
 */
export function checkOperations<S, I, O>(
  ops: ReadonlyArray<Operation<I, O>>,
  model: Model<S, I, O>,
  options: { key?: string; stepBudget?: number } = {},
): Verdict {
  const key = options.key ?? "";
  const budget = options.stepBudget ?? DEFAULT_STEP_BUDGET;
  const head = buildEntries(ops);
  const linearized = new Uint8Array(Math.ceil(ops.length / 8));
  const cache = new Set<string>();
  const calls: Array<{ entry: Entry; state: S }> = [];
  let state = model.init();
  let entry = head.next;
  let steps = 0;
  let longest: number[] = [];
  while (head.next !== null) {
    if (++steps > budget) {
      return {
        result: "inconclusive",
        key,
        steps,
        reason: `no answer within ${budget} search steps (${ops.length} operations)`,
      };
    }
    if (entry === null) throw new Error("linearizability: ran off the end of the history");
    if (entry.isCall) {
      const op = ops[entry.id];
      const next = model.step(state, op.input, op.output);
      if (next !== null) {
        setBit(linearized, entry.id, true);
        const seen = `${bitsKey(linearized)}|${model.key(next)}`;
        if (!cache.has(seen)) {
          cache.add(seen);
          calls.push({ entry, state });
          if (calls.length > longest.length) longest = calls.map((c) => c.entry.id);
          state = next;
          lift(entry);
          entry = head.next;
          continue;
        }
        setBit(linearized, entry.id, false);
      }
      entry = entry.next;
      continue;
    }
    // A return reached before its call was linearized: undo the last choice.
    const last = calls.pop();
    if (last === undefined) {
      const placed = new Set(longest);
      return {
        result: "violation",
        key,
        steps,
        longestPrefix: longest.map((id) => describe(ops[id])),
        unplaced: ops.map((op, id) => ({ op, id })).filter(({ id }) => !placed.has(id))
          .sort((a, b) => a.op.callMs - b.op.callMs).slice(0, 8).map(({ op }) => describe(op)),
      };
    }
    state = last.state;
    setBit(linearized, last.entry.id, false);
    unlift(last.entry);
    entry = last.entry.next;
  }
  return { result: "ok", steps };
}

/**
 * Checks a whole history, split per key by `partition` (an operation may belong to several
 * keys: its projection onto each). Stops at the first key that is not linearizable or that
 * ran out of budget.
 */
export function checkPartitioned<S, I, O>(
  partitions: ReadonlyMap<string, ReadonlyArray<Operation<I, O>>>,
  model: Model<S, I, O>,
  options: { stepBudget?: number } = {},
): Verdict {
  let steps = 0;
  for (const [key, ops] of partitions) {
    const verdict = checkOperations(ops, model, { key, stepBudget: options.stepBudget });
    if (verdict.result !== "ok") return verdict;
    steps += verdict.steps;
  }
  return { result: "ok", steps };
}

function describe<I, O>(op: Operation<I, O>): string {
  const until = op.returnMs === null ? "…" : `${op.returnMs}`;
  const output = op.output === null ? "?" : JSON.stringify(op.output);
  return `[${op.callMs}, ${until}] ${op.label}: ${JSON.stringify(op.input)} -> ${output}`;
}

/** The history as a doubly linked list of calls and returns in time order (calls first on ties). */
function buildEntries<I, O>(ops: ReadonlyArray<Operation<I, O>>): Entry {
  const events: Entry[] = [];
  ops.forEach((op, id) => {
    if (op.returnMs !== null && op.returnMs < op.callMs) {
      throw new RangeError(
        `Invalid operation ${id}: it returned at ${op.returnMs} ms, before its call at ${op.callMs} ms`,
      );
    }
    const call: Entry = {
      id,
      isCall: true,
      timeMs: op.callMs,
      match: null,
      prev: null,
      next: null,
    };
    const ret: Entry = {
      id,
      isCall: false,
      timeMs: op.returnMs ?? Number.POSITIVE_INFINITY,
      match: call,
      prev: null,
      next: null,
    };
    call.match = ret;
    events.push(call, ret);
  });
  // Ties: calls before returns, so operations at the same instant count as concurrent.
  events.sort((a, b) => a.timeMs - b.timeMs || Number(b.isCall) - Number(a.isCall) || a.id - b.id);
  const head: Entry = {
    id: -1,
    isCall: false,
    timeMs: Number.NEGATIVE_INFINITY,
    match: null,
    prev: null,
    next: null,
  };
  let last = head;
  for (const e of events) {
    last.next = e;
    e.prev = last;
    last = e;
  }
  return head;
}

/** Takes a call and its return out of the list (the operation is linearized). */
function lift(call: Entry): void {
  call.prev!.next = call.next;
  call.next!.prev = call.prev;
  const ret = call.match!;
  ret.prev!.next = ret.next;
  if (ret.next !== null) ret.next.prev = ret.prev;
}

/** Puts them back, in reverse order of lift. */
function unlift(call: Entry): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next !== null) ret.next.prev = ret;
  call.prev!.next = call;
  call.next!.prev = call;
}

function setBit(bits: Uint8Array, i: number, on: boolean): void {
  if (on) bits[i >> 3] |= 1 << (i & 7);
  else bits[i >> 3] &= ~(1 << (i & 7));
}

function bitsKey(bits: Uint8Array): string {
  return String.fromCharCode(...bits);
}
