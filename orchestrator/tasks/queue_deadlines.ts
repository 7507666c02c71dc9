/**
 * Queued tasks with a queue timeout, by deadline: what the leader's expiry sweep looks at. A task
 * is here from its submission until it is first assigned, cancelled, failed or expired, so the
 * sweep costs what expires, not what waits. Derived state (rebuilt from the tasks on restore).
 * @module
 */
import { TimeIndex } from "./time_index.ts";

export class QueueDeadlines extends TimeIndex {}
