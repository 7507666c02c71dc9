/**
 * One orchestrator process's persistence: the real GroupCommit over the
 * simulated storage (SimDisk, or the real FileLogStorage on SimFs), with the count of queued jobs the world needs to let promise
 * continuations settle, and the check that each report of durability names
 * where the durable log ends (the shell contract of NodeEffects.persist).
 * @module
 */
import type { NodeEffects, PeerOutbound } from "../../orchestrator/core/mod.ts";
// The real persistence queue (the shell has no mod.ts): the simulated shell uses it as is.
import { GroupCommit } from "../../orchestrator/shell/group_commit.ts";
import type { RecoveredLog } from "../../orchestrator/storage/mod.ts";
import type { Applied } from "./observed_log.ts";
import type { LogPosition, SimStorage } from "./sim_disk.ts";
import { isInjectedFault } from "./sim_fs_store.ts";
import type { World } from "./world.ts";

export interface SimPersistenceOptions {
  nodeId: string;
  /** The storage the store recovered, for this process. */
  storage: SimStorage;
  /** What the disk recovered at boot. */
  recovered: RecoveredLog;
  /** GroupCommit's report: everything up to entry `index` of `term` is durable. */
  onDurable: (index: number, term: number) => void;
  /**
   * An injected I/O error (EIO, ENOSPC) stopped the storage: the real shell dies on it
   * (OrchestratorServer#die), so the process must exit.
   */
  onDiskFailure: (error: unknown) => void;
  /** GroupCommit's durable peer messages, merged across the jobs one sync covered. */
  sendPeers: (messages: readonly PeerOutbound[]) => void;
}

export class SimPersistence {
  readonly disk: SimStorage;
  readonly #world: World;
  readonly #nodeId: string;
  readonly #commit: GroupCommit;
  #jobsEnqueued = 0;
  #jobsDone = 0;
  /** Where the node knows its durable log ends. */
  #known: LogPosition;
  /** Set while the node was told less than its disk holds (known bug groupCommitUnderReport). */
  underReport: string | null = null;

  constructor(world: World, options: SimPersistenceOptions) {
    this.#world = world;
    this.#nodeId = options.nodeId;
    const { entries, snapshot } = options.recovered;
    const last = entries.at(-1) ?? snapshot;
    this.#known = { index: last?.index ?? 0, term: last?.term ?? 0 };
    this.disk = options.storage;
    this.#commit = new GroupCommit(this.disk, {
      sendPeers: options.sendPeers,
      onDurable: (index, term) => {
        world.note(`${this.#nodeId} durable: told up to ${index}/${term}`);
        this.#checkReport({ index, term });
        options.onDurable(index, term);
      },
      onError: (error) => {
        if (isInjectedFault(error)) {
          world.countFault("diskError");
          options.onDiskFailure(error);
        } else world.fail(error);
      },
    });
  }

  /**
   * True when nothing runs outside the agenda: every queued job is done, or the disk holds an
   * operation that only a scheduled event completes. The world drains microtasks until then.
   */
  get isQuiet(): boolean {
    return this.#jobsEnqueued === this.#jobsDone || this.disk.isBusy;
  }

  /**
   * Queues a job; `peerMessages` go out and `afterDurable` runs once it (and all before it) is
   * durable.
   */
  enqueue(
    persist: NodeEffects["persist"],
    afterDurable: (() => void) | null,
    peerMessages: readonly PeerOutbound[] = [],
  ): void {
    this.#jobsEnqueued += 1;
    this.#commit.enqueue({
      persist,
      peerMessages,
      afterDurable: () => {
        this.#jobsDone += 1;
        afterDurable?.();
      },
    });
  }

  /**
   * The node installed a snapshot from the leader: it counts its log as durable up to there
   * itself (RaftLog), whatever GroupCommit reports later — and, when the snapshot replaced the
   * log, as ending there.
   */
  noteApplied(applied: readonly Applied[]): void {
    for (const item of applied) {
      if (item.kind !== "snapshot") continue;
      if (item.discardLog || item.index >= this.#known.index) {
        this.#known = { index: item.index, term: item.term };
      }
    }
  }

  /** The node must learn where its durable log now ends, unless it knew already. */
  #checkReport(told: LogPosition): void {
    const end = this.disk.durableEnd;
    const isEnd = (p: LogPosition) =>
      p.index === end.index && (p.term === end.term || end.term < 0);
    if (isEnd(told) || isEnd(this.#known)) {
      this.underReport = null;
      this.#known = end;
      return;
    }
    const id = this.#nodeId;
    this.underReport = `${id} was told its log is durable up to ${told.index}, but it is up ` +
      `to ${end.index}`;
    this.#world.knownBug(
      "groupCommitUnderReport",
      `${id}'s log is durable up to entry ${end.index} (term ${end.term}), but GroupCommit ` +
        `reported persisted(${told.index}, ${told.term}): the node never learns that the entries ` +
        `after ${told.index} are durable, so it neither applies nor counts them`,
    );
  }
}
