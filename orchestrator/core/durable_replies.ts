/**
 * The messages a node sends once a sync made its log durable, merged: a follower acknowledges
 * every AppendEntries it stored, and one sync often stores several, but only the highest match
 * matters to the leader (its window counts messages by their last index, see raft_replication.ts).
 * So successful appendResponses to one leader in one term become one, with the highest match and
 * the highest read context, sent where the last of them was; everything else is kept, in order.
 * @module
 */
import type { PeerOutbound } from "./node_io.ts";

export function mergeDurableReplies(messages: readonly PeerOutbound[]): PeerOutbound[] {
  const last = new Map<string, number>();
  let successes = 0;
  messages.forEach(({ to, message }, i) => {
    if (message.type === "appendResponse" && message.success) {
      successes += 1;
      last.set(`${to}\u0000${message.term}`, i);
    }
  });
  // Nothing to merge: at most one success per leader and term.
  if (successes === last.size) return [...messages];
  const merged: PeerOutbound[] = [];
  const best = new Map<string, { matchIndex: number; readCtx: number }>();
  messages.forEach((outbound, i) => {
    const { to, message } = outbound;
    if (message.type !== "appendResponse" || !message.success) {
      merged.push(outbound);
      return;
    }
    const key = `${to}\u0000${message.term}`;
    const seen = best.get(key);
    const top = {
      matchIndex: Math.max(seen?.matchIndex ?? 0, message.matchIndex),
      readCtx: Math.max(seen?.readCtx ?? 0, message.readCtx),
    };
    best.set(key, top);
    if (last.get(key) === i) merged.push({ to, message: { ...message, ...top } });
  });
  return merged;
}
