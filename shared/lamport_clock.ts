/**
 * Lamport logical clock (Lamport 1978, "Time, Clocks, and the Ordering of
 * Events"). Every node keeps one; every message carries its value; events are
 * ordered by (lamport, node) to break ties deterministically.
 * @module
 */
import { LAMPORT_MAX } from "./limits.ts";

/** A Lamport clock. Values start at 0 and only grow. */
export class LamportClock {
  #value: number;

  constructor(initial = 0) {
    this.#value = checkTime(initial, "start at");
  }

  /** The current value, without advancing. */
  get value(): number {
    return this.#value;
  }

  /** Rule 1: a local event (or a send) advances the clock; returns the event's timestamp. */
  tick(): number {
    this.#value += 1;
    return this.#value;
  }

  /** Rule 2: on receipt, jump past the sender's timestamp; returns the receive event's timestamp. */
  receive(remote: number): number {
    this.#value = Math.max(this.#value, checkTime(remote, "receive")) + 1;
    return this.#value;
  }

  /** Catches up with a timestamp seen without it being a new event (log replay, recovery). */
  observe(seen: number): void {
    if (checkTime(seen, "observe") > this.#value) this.#value = seen;
  }
}

/** A Lamport time must be an integer in [0, LAMPORT_MAX]; the codec enforces it on the wire. */
function checkTime(time: number, action: string): number {
  if (!Number.isSafeInteger(time) || time < 0 || time > LAMPORT_MAX) {
    throw new RangeError(
      `Lamport clock cannot ${action} ${time}: expected an integer in [0, 2^52]`,
    );
  }
  return time;
}

/** An event's position in Lamport order. */
export interface LamportStamp {
  lamport: number;
  node: string;
}

/** Total order on events: by Lamport time, ties broken by node id. */
export function compareLamport(a: LamportStamp, b: LamportStamp): number {
  if (a.lamport !== b.lamport) return a.lamport - b.lamport;
  return a.node < b.node ? -1 : a.node > b.node ? 1 : 0;
}
