/**
 * Multicast announcements of where the leader is, sent when the node asks (its `announce`
 * effect: at once when it leads in a new term, then periodically), so clients and workers on the
 * network can find it without a configured address.
 * @module
 */
import { Announcer, type MulticastGroup } from "../../shared/net/multicast.ts";
import type { ClusterKeys } from "../../shared/auth/mod.ts";
import type { LeaderAnnouncementDue } from "../core/mod.ts";

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
  #announceSeq = 0;

  constructor(
    group: MulticastGroup,
    options: { keys: ClusterKeys | null; identity: LeaderIdentity },
  ) {
    this.#announcer = new Announcer(group, options.keys);
    this.#identity = options.identity;
  }

  /** Tells the multicast group where the leader is, as the node asked. */
  announce(due: LeaderAnnouncementDue, nowMs: number): void {
    void this.#announcer.announce({
      clusterId: this.#identity.clusterId,
      nodeId: this.#identity.nodeId,
      term: due.term,
      address: this.#identity.address,
      seq: this.#announceSeq++,
      sentAtMs: nowMs,
      lamport: due.lamport,
    });
  }

  close(): void {
    this.#announcer.close();
  }
}
