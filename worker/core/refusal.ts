/**
 * Defence in depth: what a worker refuses to run whatever it is sent (the scheduler should never
 * send it): exec tasks without --allow-exec or outside --exec-allow, handler tasks of a kind it
 * does not serve. Pure.
 * @module
 */
import { assertNever } from "../../shared/assert.ts";
import type { TaskSpec, WorkerInfo } from "../../shared/protocol/messages.ts";

/** Why a worker with `info` must not run `spec`, or null. */
export function refusalOf(spec: TaskSpec, info: WorkerInfo): string | null {
  switch (spec.kind) {
    case "sleep":
      return null;
    case "exec":
      if (!info.canExec) {
        return "This worker does not allow exec tasks (start it with --allow-exec)";
      }
      if (info.execAllow != null && !info.execAllow.includes(spec.argv[0])) {
        return `This worker does not allow the program "${spec.argv[0]}" (--exec-allow)`;
      }
      return null;
    case "handler":
      return (info.kinds ?? []).includes(spec.handler)
        ? null
        : `This worker serves no handler for kind ${spec.handler}`;
    default:
      return assertNever(spec, "unknown task kind");
  }
}
