/**
 * A task's history packed into one string. A retained task keeps its history for its whole life,
 * and as seven-field event objects four events cost about 570 bytes of heap (object headers,
 * boxed timestamps, an array with room to grow); packed they cost about 80. Events are
 * materialized only when a view or a check asks for them ({@link historyOf}).
 *
 * Layout (numbers in decimal: base 36 would save a few bytes and cost more time to write): the
 * Lamport time of the last event (so that recording the next one does not read them
 * all), a semicolon, then one event after another:
 *
 *     <event letter><attempt>,<lamport - previous lamport>,<atMs - task's submittedAtMs>,<node><worker><detail>
 *
 * where the event letter is `a` + its index in TASK_EVENTS, and each of node, worker and detail is
 * `~` for null, `=` (worker only) for the same string as the node, or `<length>:<characters>`.
 * The text is a function of the events alone, so two replicas with equal histories hold equal
 * strings (replicas are compared through their snapshots).
 * @module
 */
import { TASK_EVENTS, type TaskEvent } from "../../shared/protocol/messages.ts";

/** A task's packed history; "" holds no event. */
export type PackedHistory = string;

const EVENT_CODE_BASE = 0x61; // "a"
const NULL_MARK = "~";
const SAME_AS_NODE = "=";
const RADIX = 10;

/**
 * `history` with `event` appended. The result is a flat string: a plain `+` would build a rope of
 * one node per event, which costs more than the event objects it replaces.
 */
export function appendEvent(
  history: PackedHistory,
  event: TaskEvent,
  baseMs: number,
): PackedHistory {
  const events = history.slice(history.indexOf(";") + 1);
  const lastLamport = history.length === 0 ? 0 : lastLamportOf(history)!;
  return [event.lamport.toString(RADIX), ";", events, packEvent(event, { baseMs, lastLamport })]
    .join("");
}

/** Packs a whole history (restoring a snapshot that holds event objects). */
export function packHistory(events: readonly TaskEvent[], baseMs: number): PackedHistory {
  if (events.length === 0) return "";
  let lastLamport = 0;
  const parts: string[] = [events[events.length - 1].lamport.toString(RADIX), ";"];
  for (const event of events) {
    parts.push(packEvent(event, { baseMs, lastLamport }));
    lastLamport = event.lamport;
  }
  return parts.join("");
}

function packEvent(event: TaskEvent, options: { baseMs: number; lastLamport: number }): string {
  const code = TASK_EVENTS.indexOf(event.event);
  if (code < 0) throw new RangeError(`Cannot pack history: unknown event "${event.event}"`);
  const worker = event.workerId !== null && event.workerId === event.node
    ? SAME_AS_NODE
    : packString(event.workerId);
  return String.fromCharCode(EVENT_CODE_BASE + code) + event.attempt.toString(RADIX) + "," +
    (event.lamport - options.lastLamport).toString(RADIX) + "," +
    (event.atMs - options.baseMs).toString(RADIX) + "," +
    packString(event.node) + worker + packString(event.detail);
}

function packString(value: string | null): string {
  return value === null ? NULL_MARK : `${value.length.toString(RADIX)}:${value}`;
}

/**
 * The events of a packed history, as fresh objects.
 * @throws {RangeError} for text that is not a packed history (a corrupt snapshot).
 */
export function unpackHistory(history: PackedHistory, baseMs: number): TaskEvent[] {
  if (history.length === 0) return [];
  const last = lastLamportOf(history);
  const reader = new HistoryReader(history);
  reader.at = history.indexOf(";") + 1;
  const events: TaskEvent[] = [];
  let lamport = 0;
  while (!reader.done) {
    const code = history.charCodeAt(reader.at++) - EVENT_CODE_BASE;
    const event = TASK_EVENTS[code];
    if (event === undefined) throw new RangeError(`Packed history has a bad event code ${code}`);
    const attempt = reader.number();
    lamport += reader.number();
    const atMs = baseMs + reader.number();
    const node = reader.string(null);
    if (node === null) throw new RangeError("Packed history has an event without a node");
    const workerId = reader.string(node);
    const detail = reader.string(null);
    events.push({ event, lamport, node, atMs, attempt, workerId, detail });
  }
  if (events.length === 0 || lamport !== last) {
    throw new RangeError(`Packed history ends at Lamport time ${lamport}, its head says ${last}`);
  }
  return events;
}

/** Reads fields of a packed history in order, checking each. */
class HistoryReader {
  at = 0;
  readonly #text: string;

  constructor(text: string) {
    this.#text = text;
  }

  get done(): boolean {
    return this.at >= this.#text.length;
  }

  /** A decimal integer up to the next comma (read digit by digit: no slice, no regular expression). */
  number(): number {
    return this.#integerUntil(COMMA_CODE);
  }

  #integerUntil(stop: number): number {
    const text = this.#text;
    let at = this.at;
    const negative = text.charCodeAt(at) === MINUS_CODE;
    if (negative) at += 1;
    const first = at;
    let value = 0;
    for (;;) {
      if (at >= text.length) throw new RangeError("Packed history ends inside a number");
      const code = text.charCodeAt(at);
      if (code === stop) break;
      const digit = code - ZERO_CODE;
      if (digit < 0 || digit > 9 || at - first >= DIGITS_MAX) {
        throw new RangeError(`Packed history has a bad number at character ${at}`);
      }
      value = value * 10 + digit;
      at += 1;
    }
    if (at === first || !Number.isSafeInteger(value)) {
      throw new RangeError(`Packed history has a bad number at character ${first}`);
    }
    this.at = at + 1;
    return negative ? -value : value;
  }

  /** A string field; `node` is what the same-as-node mark stands for (null where it is not allowed). */
  string(node: string | null): string | null {
    const mark = this.#text[this.at];
    if (mark === NULL_MARK) {
      this.at += 1;
      return null;
    }
    if (mark === SAME_AS_NODE && node !== null) {
      this.at += 1;
      return node;
    }
    const length = this.#integerUntil(COLON_CODE);
    const start = this.at;
    if (length < 0 || start + length > this.#text.length) {
      throw new RangeError(`Packed history has a string of bad length ${length}`);
    }
    this.at = start + length;
    return this.#text.slice(start, this.at);
  }
}

const DECIMAL_INT = /^-?[0-9]{1,16}$/;
const DIGITS_MAX = 16;
const COMMA_CODE = 0x2c;
const COLON_CODE = 0x3a;
const MINUS_CODE = 0x2d;
const ZERO_CODE = 0x30;

function parseStrictInt(text: string): number {
  if (!DECIMAL_INT.test(text)) throw new RangeError(`Packed history has a bad number "${text}"`);
  const value = parseInt(text, RADIX);
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`Packed history has a bad number "${text}"`);
  }
  return value;
}

/**
 * The Lamport time of the last event of a packed history (read from its head); undefined for an
 * empty one.
 * @throws {RangeError} for text without a valid head.
 */
export function lastLamportOf(history: PackedHistory): number | undefined {
  if (history.length === 0) return undefined;
  const end = history.indexOf(";");
  if (end < 0) throw new RangeError("Packed history has no head");
  return parseStrictInt(history.slice(0, end));
}

/** A task's history as event objects (fresh copies: changing them changes nothing in the state). */
export function historyOf(
  task: { packedHistory: PackedHistory; submittedAtMs: number },
): TaskEvent[] {
  return unpackHistory(task.packedHistory, task.submittedAtMs);
}
