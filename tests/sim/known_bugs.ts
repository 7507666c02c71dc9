/**
 * Product bugs the simulator found, each with the check that detects it. While
 * a bug is open, the CI seed suite and `deno task sim` tolerate it (counting
 * every hit and printing a replay command) so they still catch everything
 * else; `--strict` or `--fail-on ID` fails on it. Once fixed, mark it "fixed":
 * its check then fails like any other violation, guarding against regressions.
 * @module
 */

export const KNOWN_BUG_IDS = [
  "groupCommitUnderReport",
  "loginRefusedOffLeader",
  "unreadyLeaderServesStaleState",
  "strandedWorkerRegistration",
  "staleLeaderRefusal",
  "bootstrapAccountResurrected",
  "lastAdminRemovable",
  "sessionOutlivesRevocation",
] as const;
export type KnownBugId = typeof KNOWN_BUG_IDS[number];

export interface KnownBug {
  /** Where the bug is. */
  where: string;
  summary: string;
  /** "open", or the commit that fixed it. */
  status: "open" | { fixedIn: string };
}

export const KNOWN_BUGS: Record<KnownBugId, KnownBug> = {
  groupCommitUnderReport: {
    where: "orchestrator/shell/group_commit.ts (GroupCommit#stage)",
    summary: "a snapshot job queued after an entries job in the same batch resets the last " +
      "written position to the snapshot's lower index, so `persisted` under-reports: the node " +
      "does not apply (and a leader does not count) entries that are durable, until a later " +
      "batch happens to report past them; in an idle cluster, forever",
    status: { fixedIn: "1a7fa4a" },
  },
  loginRefusedOffLeader: {
    where: "OrchestratorNode#canServeClients / #onLoginChecked (bootstrap accounts)",
    summary: "a login is judged against the receiving node's own copy of the accounts: " +
      "a leader that has caught up but not yet applied the bootstrap accounts it just proposed " +
      "(right after a cluster starts) answers 'Wrong user name or password' (bad_credentials, " +
      "not retried by clients) for the right password, and counts it in the throttle. " +
      "(Before 1a7fa4a, followers and restarted nodes did the same.)",
    status: { fixedIn: "bootstrap-index" },
  },
  unreadyLeaderServesStaleState: {
    where: "OrchestratorNode#onClientRequest (authenticate, cancel)",
    summary: "a new leader answered requests from its applied state before it had applied what " +
      "earlier terms committed: it refused committed sessions ('Unknown session token; log in " +
      "again') and answered 'not found' to a cancel of an acknowledged task",
    status: { fixedIn: "1a7fa4a" },
  },
  strandedWorkerRegistration: {
    where: "OrchestratorNode#onRoleChanged (deferred worker messages)",
    summary: "a new leader holds worker registrations until it has applied its term's first " +
      "entry; when it stepped down before that, it dropped them without an answer and without " +
      "closing those connections, so the workers waited on a follower for ever: unregistered, " +
      "their heartbeats were ignored and they never got a task",
    status: { fixedIn: "1a7fa4a" },
  },
  staleLeaderRefusal: {
    where: "OrchestratorNode#requireReadyLeader / #authenticate / #ownedTask (cancel) / " +
      "account_requests.ts / #onLoginChecked",
    summary: "a deposed leader (cut off from its peers, still believing it leads until " +
      "check-quorum demotes it) answers from its own state: 'Unknown session token' for " +
      "sessions the new leader opened, 'not found' to a cancel of a task the new leader " +
      "acknowledged, 'Wrong user name or password' for a password the new leader set, " +
      "'not found' to user passwd/remove and token revoke, stale user and token lists; " +
      "clients take these answers as final (issue 14, bug 2)",
    status: { fixedIn: "576d334" },
  },
  bootstrapAccountResurrected: {
    where: "OrchestratorNode#maybeBootstrapUsers",
    summary: "every new leader re-creates the cluster file's accounts that are missing, so " +
      "`user remove` of such an account is undone at the next leader change, with its old " +
      "bootstrap password (issue 14, bug 4)",
    status: { fixedIn: "a09c994" },
  },
  lastAdminRemovable: {
    where: "account_requests.ts (userRemove) / TaskStateMachine (userRemoved)",
    summary: "removing the last admin is allowed: the cluster is left without anyone who may " +
      "manage accounts (issue 14, bug 4)",
    status: { fixedIn: "a09c994" },
  },
  sessionOutlivesRevocation: {
    where: "OrchestratorNode#onLoginChecked (sessionOpened) / TaskStateMachine (sessionOpened)",
    summary: "a login checks the password, then proposes its session: when a password change or " +
      "the user's removal commits in between, the session opens after the revocation that " +
      "should have ended it, with the old password; it stays listed (and, once the user is " +
      "re-added, valid) although the README says a password change revokes the user's sessions",
    status: { fixedIn: "sessionOpened carries the checked password hash" },
  },
};

/** The known bugs still open. */
export const OPEN_KNOWN_BUG_IDS: readonly KnownBugId[] = KNOWN_BUG_IDS.filter((id) =>
  KNOWN_BUGS[id].status === "open"
);

/** How the known bugs are treated in a run. */
export interface KnownBugPolicy {
  /** Known bugs counted instead of failing the run. */
  tolerated: ReadonlySet<KnownBugId>;
}

/** Every open known bug tolerated (CI, and `deno task sim` by default). */
export const TOLERATE_KNOWN_BUGS: KnownBugPolicy = { tolerated: new Set(OPEN_KNOWN_BUG_IDS) };

/** No bug tolerated (`--strict`). */
export const STRICT: KnownBugPolicy = { tolerated: new Set() };

/** A tolerated known bug made the rest of the run meaningless (e.g. a stall): it ends here. */
export class KnownBugStop extends Error {
  override name = "KnownBugStop";
  readonly id: KnownBugId;

  constructor(id: KnownBugId, message: string) {
    super(message);
    this.id = id;
  }
}
