/**
 * The orchestrator node: the pure core that turns requests, worker reports,
 * heartbeats and ticks into log proposals, and committed entries into replies
 * and dispatches. It never touches a socket, a clock, a file or randomness:
 * everything arrives in {@link NodeInput} and leaves as {@link NodeEffects}.
 *
 * The only way state changes is: propose a command -> the consensus log
 * commits it -> the state machine applies it, in log order. What the node
 * keeps on the side (connections, in-flight proposals, heartbeat times) is
 * soft state that a new leader rebuilds.
 *
 * The node itself only dispatches inputs, pumps the log (drain, apply,
 * schedule) and handles role changes; each concern is a module it composes:
 * client_requests.ts and login_results.ts (clients), request_turns.ts
 * (linearizable answers), pending_replies.ts (replies owed after apply),
 * applied_effects.ts (what applying means beyond the state machine),
 * worker_links.ts (workers), scheduling_round.ts, leader_gate.ts,
 * node_output.ts, node_clock.ts and a few smaller ones. They share one
 * context object (see NodeContext).
 * @module
 */
import { assertNever } from "../../shared/assert.ts";
import type { ErrorCode } from "../../shared/errors.ts";
import { LamportClock } from "../../shared/lamport_clock.ts";
import { LIMITS } from "../../shared/limits.ts";
import type { PeerMessage } from "../../shared/protocol/peer_messages.ts";
import type { ConsensusLog, ReadyRead, SnapshotRef, StoredSnapshot } from "../raft/mod.ts";
import type { Command, LogEntry, Stamp, TaskStateMachine } from "../tasks/mod.ts";
import { decodeSnapshot, restoreSnapshot, snapshotStagger } from "../tasks/mod.ts";
import {
  afterApply,
  type AppliedContext,
  currentHolder,
  tasksTouchedBy,
} from "./applied_effects.ts";
import { accountsToConfigure } from "./bootstrap_accounts.ts";
import { CatchUpHistory } from "./catch_up_history.ts";
import { EventRing } from "./event_ring.ts";
import { streamEventsOf } from "./stream_events.ts";
import {
  type ConnectionInputContext,
  observeHeartbeat,
  refuseFrame,
  welcome,
} from "./connection_inputs.ts";
import { type ClientContext, ClientRequests } from "./client_requests.ts";
import { FailureDetector } from "./failure_detector.ts";
import type { HistogramReading } from "../../shared/histogram.ts";
import { InFlightProposals } from "./in_flight_proposals.ts";
import { DEFAULT_RETENTION, RetentionRounds, sweepRetention } from "./retention.ts";
import { ExpiryRounds, sweepExpiries } from "./queue_expiry.ts";
import { Keepalives } from "./keepalives.ts";
import { AnnounceSchedule } from "./announce_schedule.ts";
import { LocalSnapshots } from "./local_snapshots.ts";
import { LeaderGate } from "./leader_gate.ts";
import { LiveOutput } from "./live_output.ts";
import {
  handleLoginChecked,
  type LoginContext,
  type LoginRequest,
  loginWorkFor,
  refusedUnchecked,
} from "./login_results.ts";
import type { ConnId, NodeEffects, NodeInput } from "./node_io.ts";
import { DEFAULT_SNAPSHOT_EVERY_ENTRIES, type NodeOptions } from "./node_options.ts";
import { NodeClock } from "./node_clock.ts";
import { NodeOutput } from "./node_output.ts";
import {
  type Pending,
  type PendingContext,
  PendingReplies,
  resolvePending,
} from "./pending_replies.ts";
import { RequestTurns } from "./request_turns.ts";
import { type LeaderRoundContext, proposeAssignments, proposeLosses } from "./leader_rounds.ts";
import { SubmitAdmission } from "./submit_admission.ts";
import { proposeFirings, type ScheduleRoundContext, ScheduleRounds } from "./schedule_round.ts";
import { answerExpired, answerFinished } from "./wait_replies.ts";
import { Waiters } from "./waiters.ts";
import { type WorkerLinkContext, WorkerLinks } from "./worker_links.ts";

export type { NodeOptions } from "./node_options.ts";

/** Scheduling rounds in one step; a round only repeats when the previous one proposed. */
const MAX_PUMP_ROUNDS = 8;

/** Everything the node's modules need of it (each module's context is a part of this). */
type NodeContext =
  & ClientContext
  & LoginContext
  & WorkerLinkContext
  & AppliedContext
  & PendingContext;

