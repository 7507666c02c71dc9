/**
 * The account commands' I/O: login, logout, `user …` and `token …`. Passwords are read from a
 * hidden prompt or stdin, never required on the command line.
 * @module
 */
import { UsageError } from "../../shared/cli_args.ts";
import { assert } from "../../shared/assert.ts";
import { CliError } from "./cli_error.ts";
import { type Context, requireSession, withClient, withSessionClient } from "./cluster_session.ts";
import { formatTime, formatTokens, formatUsers } from "./format.ts";
import type { Output } from "./outcome.ts";
import type { Command } from "./parse_command.ts";
import { PasswordReader } from "./read_password.ts";
import { resolveTarget } from "./resolve_target.ts";

type CommandOf<N extends Command["name"]> = Extract<Command, { name: N }>;

/** The shortest password `user add` and `user passwd` accept. */
const PASSWORD_CHARS_MIN = 8;

const PASSWORD_ARGUMENT_WARNING =
  "warning: a password given as an argument is visible to every local user (ps) and kept in " +
  "shell history; leave it out to be prompted, or pipe it on stdin";

export async function login(context: Context, command: CommandOf<"login">): Promise<Output> {
  const { user } = command;
  if (command.password !== null) {
    // Kept for existing scripts, but every local user can read it in `ps` (and `deno task`
    // echoes its command line), so say so each time.
    console.error(`mutirao: ${PASSWORD_ARGUMENT_WARNING}`);
  }
  const password = command.password ??
    await passwordReader(context).read(
      "Password: ",
      `Cannot log in as ${user}: no password given (type it at the prompt, or pipe it on stdin)`,
    );
  if (password === "") throw new UsageError(`Cannot log in as ${user}: the password is empty`);
  const target = await resolveTarget({ options: context.options, session: null });
  const { reply, clusterId } = await withClient(context, target, async (c) => {
    const reply = await c.request({ type: "login", user, password });
    return { reply, clusterId: c.clusterId };
  });
  // A reply implies a welcome, and the client adopted the cluster id of the first one.
  assert(clusterId !== null, "logged in without a welcome naming the cluster");
  context.state.session = {
    user: reply.user,
    token: reply.token,
    expiresAtMs: reply.expiresAtMs,
    orchestrators: target.orchestrators,
    tlsCaFile: target.tlsCaFile,
    clusterId,
    caFingerprint: target.caFingerprint,
  };
  const expiresAt = new Date(reply.expiresAtMs).toISOString();
  return {
    json: { user: reply.user, expiresAt, expiresAtMs: reply.expiresAtMs },
    text: `Logged in as ${reply.user} (session valid until ${formatTime(reply.expiresAtMs)})`,
  };
}

/**
 * Ends the session. Being logged out already is the state the user asked for, so a second
 * logout (or one after the session expired or was revoked) succeeds and says so.
 */
export async function logout(context: Context): Promise<Output> {
  const session = context.state.session;
  const already = (user: string | null, why: string): Output => {
    context.state.session = null;
    return { json: { loggedOut: true, user, alreadyLoggedOut: true }, text: why };
  };
  if (session === null) return already(null, "Not logged in; nothing to do");
  if (session.expiresAtMs <= Date.now()) {
    return already(session.user, `Logged out ${session.user} (the session had expired)`);
  }
  try {
    await withSessionClient(context, (c) => c.request({ type: "logout", token: session.token }));
  } catch (error) {
    // The cluster no longer knows the token (revoked, or expired by its clock): already out.
    if (!(error instanceof CliError && error.code === "unauthenticated")) throw error;
    return already(session.user, `Logged out ${session.user} (the cluster had ended the session)`);
  }
  context.state.session = null;
  return { json: { loggedOut: true, user: session.user }, text: `Logged out ${session.user}` };
}

