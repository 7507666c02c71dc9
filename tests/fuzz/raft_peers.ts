/**
 * Plays orchestrators o2 and o3 against a three-voter node o1, so peer messages reach deep Raft
 * paths instead of being ignored: phases alternate between o1 leading (o2 and o3 grant its votes
 * and acknowledge its entries and reads honestly) and o2 leading (it replicates entries of
 * arbitrary commands, and sometimes a snapshot, in a newer term). Between honest messages come
 * random ones with any term, index and payload, as a buggy or hostile peer would send: in a
 * cluster without `clusterSecretFile` anyone who says hello as a peer can.
 * @module
 */
import { Buffer } from "node:buffer";
import type { PeerOutbound } from "../../orchestrator/core/node_io.ts";
import { takeSnapshot } from "../../orchestrator/tasks/mod.ts";
import type { Rng } from "../../shared/prng.ts";
import { generateEntries, generateMessage, type Json, type Pools } from "./message_generators.ts";
import type { NodeHarness } from "./node_harness.ts";

/** The voters; the harness's node is o1. */
export const RAFT_VOTERS = ["o1", "o2", "o3"] as const;
const PEERS = ["o2", "o3"];

/** Steps in one phase before the model switches who leads. */
const PHASE_STEPS = 40;

/** A message for o1, and from whom. */
export interface PeerDraw {
  from: string;
  message: Json;
  what: string;
}

export class RaftPeers {
  readonly #rng: Rng;
  readonly #harness: NodeHarness;
  readonly #pools: Pools;
  #phase: "o1Leads" | "o2Leads" = "o1Leads";
  #phaseSteps = 0;
  /** o2's term while it leads. */
  #leaderTerm = 0;
  /** Answers owed to o1's messages, oldest first. */
  readonly #owed: PeerDraw[] = [];

  constructor(rng: Rng, harness: NodeHarness, pools: Pools) {
    this.#rng = rng;
    this.#harness = harness;
    this.#pools = pools;
  }

