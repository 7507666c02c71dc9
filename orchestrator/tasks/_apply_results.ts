/**
 * The two apply results every command module returns: done, or refused with a reason.
 * @module
 */
import type { ApplyResult } from "./commands.ts";

export const OK: ApplyResult = { type: "ok" };

export function rejected(reason: string): ApplyResult {
  return { type: "rejected", reason };
}
