/**
 * The shell's link to the cluster for one command: the session it acts under, and a client
 * bound to the session's cluster (its token goes nowhere else).
 * @module
 */
import { RemoteError } from "../../shared/errors.ts";
import type { LamportClock } from "../../shared/lamport_clock.ts";
import { MutiraoClient } from "../api/mod.ts";
import { notLoggedIn } from "./cli_error.ts";
import type { GlobalOptions } from "./parse_command.ts";
import { resolveTarget, type Target } from "./resolve_target.ts";
import { boundClusterId } from "./session_binding.ts";
import type { ClientState, Session } from "./session_store.ts";

/** Default `--timeout` of a request, in seconds. */
const TIMEOUT_S_DEFAULT = 10;

/** What a command runs with. */
export interface Context {
  options: GlobalOptions;
  state: ClientState;
  clock: LamportClock;
}

/**
 * The session, if it is still valid.
 * @throws {CliError} (exit 4) when there is none or it expired.
 */
export function requireSession(context: Context): Session {
  const session = context.state.session;
  if (session === null) throw notLoggedIn("Not logged in");
  if (session.expiresAtMs <= Date.now()) throw notLoggedIn("Session expired");
  return session;
}

/**
 * Runs `use` with a client bound to the session's cluster: its token goes only to orchestrators
 * verified with the CA of the login (TLS) and whose welcome names the session's cluster id.
 */
export async function withSessionClient<T>(
  context: Context,
  use: (client: MutiraoClient, session: Session) => Promise<T>,
): Promise<T> {
  const session = requireSession(context);
  const target = await resolveTarget({ options: context.options, session });
  const clusterId = boundClusterId(session, target.caFingerprint);
  try {
    return await withClient(context, target, (c) => use(c, session), clusterId);
  } catch (error) {
    throw unauthenticatedAsNotLoggedIn(error);
  }
}

/** A token the cluster does not know means "log in again" (exit 4), in the CLI's words. */
export function unauthenticatedAsNotLoggedIn(error: unknown): unknown {
  if (error instanceof RemoteError && error.code === "unauthenticated") {
    return notLoggedIn(error.message.replace(/; log in again$/, ""));
  }
  return error;
}

/** Runs `use` with a client for `target`, closed afterwards. */
export async function withClient<T>(
  context: Context,
  target: Target,
  use: (client: MutiraoClient) => Promise<T>,
  clusterId?: string,
): Promise<T> {
  const client = new MutiraoClient({
    orchestrators: target.orchestrators,
    timeoutMs: (context.options.timeoutS ?? TIMEOUT_S_DEFAULT) * 1000,
    clock: context.clock,
    tls: target.tls,
    ...(clusterId === undefined ? {} : { clusterId }),
  });
  try {
    return await use(client);
  } finally {
    client.close();
  }
}
