/**
 * Who may be answered: writes need the leader, and client answers need a *ready* leader, one
 * that has applied what earlier terms committed (before that its state may lack sessions,
 * accounts and tasks already acknowledged) and the cluster file's accounts it proposed (so a
 * right password is not refused in the first moments of a new cluster). Refusals say who leads.
 * @module
 */
import type { ConsensusLog } from "../raft/mod.ts";
import type { Command, TaskStateMachine } from "../tasks/mod.ts";
import { notLeader, type Self } from "./leader_status.ts";
import type { ConnId } from "./node_io.ts";
import type { NodeOutput } from "./node_output.ts";

/** What the gate reads of the node. */
export interface GateContext {
  log: ConsensusLog<Command>;
  out: NodeOutput;
  self: Self;
  sm(): TaskStateMachine;
  nowMs(): number;
}

export class LeaderGate {
  readonly #ctx: GateContext;
  /** Index of this leader's first entry in its term; its state is complete once that is applied. */
  #termStartIndex: number | null = null;
  /** Index of the last account proposed from the bootstrap configuration (0 if none yet). */
  bootstrapIndex = 0;

  constructor(ctx: GateContext) {
    this.#ctx = ctx;
  }

  /** The role changed: a new leader's term starts after its log's last entry. */
  roleChanged(): void {
    const { log } = this.#ctx;
    this.#termStartIndex = log.isLeader ? log.lastIndex : null;
  }

  /** A leader whose state includes everything committed before its term. */
  get isReady(): boolean {
    return this.#ctx.log.isLeader && this.#termStartIndex !== null &&
      this.#ctx.sm().appliedIndex >= this.#termStartIndex;
  }

  /** True when this node can answer clients now (a ready leader with its bootstrap accounts). */
  get canServeClients(): boolean {
    return this.isReady && this.#ctx.sm().appliedIndex >= this.bootstrapIndex;
  }

  /** Replies that this node is not the leader, saying who is (or why there is none). */
  sendNotLeader(conn: ConnId, requestId: number | null): void {
    const { code, message, leaderHint } = notLeader(
      this.#ctx.log,
      this.#ctx.self,
      this.#ctx.nowMs(),
    );
    this.#ctx.out.sendError(conn, requestId, code, message, leaderHint);
  }

  /** True when this node leads; otherwise replies "not leader". */
  requireLeader(conn: ConnId, requestId: number | null): boolean {
    if (this.#ctx.log.isLeader) return true;
    this.sendNotLeader(conn, requestId);
    return false;
  }

  /** Like {@link requireLeader}, and the leader must be able to serve clients already. */
  requireReadyLeader(conn: ConnId, requestId: number | null): boolean {
    if (!this.requireLeader(conn, requestId)) return false;
    if (this.canServeClients) return true;
    this.#ctx.out.sendError(
      conn,
      requestId,
      "unavailable",
      `Orchestrator ${this.#ctx.self.nodeId} was just elected and is catching up; retry in a moment`,
    );
    return false;
  }
}
