/**
 * Continuous submissions for the chaos suite, from several independent clients, each recording
 * what the cluster acknowledged (key → task) and which submissions ended without an answer (their
 * outcome is unknown: the task may or may not exist, and re-submitting the key must tell).
 * @module
 */
import type { MutiraoClient } from "../../client/api/mod.ts";
import type { BatchItem } from "../../shared/protocol/messages.ts";
import type { Rng } from "../../shared/prng.ts";
import type { AckedSubmission } from "./checks.ts";

/** Longest task: long enough to be running when faults hit, short enough to drain quickly. */
const TASK_MS_MAX = 1000;
/** Largest batch a client sends (most submissions are single). */
const BATCH_MAX = 10;
/**
 * Pause between one client's requests. With 3 clients this offers about 20 tasks/s, well under
 * what 3 workers x 8 slots finish even with one worker down, so the queue drains soon after
 * healing and every task's fate is known within the run.
 */
const PAUSE_MS: [number, number] = [100, 400];

export class SubmissionLoad {
  readonly acked: AckedSubmission[] = [];
  /** Submissions that ended with an error: created or not, nobody knows yet. */
  readonly unknown: BatchItem[] = [];
  /** Every submission sent, by key, so a key can be re-submitted exactly as it was. */
  readonly specs = new Map<string, BatchItem>();
  /** Acknowledgements that said the key was already known: a duplicate prevented. */
  duplicates = 0;
  #running = true;
  readonly #loops: Promise<void>[];

  /**
   * Starts one submitting loop per client. `rng` only shapes the load (sizes, durations,
   * pauses); it is separate from the fault schedule's so that load and faults vary independently.
   */
  constructor(clients: readonly MutiraoClient[], token: string, rng: Rng) {
    this.#loops = clients.map((client, c) => this.#loop(client, token, c, rng));
  }

  async #loop(client: MutiraoClient, token: string, c: number, rng: Rng): Promise<void> {
    for (let i = 0; this.#running; i++) {
      const size = rng.chance(0.85) ? 1 : rng.int(2, BATCH_MAX);
      const items: BatchItem[] = Array.from({ length: size }, (_, j) => ({
        idempotencyKey: `c${c}-${i}-${j}`,
        task: {
          kind: "sleep" as const,
          description: `chaos c${c} ${i}/${j}`,
          durationMs: rng.chance(0.6) ? 0 : rng.int(1, TASK_MS_MAX),
        },
      }));
      for (const item of items) this.specs.set(item.idempotencyKey, item);
      try {
        if (size === 1) {
          const reply = await client.request({ type: "submit", token, ...items[0] });
          this.#ack(items[0].idempotencyKey, reply.taskId, reply.duplicate);
        } else {
          const reply = await client.request({ type: "submitBatch", token, tasks: items });
          reply.results.forEach((r, k) =>
            this.#ack(items[k].idempotencyKey, r.taskId, r.duplicate)
          );
        }
      } catch {
        // No answer within the client's budget (no leader, cut off): the outcome is unknown and
        // is settled after healing by re-submitting the same keys.
        this.unknown.push(...items);
      }
      await new Promise((resolve) => setTimeout(resolve, rng.int(PAUSE_MS[0], PAUSE_MS[1])));
    }
  }

  #ack(key: string, taskId: string, duplicate: boolean): void {
    this.acked.push({ key, taskId, duplicate });
    if (duplicate) this.duplicates += 1;
  }

  /** Stops submitting and waits for requests in flight to settle. */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }
}
