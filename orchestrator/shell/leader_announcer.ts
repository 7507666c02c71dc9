/**
 * Multicast announcements of where the leader is: at once when this node leads in a new term,
 * then every {@link ANNOUNCE_INTERVAL_MS} while it still leads, so clients and workers on the
 * network can find it without a configured address.
 * @module
 */
import { Announcer, type MulticastGroup } from "../../shared/net/multicast.ts";
import type { ClusterKeys } from "../../shared/auth/mod.ts";
import type { OrchestratorNode } from "../core/mod.ts";

/** How often a leader repeats its multicast announcement. */
const ANNOUNCE_INTERVAL_MS = 250;

/** Who announces, and where it can be reached. */
export interface LeaderIdentity {
  clusterId: string;
  nodeId: string;
  /** host:port of this orchestrator's TCP listener. */
  address: string;
}

export class LeaderAnnouncer {
  readonly #announcer: Announcer;
  readonly #identity: LeaderIdentity;
  #announcedAtMs = 0;
  #announcedTerm = -1;
  #announceSeq = 0;

  constructor(
    group: MulticastGroup,
    options: { keys: ClusterKeys | null; identity: LeaderIdentity },
  ) {
    this.#announcer = new Announcer(group, options.keys);
    this.#identity = options.identity;
  }

  /** The leader tells the multicast group where it is: at once in a new term, then periodically. */
  maybeAnnounce(node: OrchestratorNode, nowMs: number): void {
    if (!node.isLeader) return;
    const term = node.term;
    if (term === this.#announcedTerm && nowMs - this.#announcedAtMs < ANNOUNCE_INTERVAL_MS) return;
    this.#announcedTerm = term;
    this.#announcedAtMs = nowMs;
    void this.#announcer.announce({
      clusterId: this.#identity.clusterId,
      nodeId: this.#identity.nodeId,
      term,
      address: this.#identity.address,
      seq: this.#announceSeq++,
      sentAtMs: nowMs,
      lamport: node.lamport,
    });
  }

  close(): void {
    this.#announcer.close();
  }
}
