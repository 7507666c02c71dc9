// Not a test: a cluster of three orchestrator cores on a synchronous network, shared by the
// node tests that need several cores (deposed leaders, catching up).
import assert from "node:assert/strict";
import type { ClientToOrchestrator, OrchestratorToClient } from "../../shared/protocol/messages.ts";
import { createPrng } from "../../shared/prng.ts";
import { buildNode, emptyRecovery } from "./node_builder.ts";
import type { ConnId, LogLine, NodeEffects, NodeInput } from "./node_io.ts";
import type { NodeOptions, OrchestratorNode } from "./orchestrator_node.ts";

export const IDS = ["o1", "o2", "o3"];
export const HASH_A = "scrypt$1$1$1$AAAA$BBBB";
export const HASH_B = "scrypt$1$1$1$CCCC$DDDD";
const TICK_MS = 10;
const CLIENT: ConnId = 1;

type Request = Exclude<ClientToOrchestrator, { type: "login" }>;
type WithoutEnvelope<M> = M extends unknown ? Omit<M, "v" | "lamport" | "id" | "token"> : never;

/** What the shell would compute with SHA-256; any function works as long as it is the same. */
export function hashOf(token: string): string {
  return `sha256(${token})`;
}

/**
 * Three orchestrator cores wired by a synchronous network: every staged entry is reported durable
 * at once, every peer message delivered at once unless its sender or receiver is isolated. Records
 * what each node sent to clients and logged.
 */
export class CoreCluster {
  readonly nodes = new Map<string, OrchestratorNode>();
  readonly isolated = new Set<string>();
  /** Messages each node sent to clients, in order. */
  readonly sent = new Map<string, Array<{ conn: ConnId; message: OrchestratorToClient }>>();
  /** Lines each node logged, in order. */
  readonly logs = new Map<string, LogLine[]>();
  nowMs = 0;
  #queue: Array<{ from: string; to: string; input: NodeInput }> = [];
  #lamport = 0;
  #requestId = 1;

  constructor(options: { node?: Partial<NodeOptions>; maxEntriesPerMessage?: number } = {}) {
    for (const [i, id] of IDS.entries()) {
      const node = buildNode({
        node: {
          nodeId: id,
          clusterId: "c1",
          heartbeatIntervalMs: 1000,
          missedHeartbeats: 3,
          schedulerPolicy: "round-robin",
          defaultMaxAttempts: 3,
          bootstrapUsers: [{ name: "alice", role: "admin", passwordHash: HASH_A }],
          ...options.node,
        },
        raft: {
          nodeId: id,
          voters: IDS,
          electionTimeoutMinMs: 150 + 100 * i,
          electionTimeoutMaxMs: 151 + 100 * i,
          heartbeatIntervalMs: 50,
          ...(options.maxEntriesPerMessage === undefined
            ? {}
            : { maxEntriesPerMessage: options.maxEntriesPerMessage }),
          rng: createPrng(i + 1),
        },
        recovered: emptyRecovery(),
        nowMs: 0,
      }).node;
      this.nodes.set(id, node);
      this.sent.set(id, []);
      this.logs.set(id, []);
      this.#handle(id, node.takeEffects());
    }
  }

  leader(): string | null {
    return IDS.find((id) => !this.isolated.has(id) && this.nodes.get(id)!.canServeClients) ?? null;
  }

  /** Advances time until `done()` holds (bounded), ticking the nodes that are not `frozen`. */
  runUntil(done: () => boolean, frozen: ReadonlySet<string> = new Set()): void {
    for (let i = 0; i < 2000 && !done(); i++) {
      this.nowMs += TICK_MS;
      for (const id of IDS) {
        if (!frozen.has(id)) this.step(id, { type: "tick", nowMs: this.nowMs });
      }
    }
    assert.ok(done(), "condition not reached in 20 simulated seconds");
  }

  step(id: string, input: NodeInput): void {
    this.#handle(id, this.nodes.get(id)!.step(input));
    this.#deliver();
  }

  request(
    id: string,
    token: string,
    body: WithoutEnvelope<Request>,
    passwordHash?: string,
  ): number {
    const requestId = this.#requestId++;
    const request = { ...body, id: requestId, token, v: 1, lamport: ++this.#lamport } as Request;
    this.step(id, {
      type: "clientRequest",
      conn: CLIENT,
      request,
      tokenHash: hashOf(token),
      ...(passwordHash === undefined ? {} : { passwordHash }),
      nowMs: this.nowMs,
    });
    return requestId;
  }

  login(id: string, user: string, token: string | null, checkedPasswordHash?: string): number {
    const requestId = this.#requestId++;
    this.step(id, {
      type: "loginChecked",
      conn: CLIENT,
      requestId,
      lamport: ++this.#lamport,
      user,
      session: token === null ? null : { token, tokenHash: hashOf(token), expiresAtMs: 1e12 },
      ...(checkedPasswordHash === undefined ? {} : { checkedPasswordHash }),
      nowMs: this.nowMs,
    });
    return requestId;
  }

  /** The reply node `id` sent to request `requestId`, if any. */
  replyTo(id: string, requestId: number): OrchestratorToClient | undefined {
    return this.sent.get(id)!.map((s) => s.message).find((m) => "re" in m && m.re === requestId);
  }

  #handle(id: string, effects: NodeEffects): void {
    for (const s of effects.send) this.sent.get(id)!.push(s as never);
    this.logs.get(id)!.push(...effects.log);
    for (const { to, message } of [...effects.peerSend, ...effects.peerSendAfterPersist]) {
      this.#queue.push({
        from: id,
        to,
        input: { type: "peerMessage", from: id, message, nowMs: 0 },
      });
    }
    const last = effects.persist.entries.at(-1);
    if (last !== undefined) {
      this.#queue.push({
        from: id,
        to: id,
        input: { type: "persisted", index: last.index, term: last.term, nowMs: 0 },
      });
    }
  }

  #deliver(): void {
    while (this.#queue.length > 0) {
      const { from, to, input } = this.#queue.shift()!;
      if (from !== to && (this.isolated.has(from) || this.isolated.has(to))) continue;
      this.#handle(to, this.nodes.get(to)!.step({ ...input, nowMs: this.nowMs }));
    }
  }
}