  /** An honest peer's Lamport time: just after what o1 last sent (peers follow each other). */
  #lamport(): number {
    return this.#harness.node.lamport + this.#rng.int(1, 5);
  }

  /** The next peer message for o1. */
  draw(): PeerDraw {
    const rng = this.#rng;
    this.#collectOwed();
    if (++this.#phaseSteps > PHASE_STEPS) this.#switchPhase();
    if (rng.chance(0.08)) {
      const message = generateMessage(rng, "peer", { pools: this.#pools });
      return { from: rng.pick([...PEERS, "o1", "o9"]), message, what: "random" };
    }
    if (this.#phase === "o2Leads" && rng.chance(0.6)) return this.#leaderMessage();
    const owed = this.#owed.shift();
    if (owed !== undefined) return owed;
    return this.#phase === "o2Leads" ? this.#leaderMessage() : this.#disruption();
  }

  #switchPhase(): void {
    this.#phaseSteps = 0;
    this.#phase = this.#phase === "o1Leads" ? "o2Leads" : "o1Leads";
    this.#owed.length = 0;
    if (this.#phase === "o2Leads") this.#leaderTerm = this.#harness.node.term + 1;
  }

  /** Queues honest answers to what o1 sent since the last draw. */
  #collectOwed(): void {
    for (const sent of this.#harness.peerOutbox.splice(0)) {
      const answer = this.#answer(sent);
      if (answer !== null && this.#owed.length < 64) this.#owed.push(answer);
    }
  }

  #answer({ to, message: m }: PeerOutbound): PeerDraw | null {
    const env = { v: 1, lamport: this.#lamport() };
    switch (m.type) {
      case "requestVote": {
        // While o2 leads, its followers refuse; otherwise they grant (pre-votes and votes).
        const granted = this.#phase === "o1Leads";
        const message = {
          ...env,
          type: "voteResponse",
          term: m.preVote && granted ? m.term : Math.max(m.term, this.#leaderTerm),
          granted,
          preVote: m.preVote,
        };
        return { from: to, message, what: `answer to ${m.type}` };
      }
      case "appendEntries":
        return {
          from: to,
          message: {
            ...env,
            type: "appendResponse",
            term: m.term,
            success: true,
            matchIndex: m.prevLogIndex + m.entries.length,
            conflictIndex: 0,
            readCtx: m.readCtx,
          },
          what: `answer to ${m.type}`,
        };
      case "installSnapshot":
        return {
          from: to,
          message: {
            ...env,
            type: "snapshotResponse",
            term: m.term,
            snapshotIndex: m.snapshotIndex,
            received: m.offset + Buffer.from(m.data, "base64").length,
            done: m.done,
          },
          what: `answer to ${m.type}`,
        };
      default:
        return null; // o1's answers to o2 need no reply
    }
  }

  /** o2, leading, replicates: mostly appended entries, sometimes a snapshot or a rewrite. */
  #leaderMessage(): PeerDraw {
    const rng = this.#rng;
    const node = this.#harness.node;
    const term = Math.max(this.#leaderTerm, node.term);
    this.#leaderTerm = term;
    const env = { v: 1, lamport: this.#lamport(), term };
    if (rng.chance(0.05)) return this.#snapshot(env);
    const last = node.lastLogIndex;
    // Mostly append after o1's last entry; sometimes rewrite a few (only uncommitted ones are
    // legitimate), or leave a gap.
    const roll = rng.next();
    const prevLogIndex = roll < 0.8
      ? last
      : roll < 0.9
      ? Math.max(node.commitIndex, last - rng.int(1, 3))
      : last + rng.int(1, 3);
    const prevLogTerm = this.#harness.termAt(prevLogIndex) ?? rng.int(0, term);
    const entries = generateEntries(rng, {
      from: prevLogIndex + 1,
      term,
      count: rng.int(0, 4),
      pools: this.#pools,
    }).map((entry) => ({ ...entry, term }));
    const message = {
      ...env,
      type: "appendEntries",
      prevLogIndex,
      prevLogTerm,
      entries,
      leaderCommit: prevLogIndex + entries.length,
      readCtx: rng.int(0, 1000),
    };
    return { from: "o2", message, what: `o2 leads term ${term}` };
  }

  /** A snapshot of o1's own state a little ahead, in one chunk or two, or a corrupt one. */
  #snapshot(env: { v: number; lamport: number; term: number }): PeerDraw {
    const rng = this.#rng;
    const node = this.#harness.node;
    const index = node.lastLogIndex + rng.int(1, 20);
    const state = { ...takeSnapshot(node.sm), appliedIndex: index, appliedTerm: env.term };
    const bytes = new TextEncoder().encode(JSON.stringify(state));
    const whole = rng.chance(0.7);
    const end = whole ? bytes.length : Math.floor(bytes.length / 2);
    const message = {
      ...env,
      type: "installSnapshot",
      snapshotIndex: index,
      snapshotTerm: env.term,
      offset: 0,
      data: Buffer.from(bytes.subarray(0, end)).toString("base64"),
      done: whole,
    };
    if (!whole) {
      this.#owed.unshift({
        from: "o2",
        message: {
          ...message,
          offset: end,
          data: Buffer.from(bytes.subarray(end)).toString("base64"),
          done: true,
        },
        what: "o2 snapshot, second chunk",
      });
    }
    return { from: "o2", message, what: `o2 snapshot at ${index}` };
  }

  /** While o1 leads: a peer that campaigns, or reports a conflict. */
  #disruption(): PeerDraw {
    const rng = this.#rng;
    const node = this.#harness.node;
    const from = rng.pick(PEERS);
    const env = { v: 1, lamport: this.#lamport() };
    if (rng.chance(0.2)) {
      return {
        from,
        message: {
          ...env,
          type: "requestVote",
          term: node.term + rng.int(0, 2),
          lastLogIndex: Math.max(0, node.lastLogIndex + rng.int(-2, 2)),
          lastLogTerm: node.term,
          preVote: rng.chance(0.5),
        },
        what: "a peer campaigns",
      };
    }
    return {
      from,
      message: {
        ...env,
        type: "appendResponse",
        term: node.term,
        success: rng.chance(0.5),
        matchIndex: Math.max(0, node.lastLogIndex - rng.int(0, 3)),
        conflictIndex: Math.max(0, node.lastLogIndex - rng.int(0, 5)),
        readCtx: rng.int(0, 1000),
      },
      what: "a follower reports",
    };
  }
}
