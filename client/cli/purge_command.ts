/**
 * `mutirao purge`: an admin removes finished tasks now. The orchestrator removes at most a batch
 * per request and says how many matched, so this repeats until nothing that matched is left.
 * @module
 */
import { type Context, withSessionClient } from "./cluster_session.ts";
import type { Output } from "./outcome.ts";
import type { Command } from "./parse_command.ts";

type PurgeCommand = Extract<Command, { name: "purge" }>;

export async function purge(context: Context, command: PurgeCommand): Promise<Output> {
  const result = await withSessionClient(context, async (c, session) => {
    const request = {
      type: "purge" as const,
      token: session.token,
      ...(command.states.length > 0 ? { states: command.states } : {}),
      ...(command.owner !== null ? { owner: command.owner } : {}),
      ...(command.olderThanMs !== null ? { olderThanMs: command.olderThanMs } : {}),
      ...(command.dryRun ? { dryRun: true } : {}),
    };
    let removed = 0;
    let first: number | null = null;
    // Each round removes what matched up to the server's batch; tasks finishing meanwhile may
    // match too, so the rounds are bounded by what matched at first (plus slack), not open-ended.
    for (let round = 0;; round++) {
      const reply = await c.request(request);
      first ??= reply.matched;
      removed += reply.removed;
      const left = reply.matched - reply.removed;
      if (reply.dryRun || reply.removed === 0 || left <= 0 || removed >= first + round) {
        return { matched: first, removed, dryRun: reply.dryRun };
      }
    }
  });
  const what = describeFilter(command);
  const text = result.dryRun
    ? `${result.matched} finished task(s)${what} match; nothing removed (dry run)`
    : `Removed ${result.removed} finished task(s)${what}`;
  return { json: result, text };
}

function describeFilter(command: PurgeCommand): string {
  const parts: string[] = [];
  if (command.states.length > 0) parts.push(`in ${command.states.join("/")}`);
  if (command.owner !== null) parts.push(`of ${command.owner}`);
  if (command.olderThanMs !== null) parts.push(`finished over ${command.olderThanMs} ms ago`);
  return parts.length === 0 ? "" : ` ${parts.join(", ")}`;
}
