/**
 * Tasks per kind and state (derived state, like the counts per owner): kept up to date as tasks
 * are submitted, change state and are removed, so that `/metrics` reports tasks by kind without
 * scanning every task at each scrape. Rebuilt from the tasks when a snapshot is restored.
 * @module
 */
import { assert } from "../../shared/assert.ts";
import type { TaskState } from "../../shared/protocol/task_schemas.ts";
import { totalOfStates, zeroStateCounts } from "./state_counts.ts";

/** The kind that sums every kind past the reported ones (see {@link KindCounts.report}). */
export const OTHER_KIND = "other";

/** One kind's tasks by state, as reported. */
export interface KindCount {
  kind: string;
  counts: Readonly<Record<TaskState, number>>;
}

export class KindCounts {
  /** Counts of each kind that has a task kept; a kind leaves when its last task is removed. */
  readonly #byKind = new Map<string, Record<TaskState, number>>();

  /** Kinds with a task kept. */
  get size(): number {
    return this.#byKind.size;
  }

  /** A task of `kind` entered `state` (submitted, or restored from a snapshot). */
  add(kind: string, state: TaskState): void {
    let counts = this.#byKind.get(kind);
    if (counts === undefined) this.#byKind.set(kind, counts = zeroStateCounts());
    counts[state] += 1;
  }

  /** A task of `kind` moved from `from` to `to`. */
  move(kind: string, from: TaskState, to: TaskState): void {
    const counts = this.#byKind.get(kind);
    // Checked before building a message: this runs on every task's every state change.
    if (counts === undefined || counts[from] <= 0) {
      assert(false, `no ${from} task of kind ${kind} counted, one moved to ${to}`);
    }
    counts[from] -= 1;
    counts[to] += 1;
  }

  /** A task of `kind` in `state` was removed (retention, purge). */
  remove(kind: string, state: TaskState): void {
    const counts = this.#byKind.get(kind);
    if (counts === undefined || counts[state] <= 0) {
      assert(false, `no ${state} task of kind ${kind} counted, one removed`);
    }
    counts[state] -= 1;
    if (totalOfStates(counts) === 0) this.#byKind.delete(kind);
  }

  /** The counts of `kind` (zeros when none is kept). */
  of(kind: string): Readonly<Record<TaskState, number>> {
    return this.#byKind.get(kind) ?? zeroStateCounts();
  }

  /**
   * At most `maxKinds` kinds, by name, then `other` summing the rest when there are more: a bound
   * on the label values a scrape reports. The kinds kept are those with the most tasks (ties by
   * name), so the choice is the same on every node with the same state. Past the bound a handler
   * kind itself named "other" is summed into `other` too. Costs a sort of the kinds, not of the
   * tasks.
   */
  report(maxKinds: number): KindCount[] {
    assert(maxKinds >= 1, `maxKinds must be at least 1, got ${maxKinds}`);
    const all = [...this.#byKind].map(([kind, counts]) => ({ kind, counts }));
    if (all.length <= maxKinds) return all.sort(byKind);
    const ranked = all.filter((k) => k.kind !== OTHER_KIND).sort((a, b) =>
      totalOfStates(b.counts) - totalOfStates(a.counts) || byKind(a, b)
    );
    const kept = ranked.slice(0, maxKinds);
    const keptKinds = new Set(kept.map((k) => k.kind));
    const other = zeroStateCounts();
    for (const { kind, counts } of all) {
      if (keptKinds.has(kind)) continue;
      for (const state of Object.keys(other) as TaskState[]) other[state] += counts[state];
    }
    return [...kept.sort(byKind), { kind: OTHER_KIND, counts: other }];
  }
}

function byKind(a: KindCount, b: KindCount): number {
  return a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0;
}
