/**
 * Carries out one step's {@link NodeEffects} in the order their type documents. The one place
 * that order is written: the orchestrator server and the simulator both run effects through it,
 * each with its own ports (sockets and fsync, or the simulated network and disk).
 * @module
 */
import type {
  ConnId,
  LeaderAnnouncementDue,
  LoginWork,
  LogLine,
  NodeEffects,
  Outbound,
  PasswordWork,
  PeerOutbound,
  SnapshotDue,
} from "../core/mod.ts";
import type { PeerMessage } from "../../shared/protocol/peer_messages.ts";

/** Where effects go. Each port does one thing at once; only `enqueue` may defer work. */
export interface EffectPorts {
  log(line: LogLine): void;
  sendPeer(to: string, message: PeerMessage): void;
  /** A snapshot installed from the leader counts as this node's latest snapshot too. */
  snapshotInstalled(index: number): void;
  /**
   * Queues `persist` behind everything staged before; `peerMessages` go out once all of it is
   * durable (merged with those of the other jobs the same sync covers: GroupCommit).
   */
  enqueue(persist: NodeEffects["persist"], peerMessages: readonly PeerOutbound[]): void;
  send(outbound: Outbound): void;
  close(conn: ConnId): void;
  passwordWork(work: PasswordWork): void;
  loginWork(work: LoginWork): void;
  /** Must capture `due.state` before returning (the node's next step changes it). */
  snapshotDue(due: SnapshotDue): void;
  announce(announcement: LeaderAnnouncementDue): void;
}

/**
 * Runs `effects` through `ports`: log, peer sends, persistence, sends, closes, password work,
 * login work, a due snapshot (queued behind this step's persistence), then the leader's
 * announcement.
 */
export function runEffects(effects: NodeEffects, ports: EffectPorts): void {
  for (const line of effects.log) ports.log(line);
  for (const { to, message } of effects.peerSend) ports.sendPeer(to, message);
  const { persist } = effects;
  const after = effects.peerSendAfterPersist;
  if (persist.snapshot !== null) ports.snapshotInstalled(persist.snapshot.index);
  const needsPersist = persist.entries.length > 0 || persist.hardState !== null ||
    persist.snapshot !== null;
  // "After persist" means after everything staged so far is durable, this step's and earlier
  // steps' still in the queue: such messages ride the queue even when this step staged nothing.
  if (needsPersist || after.length > 0) ports.enqueue(persist, after);
  for (const outbound of effects.send) ports.send(outbound);
  for (const conn of effects.close) ports.close(conn);
  for (const work of effects.passwordWork) ports.passwordWork(work);
  for (const work of effects.loginWork) ports.loginWork(work);
  if (effects.snapshotDue !== null) ports.snapshotDue(effects.snapshotDue);
  if (effects.announce !== null) ports.announce(effects.announce);
}
