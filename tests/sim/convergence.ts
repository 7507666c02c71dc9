/**
 * The end of a run: what "converged" means once faults stopped (a leader,
 * every orchestrator caught up, a rejoined one included, every client done,
 * every acknowledged task final), and the checks made then (every replica
 * equals a state machine fed the committed log from scratch; no two tasks
 * share an owner and key).
 * @module
 */
import { takeSnapshot, type TaskStateMachine } from "../../orchestrator/tasks/mod.ts";
import { isFinalState } from "../../shared/protocol/messages.ts";
import { canonicalJson } from "./canonical_json.ts";
import { SimViolation } from "./violation.ts";
import type { World } from "./world.ts";

/** Why the world has not converged yet; empty once it has. */
export function convergenceProblems(world: World): string[] {
  const problems: string[] = [];
  const busy = world.clients.filter((c) => c.isBusy).map((c) => c.name);
  if (busy.length > 0) problems.push(`client(s) ${busy.join(", ")} still have a request in flight`);
  const leader = world.leaders()[0];
  if (leader === undefined) return [...problems, "no leader"];
  const sm = leader.node.sm;
  if (
    sm.appliedIndex < leader.node.commitIndex || leader.node.commitIndex < leader.node.lastLogIndex
  ) {
    problems.push(
      `leader ${leader.id} applied ${sm.appliedIndex}, committed ${leader.node.commitIndex}, ` +
        `logged ${leader.node.lastLogIndex}`,
    );
  }
  for (const o of world.orchestrators) {
    // A node whose storage refused to start on damage is down until the operator rejoins it.
    if (!o.isAlive) {
      problems.push(o.refusal === null ? `${o.id} is down` : `${o.id} is down, to be rejoined`);
    } else if (o.isRejoining) problems.push(`${o.id} is still rejoining`);
    else if (o.node.sm.appliedIndex !== sm.appliedIndex) {
      problems.push(`${o.id} applied ${o.node.sm.appliedIndex}, the leader ${sm.appliedIndex}`);
    }
  }
  for (const ack of world.checker.acks.values()) {
    if (world.checker.wasRemoved(ack.taskId)) continue; // final before it was removed
    const task = sm.tasks.get(ack.taskId);
    if (task === undefined || !isFinalState(task.state)) {
      problems.push(
        `acknowledged task ${ack.taskId} is ${task?.state ?? "missing"} on ${leader.id}`,
      );
    }
  }
  return problems;
}

/**
 * Checks made once converged.
 * @throws {SimViolation} when one fails.
 */
export function checkConverged(world: World): void {
  const leaders = world.leaders();
  if (leaders.length > 1 && leaders[0].term === leaders[1].term) {
    throw new SimViolation(`two live leaders of term ${leaders[0].term}`);
  }
  const leader = leaders[0];
  world.checkAcksEverywhere();
  checkNoDuplicateKeys(leader.id, leader.node.sm);
  const reference = canonicalJson(takeSnapshot(world.checker.reference));
  for (const o of world.orchestrators) {
    const state = canonicalJson(takeSnapshot(o.node.sm));
    if (state !== reference) {
      throw new SimViolation(
        `${o.id}'s state differs from the committed log replayed from scratch: ` +
          firstDifference(state, reference),
      );
    }
  }
}

function checkNoDuplicateKeys(nodeId: string, sm: TaskStateMachine): void {
  const seen = new Map<string, string>();
  for (const task of sm.tasks.values()) {
    const key = `${task.owner}\0${task.idempotencyKey}`;
    const other = seen.get(key);
    if (other !== undefined) {
      throw new SimViolation(
        `${nodeId}: tasks ${other} and ${task.id} share owner ${task.owner} and key ${task.idempotencyKey}`,
      );
    }
    seen.set(key, task.id);
  }
}

function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  const from = Math.max(0, i - 80);
  return `…${a.slice(from, i + 80)}… versus …${b.slice(from, i + 80)}…`;
}