export async function userAdd(context: Context, command: CommandOf<"userAdd">): Promise<Output> {
  // The session first: typing a password only to hear "not logged in" is a trap.
  requireSession(context);
  const password = await readNewPassword(passwordReader(context), {
    missing: `Cannot add user ${command.user}: no password given (type it at the prompt, or ` +
      "pipe it on stdin: echo PASSWORD | mutirao user add NAME)",
  });
  const reply = await withSessionClient(context, (c, session) =>
    c.request({
      type: "userAdd",
      token: session.token,
      name: command.user,
      role: command.role,
      password,
    }));
  return doneOutput(reply.message);
}

export async function userPasswd(
  context: Context,
  command: CommandOf<"userPasswd">,
): Promise<Output> {
  const session = requireSession(context);
  const target = command.user ?? session.user;
  // One's own password needs the current one too: a stolen token alone must not be enough to
  // lock the owner out. An admin resetting someone else's gives only the new one.
  const own = target === session.user;
  const reader = passwordReader(context);
  const currentPassword = own
    ? await reader.read(
      "Current password: ",
      "Cannot change your password: give the current password first (on stdin: the " +
        "current password on the first line, the new one on the second)",
    )
    : undefined;
  if (currentPassword === "") throw new UsageError("The current password is empty");
  const password = await readNewPassword(reader, {
    missing: own
      ? "Cannot change your password: no new password on the second line of stdin (the " +
        "first line is the current password)"
      : `Cannot set the password of ${target}: none given (type it at the prompt, or pipe ` +
        "it on stdin)",
  });
  const reply = await withSessionClient(context, (c) =>
    c.request({
      type: "userPasswd",
      token: session.token,
      name: target,
      password,
      ...(currentPassword === undefined ? {} : { currentPassword }),
      // The same id on every retry: a change applied before its reply was lost is done once.
      changeId: crypto.randomUUID(),
    }));
  if (own) context.state.session = null; // our own session was revoked
  return doneOutput(reply.message);
}

export async function userRemove(
  context: Context,
  command: CommandOf<"userRemove">,
): Promise<Output> {
  const reply = await withSessionClient(
    context,
    (c, session) => c.request({ type: "userRemove", token: session.token, name: command.user }),
  );
  return doneOutput(reply.message);
}

export async function userList(context: Context): Promise<Output> {
  const reply = await withSessionClient(
    context,
    (c, session) => c.request({ type: "userList", token: session.token }),
  );
  return { json: { users: reply.users }, text: formatUsers(reply.users) };
}

export async function tokenList(context: Context): Promise<Output> {
  const reply = await withSessionClient(
    context,
    (c, session) => c.request({ type: "tokenList", token: session.token }),
  );
  return { json: { tokens: reply.tokens }, text: formatTokens(reply.tokens) };
}

export async function tokenRevoke(
  context: Context,
  command: CommandOf<"tokenRevoke">,
): Promise<Output> {
  const reply = await withSessionClient(
    context,
    (c, session) =>
      c.request({ type: "tokenRevoke", token: session.token, tokenId: command.tokenId }),
  );
  return doneOutput(reply.message);
}

function passwordReader(context: Context): PasswordReader {
  return new PasswordReader({ fromStdin: context.options.passwordStdin });
}

/**
 * A new password, never from argv: typed twice at a hidden prompt, or the next line of stdin
 * (the second line when the current password came first).
 * @throws {UsageError} with `missing` when none is given or it is empty; when it is too short;
 *   when the two typed ones differ.
 */
async function readNewPassword(
  reader: PasswordReader,
  messages: { missing: string },
): Promise<string> {
  const password = await reader.read("New password: ", messages.missing);
  if (password === "") throw new UsageError(messages.missing);
  if (password.length < PASSWORD_CHARS_MIN) {
    throw new UsageError(`The password must have at least ${PASSWORD_CHARS_MIN} characters`);
  }
  if (reader.isInteractive) {
    const again = await reader.read("Retype new password: ", messages.missing);
    if (again !== password) throw new UsageError("The two new passwords differ; nothing changed");
  }
  return password;
}

function doneOutput(message: string): Output {
  return { json: { done: true, message }, text: message };
}
