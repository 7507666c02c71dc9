/**
 * The in-memory Raft log: the entries after the compaction point, plus the
 * index and term of the last compacted entry (needed for the consistency check
 * of the first entry after it). Pure; the entries' commands are never read.
 * @module
 */
import { assert } from "../../shared/assert.ts";
import type { RaftEntry } from "./consensus_log.ts";

export class RaftEntries<C> {
  #entries: RaftEntry<C>[] = [];
  /** Index of the last compacted entry (0 when nothing is compacted). */
  #compactedIndex: number;
  #compactedTerm: number;

  constructor(compactedIndex: number, compactedTerm: number) {
    this.#compactedIndex = compactedIndex;
    this.#compactedTerm = compactedTerm;
  }

  /** The first index still held in memory. */
  get firstIndex(): number {
    return this.#compactedIndex + 1;
  }

  get lastIndex(): number {
    return this.#compactedIndex + this.#entries.length;
  }

  get lastTerm(): number {
    return this.#entries.length === 0
      ? this.#compactedTerm
      : this.#entries[this.#entries.length - 1].term;
  }

  /** Term of the entry at `index`; the compacted entry's term at the compaction point; undefined elsewhere. */
  termAt(index: number): number | undefined {
    if (index === this.#compactedIndex) return this.#compactedTerm;
    if (index < this.#compactedIndex || index > this.lastIndex) return undefined;
    return this.#entries[index - this.#compactedIndex - 1].term;
  }

  append(entry: RaftEntry<C>): void {
    assert(
      entry.index === this.lastIndex + 1,
      `log gap: appending ${entry.index} after ${this.lastIndex}`,
    );
    assert(entry.term >= this.lastTerm, `log term went backwards at ${entry.index}`);
    this.#entries.push(entry);
  }

  /** Up to `maxCount` entries starting at `from` (which must not be compacted). */
  slice(from: number, maxCount: number): RaftEntry<C>[] {
    assert(from > this.#compactedIndex, `entry ${from} is compacted`);
    const start = from - this.#compactedIndex - 1;
    return this.#entries.slice(start, start + maxCount);
  }

  /** Drops `index` and everything after it. */
  truncateFrom(index: number): void {
    assert(index > this.#compactedIndex, `cannot truncate compacted entry ${index}`);
    // Past the end there is nothing to drop (and the log must never grow here).
    this.#entries.length = Math.min(this.#entries.length, index - this.#compactedIndex - 1);
  }

  /** Drops everything up to and including `index`, remembering its term. */
  compactTo(index: number): void {
    if (index <= this.#compactedIndex) return;
    assert(
      index <= this.lastIndex,
      `cannot compact past the last entry (${index} > ${this.lastIndex})`,
    );
    const term = this.termAt(index)!;
    this.#entries = this.#entries.slice(index - this.#compactedIndex);
    this.#compactedIndex = index;
    this.#compactedTerm = term;
  }

  /** Replaces the whole log by a compaction point (after installing a snapshot that disagrees with it). */
  reset(index: number, term: number): void {
    this.#entries = [];
    this.#compactedIndex = index;
    this.#compactedTerm = term;
  }
}
