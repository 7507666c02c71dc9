/**
 * The cluster file's accounts a leader must (re)configure: those whose password hash the cluster
 * has never applied (AccountConfigured), once per cluster and hash rather than once per term, so
 * an account removed or re-passworded since stays so, and the file's accounts are created on a
 * new cluster.
 * @module
 */
import type { TaskStateMachine } from "../tasks/mod.ts";

export interface BootstrapAccount {
  name: string;
  role: "admin" | "user";
  passwordHash: string;
}

/** The accounts to configure now, each with the log line that says so. */
export function accountsToConfigure(
  sm: TaskStateMachine,
  accounts: readonly BootstrapAccount[],
): Array<{ account: BootstrapAccount; line: string }> {
  const due = [];
  for (const account of accounts) {
    if (sm.isConfigured(account.name, account.passwordHash)) continue;
    const what = sm.users.has(account.name) ? "Updating" : "Creating";
    due.push({
      account,
      line: `${what} account "${account.name}" (${account.role}) from the cluster configuration`,
    });
  }
  return due;
}
