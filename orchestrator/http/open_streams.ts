/**
 * The event streams open on one orchestrator, in all and per user, against their caps: one user
 * holding every stream would lock every other dashboard out.
 * @module
 */
import { assert } from "../../shared/assert.ts";

/** Streams open at once per orchestrator. */
export const MAX_STREAMS = 256;
/** Streams one user may hold open at once per orchestrator (a few dashboards and CLI watches). */
export const MAX_STREAMS_PER_USER = 16;

export class OpenStreams {
  readonly #limits: { total: number; perUser: number };
  readonly #byUser = new Map<string, number>();
  #count = 0;

  constructor(limits = { total: MAX_STREAMS, perUser: MAX_STREAMS_PER_USER }) {
    assert(limits.perUser > 0, "per-user stream cap must be positive");
    assert(limits.total >= limits.perUser, "stream cap below the per-user cap");
    this.#limits = limits;
  }

  /** Streams open now. */
  get count(): number {
    return this.#count;
  }

  /** Streams `user` has open now. */
  countOf(user: string): number {
    return this.#byUser.get(user) ?? 0;
  }

  /** Takes a slot for a new stream of `user`: null, or why not (every slot `close`s once). */
  open(user: string): string | null {
    const mine = this.countOf(user);
    if (mine >= this.#limits.perUser) {
      return `Too many event streams for user "${user}" on this orchestrator (at most ` +
        `${this.#limits.perUser}); close one (another tab or watch) and retry`;
    }
    if (this.#count >= this.#limits.total) {
      return `Too many event streams on this orchestrator (at most ${this.#limits.total}); retry later`;
    }
    this.#byUser.set(user, mine + 1);
    this.#count++;
    return null;
  }

  /** Gives back the slot of one of `user`'s streams. */
  close(user: string): void {
    const mine = this.countOf(user);
    assert(mine > 0, `closing a stream of "${user}", who has none open`);
    assert(this.#count > 0, "closing a stream with none open");
    if (mine === 1) this.#byUser.delete(user);
    else this.#byUser.set(user, mine - 1);
    this.#count--;
  }
}
