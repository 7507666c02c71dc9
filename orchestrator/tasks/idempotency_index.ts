/**
 * Which task each (owner, idempotency key) created. Keyed owner first, then key, so the index
 * holds the very strings the task records hold instead of a joined copy per task.
 * @module
 */
export class IdempotencyIndex {
  readonly #byOwner = new Map<string, Map<string, string>>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(owner: string, key: string): string | undefined {
    return this.#byOwner.get(owner)?.get(key);
  }

  set(owner: string, key: string, taskId: string): void {
    let keys = this.#byOwner.get(owner);
    if (keys === undefined) this.#byOwner.set(owner, keys = new Map());
    if (!keys.has(key)) this.#size += 1;
    keys.set(key, taskId);
  }

  delete(owner: string, key: string): void {
    const keys = this.#byOwner.get(owner);
    if (keys === undefined || !keys.delete(key)) return;
    this.#size -= 1;
    if (keys.size === 0) this.#byOwner.delete(owner);
  }

  clear(): void {
    this.#byOwner.clear();
    this.#size = 0;
  }
}