export class OrchestratorNode {
  readonly options: NodeOptions;
  #sm: TaskStateMachine;
  readonly #log: ConsensusLog<Command>;
  /** The Lamport clock and the rules for moving it (node_clock.ts). */
  readonly #clock: NodeClock;
  readonly #detector: FailureDetector;
  readonly #waiters = new Waiters({
    max: LIMITS.waitersMax,
    maxPerUser: LIMITS.waitersPerUserMax,
  });
  readonly #out: NodeOutput;
  #nowMs = 0;
  /** Entries up to this index were on disk at start: applying them logs nothing (replay). */
  #replayUpTo: number;
  /** Entries a catching-up follower applies as history (catch_up_history.ts). */
  readonly #history = new CatchUpHistory();
  /** The recent events of the event stream, derived from the entries applied here. */
  readonly events = new EventRing();
  readonly #pending = new PendingReplies();
  /** Client requests as turns that wait for a read barrier when they must (request_turns.ts). */
  readonly #turns: RequestTurns;
  /** What this leader proposed that is not applied yet (in_flight_proposals.ts). */
  readonly #proposals = new InFlightProposals();
  /** When this leader next proposes to remove finished tasks (retention.ts). */
  readonly #retention = new RetentionRounds();
  readonly #expiry = new ExpiryRounds();
  /** Schedule firings this leader proposed and not applied yet (schedule_round.ts). */
  readonly #scheduleRounds = new ScheduleRounds();
  /** Who gets keepalives, and when they last went out (keepalives.ts). */
  readonly #keepalives = new Keepalives();
  readonly #announcements = new AnnounceSchedule();
  /** When to ask the shell for a local snapshot. */
  readonly #snapshots: LocalSnapshots;
  /** Whether this node may write and answer clients (leader_gate.ts). */
  readonly #gate: LeaderGate;
  readonly #admission: SubmitAdmission;
  /** Running attempts' output as workers send it: the leader's alone (live_output.ts). */
  readonly #liveOutput = new LiveOutput();
  /** Datagrams the shell dropped, by reason (reported by `cluster`). */
  readonly #droppedDatagrams = { malformed: 0, forged: 0, stale: 0, replayed: 0 };
  /** The term in which this leader last created missing bootstrap accounts. */
  #bootstrappedTerm = -1;
  /** What the node's modules use of it: one context for all of them. */
  readonly #ctx: NodeContext;
  readonly #links: WorkerLinks;
  readonly #inputs: ConnectionInputContext;
  readonly #rounds: LeaderRoundContext;
  readonly #scheduleCtx: ScheduleRoundContext;
  readonly #clients: ClientRequests;

  constructor(
    options: NodeOptions,
    parts: { sm: TaskStateMachine; log: ConsensusLog<Command>; nowMs: number },
  ) {
    this.options = options;
    this.#sm = parts.sm;
    this.#log = parts.log;
    this.#replayUpTo = parts.log.lastIndex;
    // Before the log is replayed, the state is exactly the recovered snapshot's (or empty).
    this.#snapshots = new LocalSnapshots(
      { index: parts.sm.appliedIndex, tasks: parts.sm.tasks.size },
      options.snapshotEveryEntries ?? DEFAULT_SNAPSHOT_EVERY_ENTRIES,
      snapshotStagger(options.nodeId),
    );
    this.#nowMs = parts.nowMs;
    const lamport = new LamportClock(parts.sm.maxLamport);
    this.#clock = new NodeClock(lamport);
    this.#out = new NodeOutput(lamport);
    this.#turns = new RequestTurns((id) => this.#log.requestRead(id));
    this.#gate = new LeaderGate({
      log: this.#log,
      out: this.#out,
      self: options,
      sm: () => this.#sm,
      nowMs: () => this.#nowMs,
    });
    this.#admission = new SubmitAdmission(options);
    this.#detector = new FailureDetector({
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      missedHeartbeats: options.missedHeartbeats,
    });
    const links = () => this.#links;
    this.#ctx = {
      out: this.#out,
      clock: this.#clock,
      options,
      turns: this.#turns,
      waiters: this.#waiters,
      admission: this.#admission,
      detector: this.#detector,
      pending: this.#pending,
      droppedDatagrams: this.#droppedDatagrams,
      liveOutput: this.#liveOutput,
      diskUse: () => options.diskUse?.() ?? null,
      proposedAssignments: this.#proposals.assignments,
      dispatchedAssignments: this.#proposals.dispatched,
      proposedFinishes: this.#proposals.finishes,
      proposedLosses: this.#proposals.losses,
      get links() {
        return links();
      },
      sm: () => this.#sm,
      nowMs: () => this.#nowMs,
      status: () => this.#log.status(this.#nowMs),
      isLeader: () => this.#log.isLeader,
      isReady: () => this.#gate.isReady,
      canServeClients: () => this.#gate.canServeClients,
      propose: (command) => this.#propose(command),
      proposeBatch: (commands) => this.#log.propose(commands),
      proposeFor: (pending, command) => this.#proposeFor(pending, command),
      stamp: () => this.#stamp(),
      refuse: (conn, requestId, code, message) => this.#refuse(conn, requestId, code, message),
      requireLeader: (conn, requestId) => this.#gate.requireLeader(conn, requestId),
      requireReadyLeader: (conn, requestId) => this.#gate.requireReadyLeader(conn, requestId),
      submitApplied: (owner) => this.#admission.applied(owner),
      scheduleSettled: (owner, name) => this.#scheduleRounds.settled(owner, name),
      completeRegistration: (conn, workerId, running) =>
        this.#links.completeRegistration(conn, workerId, running),
      send: (conn, message) => this.#out.send(conn, message),
      sendError: (conn, requestId, code, message) =>
        this.#out.sendError(conn, requestId, code, message),
      log: (level, message) => this.#out.log(level, message),
      proposeDone: (conn, requestId, message, command) =>
        this.#proposeFor({ kind: "done", conn, requestId, message }, command),
      askPasswordWork: (work) => this.#out.effects.passwordWork.push(work),
    };
    this.#inputs = {
      out: this.#out,
      clock: this.#clock,
      detector: this.#detector,
      keepalives: this.#keepalives,
      self: options,
      sm: () => this.#sm,
      nowMs: () => this.#nowMs,
    };
    this.#links = new WorkerLinks(this.#ctx);
    this.#rounds = {
      proposals: this.#proposals,
      detector: this.#detector,
      options,
      sm: () => this.#sm,
      nowMs: () => this.#nowMs,
      isAvailable: (worker) => this.#links.isAvailable(worker),
      propose: (command) => this.#propose(command),
      stamp: () => this.#stamp(),
      dispatch: (task, workerId) => this.#links.dispatch(task, workerId),
    };
    this.#scheduleCtx = {
      rounds: this.#scheduleRounds,
      sm: () => this.#sm,
      nowMs: () => this.#nowMs,
      propose: (command) => this.#propose(command),
      stamp: () => this.#stamp(),
      maxActivePerUser: options.maxActiveTasksPerUser ?? 0,
    };
    this.#clients = new ClientRequests(this.#ctx);
    // Apply what recovery found durable and committed, without replies or log noise.
    this.#pump();
    this.#out.recovering = false;
    this.#detector.grantGrace(this.sm.workers.values(), parts.nowMs);
  }

  /** The replicated state (replaced wholesale when a snapshot from the leader is installed). */
  get sm(): TaskStateMachine {
    return this.#sm;
  }

  /** Gaps between workers' heartbeats as this node's failure detector observed them (/metrics). */
  heartbeatGaps(): HistogramReading {
    return this.#detector.gapSeconds.read();
  }

  /** Where this node stands in the consensus group, for `cluster` views. */
  consensusStatus() {
    return this.#log.status(this.#nowMs);
  }

  /**
   * The state machine was snapshotted (by the shell) at `snapshot.index`: the
   * log may be compacted up to there, and lagging followers get this snapshot, read from
   * `snapshot.source` a chunk at a time. The shell also hands the store's source of a snapshot
   * installed from the leader once it is saved, so that its bytes leave memory.
   */
  snapshotTaken(snapshot: SnapshotRef): void {
    this.#snapshots.held(snapshot.index);
    this.#log.snapshotTaken(snapshot);
  }

  /** Lamport time of this node. */
  get lamport(): number {
    return this.#clock.value;
  }

  get isLeader(): boolean {
    return this.#log.isLeader;
  }

  get commitIndex(): number {
    return this.#log.commitIndex;
  }

  get term(): number {
    return this.#log.term;
  }

  get lastLogIndex(): number {
    return this.#log.lastIndex;
  }

  /** Effects produced during construction (recovery), e.g. the first hard state to persist. */
  takeEffects(): NodeEffects {
    const effects = this.#out.take();
    // A snapshot installed from the leader counts as this node's latest snapshot too.
    if (effects.persist.snapshot !== null) {
      this.#snapshots.held(effects.persist.snapshot.index, this.#sm.tasks.size);
    }
    return effects;
  }

  /** True when this node can answer clients now (a leader that has caught up). */
  get canServeClients(): boolean {
    return this.#gate.canServeClients;
  }

  /** Feeds one input; returns what the shell must do. */
  step(input: NodeInput): NodeEffects {
    return this.stepAll([input]);
  }

  /**
   * Feeds inputs that arrived together (one read chunk, one event-loop turn) and pumps the log
   * once after all of them: their proposals share one AppendEntries per follower and one disk
   * write, and their replies one flush. Equivalent to the same inputs a moment apart with no
   * pump in between (nothing commits between them).
   */
  stepAll(inputs: readonly NodeInput[]): NodeEffects {
    let ticked = false;
    let persisted = false;
    for (const input of inputs) {
      this.#accept(input);
      ticked ||= input.type === "tick";
      persisted ||= input.type === "persisted";
    }
    this.#pump();
    const caughtUp = this.#history.caughtUp(this.#sm.appliedIndex, this.#nowMs);
    if (caughtUp !== null) this.#out.log(caughtUp.level, caughtUp.line);
    // On the tick's clock, after the step, so it reports who leads once the tick is done.
    if (ticked) this.#askAnnouncement();
    // Checked when entries become durable, as the shell did before it asked the node.
    if (persisted) {
      const installed = this.#out.effects.persist.snapshot;
      if (installed !== null) this.#snapshots.held(installed.index, this.#sm.tasks.size);
      this.#out.effects.snapshotDue = this.#snapshots.due(this.#sm);
    }
    return this.takeEffects();
  }

  #accept(input: NodeInput): void {
    this.#nowMs = Math.max(this.#nowMs, input.nowMs);
    switch (input.type) {
      case "tick":
        this.#onTick();
        break;
      case "hello":
        welcome(this.#inputs, input);
        break;
      case "datagramRejected":
        this.#droppedDatagrams[input.reason] += 1;
        break;
      case "clientRequest":
        this.#clients.receive(input);
        break;
      case "login":
        this.#onLogin(input);
        break;
      case "loginChecked":
        this.#onLoginChecked(input);
        break;
      case "workerMessage":
        this.#links.receive(input.conn, input.message);
        break;
      case "heartbeat":
        observeHeartbeat(this.#inputs, input.heartbeat);
        break;
      case "protocolError":
        refuseFrame(this.#inputs, input);
        break;
      case "connectionClosed":
        this.#keepalives.dropClient(input.conn);
        this.#waiters.dropConnection(input.conn);
        this.#links.onConnectionClosed(input.conn);
        break;
      case "persisted":
        this.#log.persisted(input.index, input.term);
        break;
      case "peerDisconnected":
        this.#log.peerDisconnected(input.from, this.#nowMs);
        break;
      case "peerMessage":
        this.#onPeerMessage(input.from, input.message);
        break;
      default:
        assertNever(input, "unknown node input");
    }
  }

  /**
   * Only a leader that has caught up checks passwords (and counts failures): it asks the shell,
   * with the account's current hash; any other node answers as for a refused check (a redirect).
   */
  #onLogin(input: LoginRequest): void {
    if (this.#gate.canServeClients) this.#out.effects.loginWork.push(loginWorkFor(input, this.#sm));
    else this.#onLoginChecked(refusedUnchecked(input));
  }

  #onLoginChecked(input: Extract<NodeInput, { type: "loginChecked" }>): void {
    this.#clock.receiveUntrusted(input.lamport, this.#nowMs);
    this.#turns.run(input.conn, input.requestId, false, () => handleLoginChecked(this.#ctx, input));
  }

  #onPeerMessage(from: string, message: PeerMessage): void {
    // Bounded like a client's: a peer's clock follows ours, and one bad frame must not end ours.
    this.#clock.receiveUntrusted(message.lamport, this.#nowMs);
    const lastBefore = this.#log.lastIndex;
    this.#log.step(from, message, this.#nowMs);
    if (message.type === "appendEntries") {
      this.#history.noteArrivals(lastBefore, message.leaderCommit, this.#log.lastIndex);
    }
  }

  // ---- the log pump: drain, apply, schedule ----

  #pump(): void {
    for (let round = 0;; round++) {
      const out = this.#log.drain();
      const drainedUpTo = this.#log.lastIndex;
      const barriersBefore = this.#turns.barriersRequested;
      if (out.snapshot !== null) this.#installSnapshot(out.snapshot);
      for (const warning of out.warnings) this.#out.log("warn", warning);
      this.#out.effects.persist.entries.push(...out.entries);
      if (out.hardState !== null) this.#out.effects.persist.hardState = out.hardState;
      for (const { to, message } of out.messages) {
        this.#out.effects.peerSend.push({ to, message: this.#clock.stampPeer(message) });
      }
      for (const { to, message } of out.messagesAfterPersist) {
        this.#out.effects.peerSendAfterPersist.push({
          to,
          message: this.#clock.stampPeer(message),
        });
      }
      if (out.roleChanged) this.#onRoleChanged();
      for (const entry of out.committed) this.#applyEntry(entry);
      this.#onReads(out.readsReady, out.readsFailed);
      this.#links.replayDeferred();
      this.#maybeBootstrapUsers();
      if (this.#gate.isReady && !this.#out.recovering && round < MAX_PUMP_ROUNDS) this.#schedule();
      // Applying and scheduling may propose, and applying may ask for a read barrier (a worker's
      // reconciliation): drain again so nothing is left unpersisted or unconfirmed.
      if (
        this.#log.lastIndex === drainedUpTo && this.#turns.barriersRequested === barriersBefore
      ) return;
    }
  }

  #onRoleChanged(): void {
    this.#proposals.clear();
    // A follower has no live output, and a new leader's starts with the batches it receives.
    this.#liveOutput.clear();
    this.#retention.clear();
    this.#expiry.clear();
    this.#scheduleRounds.clear();
    this.#admission.clear();
    if (!this.#log.isLeader) {
      // Our proposals may or may not commit under the new leader: callers retry (idempotently).
      this.#pending.abandon((conn, requestId) => this.#gate.sendNotLeader(conn, requestId));
      // Workers must follow the new leader: close their connections, including those whose
      // registration was still held while this node was catching up (else they would wait here).
      this.#out.effects.close.push(...this.#links.dropAll());
    }
    this.#gate.roleChanged();
    if (this.#log.isLeader) {
      // A new leader gives every worker a full timeout to show up (grace period).
      this.#detector.grantGrace(this.sm.workers.values(), this.#nowMs);
      this.#out.log("info", `Leading term ${this.#log.term}`);
    }
  }

  /** Once per term, as a ready leader: configures the cluster file's accounts that need it. */
  #maybeBootstrapUsers(): void {
    if (this.#bootstrappedTerm === this.#log.term || !this.#gate.isReady) return;
    this.#bootstrappedTerm = this.#log.term;
    for (
      const { account, line } of accountsToConfigure(this.#sm, this.options.bootstrapUsers ?? [])
    ) {
      this.#out.log("info", line);
      const index = this.#propose({ type: "accountConfigured", ...account, atMs: this.#nowMs });
      if (index !== null) this.#gate.bootstrapIndex = index;
    }
  }

  #installSnapshot(snapshot: StoredSnapshot & { discardLog: boolean }): void {
    const data = decodeSnapshot(snapshot.data);
    const metrics = this.#sm.metrics;
    this.#sm = restoreSnapshot(data);
    // Local observations outlive the state they were made on (a counter must not go back).
    this.#sm.metrics = metrics;
    this.#clock.observeApplied(this.#sm.maxLamport);
    this.#out.effects.persist.snapshot = snapshot;
    this.#out.log("info", `Installed a snapshot from the leader at index ${snapshot.index}`);
  }

  /** Tells the requests whose barrier failed "not leader"; answers those whose barrier holds. */
  #onReads(ready: readonly ReadyRead[], failed: readonly number[]): void {
    for (const barrier of this.#turns.settle(ready, failed)) {
      this.#gate.sendNotLeader(barrier.conn, barrier.requestId);
    }
    this.#turns.serveHolding(this.#sm.appliedIndex);
  }

  /**
   * Refuses a request on the strength of this node's state (unknown session, no such task,
   * not an admin, …). Before the request's read barrier holds, the refusal is only noted: a
   * deposed leader's state may lack what the new leader acknowledged, so the request is handled
   * again once the barrier holds, and only then refused.
   */
  #refuse(conn: ConnId, requestId: number, code: ErrorCode, message: string): void {
    if (this.#turns.defers()) return;
    this.#out.sendError(conn, requestId, code, message);
  }

  #propose(command: Command): number | null {
    return this.#log.propose([command]);
  }

  #stamp(): Stamp {
    return this.#clock.stamp(this.#nowMs, this.options.nodeId);
  }

  #applyEntry(entry: LogEntry): void {
    // Re-applying what was on disk at start only silences log lines: never messages, because an
    // entry at such an index may have been replaced since by a new leader's (perhaps ours).
    const out = this.#out;
    const wasQuiet = out.quietLogs;
    out.quietLogs = wasQuiet || entry.index <= this.#replayUpTo;
    out.historyLogs = this.#history.applying(entry.index);
    try {
      this.#applyOne(entry);
    } finally {
      out.quietLogs = wasQuiet;
      out.historyLogs = false;
    }
  }

  #applyOne(entry: LogEntry): void {
    const command = entry.command;
    const touched = tasksTouchedBy(this.#sm, command);
    const cancelledOn = command.type === "taskCancelled"
      ? currentHolder(this.#sm, command.taskId)
      : null;
    const result = this.sm.apply(entry);
    // Only a node serving HTTP streams events: the others skip deriving them (a hot-path cost).
    if (this.options.eventStream === true) {
      this.events.append(entry.index, streamEventsOf(entry, this.#sm.eventsOfLastApply));
    }
    if (command.type === "tasksRemoved") this.#retention.applied(entry.index);
    if (command.type === "tasksExpired") this.#expiry.applied(entry.index);
    this.#clock.observeApplied(this.#sm.maxLamport);
    afterApply(this.#ctx, command, result);
    if (cancelledOn !== null && result.type === "ok") {
      this.#links.sendToWorker(cancelledOn.workerId, {
        type: "abort",
        taskId: cancelledOn.taskId,
        attempt: cancelledOn.attempt,
        reason: "task was cancelled",
      });
    }
    const pending = this.#pending.take(entry.index);
    if (pending !== undefined) resolvePending(this.#ctx, pending, result);
    // Tasks ended by the entry's own effects too (dependents failed with it, tasks expired).
    for (const taskId of [...touched, ...this.#sm.endedByLastApply]) {
      // The attempt ended or moved: its final output (if any) is in its result now.
      this.#liveOutput.drop(taskId);
      answerFinished(this.#waiters, { sm: this.#sm, taskId, out: this.#out });
    }
    if (this.#turns.waiting > 0) this.#turns.serveHolding(this.#sm.appliedIndex);
  }

  // ---- scheduling and failure detection ----

  #schedule(): void {
    proposeAssignments(this.#rounds);
  }

  #onTick(): void {
    this.#log.tick(this.#nowMs);
    this.#detector.tick(this.#nowMs);
    answerExpired(this.#waiters, { sm: this.#sm, nowMs: this.#nowMs, out: this.#out });
    this.#sendKeepalives();
    if (!this.#gate.isReady) return;
    this.#liveOutput.sweep(this.#nowMs, (taskId, attempt, workerId) => {
      const task = this.#sm.tasks.get(taskId);
      return task?.state === "running" && task.attempt === attempt && task.workerId === workerId;
    });
    proposeLosses(this.#rounds);
    const policy = this.options.retention ?? DEFAULT_RETENTION;
    sweepRetention(this.#sm, this.#retention, policy, this.#nowMs, this.#rounds);
    sweepExpiries(this.#sm, this.#expiry, this.#nowMs, this.#rounds);
    proposeFirings(this.#scheduleCtx);
  }

  // ---- client requests ----

  /** Proposes a command whose application answers a request. */
  #proposeFor(pending: Pending, command: Command): void {
    const index = this.#propose(command);
    if (index !== null) this.#pending.add(index, pending);
  }

  /** A leader asks the shell to announce it: at once in a new term, then periodically. */
  #askAnnouncement(): void {
    if (!this.#announcements.due(this.#log.isLeader, this.#log.term, this.#nowMs)) return;
    this.#out.effects.announce = { term: this.#log.term, lamport: this.#clock.value };
  }

  /**
   * Once per heartbeat interval: tells every client that this orchestrator is alive, and, as
   * leader, every worker (a worker connected to a follower is redirected anyway).
   */
  #sendKeepalives(): void {
    const workers = this.#log.isLeader ? this.#links.connections() : [];
    const due = this.#keepalives.due(this.#nowMs, this.options.heartbeatIntervalMs, workers);
    for (const conn of due) this.#out.sendRaw(conn, { type: "keepalive" });
  }
}
