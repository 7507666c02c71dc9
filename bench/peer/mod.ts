/**
 * Peer systems `deno task bench --peer NAME` compares Mutirão with.
 * @module
 */
import type { PeerSystem } from "../lib/scenario.ts";
import { bullmqPeer } from "./bullmq_peer.ts";

/** Each `--peer` name and the systems it stands for (a default and a durable configuration). */
const PEERS: Record<string, () => PeerSystem[]> = {
  bullmq: () => [bullmqPeer({ durable: false }), bullmqPeer({ durable: true })],
};

/** The names `--peer` accepts. */
export const PEER_NAMES: readonly string[] = Object.keys(PEERS);

/**
 * The systems of `--peer name`.
 * @throws {RangeError} for an unknown name
 */
export function resolvePeer(name: string): PeerSystem[] {
  const make = PEERS[name];
  if (make === undefined) {
    throw new RangeError(`Unknown peer "${name}": choose from ${PEER_NAMES.join(", ")}`);
  }
  return make();
}
