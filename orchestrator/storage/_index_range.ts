/**
 * Spans of entry indexes, tracked per batch and per segment so the file
 * storage knows which segments a snapshot covers. Pure.
 * @module
 */

/** A span of entry indexes; null bounds mean "no entries". */
export interface IndexRange {
  minIndex: number | null;
  maxIndex: number | null;
}

/** Widens `target` to also span `source`. */
export function widenIndexRange(target: IndexRange, source: IndexRange): void {
  if (source.minIndex !== null) {
    target.minIndex = Math.min(target.minIndex ?? source.minIndex, source.minIndex);
  }
  if (source.maxIndex !== null) {
    target.maxIndex = Math.max(target.maxIndex ?? source.maxIndex, source.maxIndex);
  }
}
