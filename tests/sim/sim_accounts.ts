/**
 * The accounts of a simulated cluster: the cluster file's users (and, in
 * seeds with the account workload, an admin who changes passwords, revokes
 * sessions, removes and re-adds users), the passwords users were last given,
 * and the committed account changes nobody asked for (known bugs
 * bootstrapAccountResurrected and lastAdminRemovable), which the run reports
 * and adds to the client history.
 * @module
 */
import type { LogEntry } from "../../orchestrator/tasks/mod.ts";
import { createPrng } from "../../shared/prng.ts";
import { historyOf } from "./client_history.ts";
import { SimClient } from "./sim_client.ts";
import { simPasswordHash } from "./sim_login.ts";
import type { World } from "./world.ts";

/** The admin of seeds with the account workload, from the cluster file. */
export const ADMIN = { name: "admin", password: "admin-pass" } as const;

/** Share of seeds with an admin at work. */
const ACCOUNT_WORKLOAD_SHARE = 0.35;

/** Candidate passwords remembered per user (the newest may not have been applied). */
const PASSWORDS_REMEMBERED_MAX = 3;

/**
 * Whether a seed has the account workload: drawn from its own stream, so that the scenario
 * (drawn from the seed's main stream) is the same with or without it.
 */
export function drawsAccountWorkload(seed: number): boolean {
  return createPrng(seed ^ 0x5ecc0a17).chance(ACCOUNT_WORKLOAD_SHARE);
}

/** The accounts a leader creates from the cluster file. */
export function bootstrapAccounts(
  world: World,
): Array<{ name: string; role: "admin" | "user"; passwordHash: string }> {
  return [...historyOf(world).bootstrapPasswords].map(([name, password]) => ({
    name,
    role: name === ADMIN.name ? "admin" as const : "user" as const,
    passwordHash: simPasswordHash(password),
  }));
}

/**
 * The passwords each user has been given, newest first: an admin's change may be unconfirmed
 * (its reply lost), so a user who is refused tries the next one.
 */
export class PasswordBook {
  readonly #passwords = new Map<string, string[]>();

  /** The `attempt`-th candidate (cycling) of `user`. */
  candidate(user: string, attempt: number): string {
    const list = this.#passwords.get(user) ?? [];
    return list[attempt % Math.max(1, list.length)] ?? "";
  }

  /** `user` was given `password` (as the cluster file does, or an admin). */
  give(user: string, password: string): void {
    const list = [password, ...(this.#passwords.get(user) ?? []).filter((p) => p !== password)];
    this.#passwords.set(user, list.slice(0, PASSWORDS_REMEMBERED_MAX));
  }
}

const books = new WeakMap<World, PasswordBook>();

/** The password book of `world`. */
export function passwordBookOf(world: World): PasswordBook {
  let book = books.get(world);
  if (book === undefined) {
    book = new PasswordBook();
    books.set(world, book);
  }
  return book;
}

/**
 * Sets up a new world's accounts: the cluster file's users (and the admin, with its client
 * `a1`, when `withAdmin`), and the watch on committed account changes.
 */
export function setUpAccounts(world: World, options: { withAdmin: boolean }): void {
  const history = historyOf(world);
  const book = passwordBookOf(world);
  const users = world.users.map((u) => ({ ...u }));
  if (options.withAdmin) users.push({ ...ADMIN });
  for (const { name, password } of users) {
    history.bootstrapPasswords.set(name, password);
    book.give(name, password);
  }
  if (options.withAdmin) {
    world.clients.push(
      new SimClient(world, {
        name: "a1",
        user: ADMIN.name,
        password: ADMIN.password,
        isAdmin: true,
      }),
    );
  }
  const removed = new Set<string>();
  world.checker.committedObservers.push((entry) => watchAccounts(world, removed, entry));
}

function watchAccounts(world: World, removed: Set<string>, entry: LogEntry): void {
  const command = entry.command;
  const reference = world.checker.reference;
  if (command.type === "sessionOpened") return watchSession(world, entry, command);
  if (command.type === "userRemoved") {
    removed.add(command.name);
    const hadAdmin = historyOf(world).bootstrapPasswords.has(ADMIN.name);
    const admins = [...reference.users.values()].filter((u) => u.role === "admin");
    if (hadAdmin && admins.length === 0) {
      world.knownBug(
        "lastAdminRemovable",
        `entry ${entry.index} removed ${command.name}, the last admin`,
      );
    }
    return;
  }
  // (accountConfigured: how the cluster file's accounts are applied since a09c994.)
  const isCreation = command.type === "userAdded" ||
    (command.type as string) === "accountConfigured";
  if (!isCreation || !("name" in command) || !removed.has(command.name)) return;
  const password = historyOf(world).bootstrapPasswords.get(command.name);
  // The workload re-adds users with new passwords only: this one came from the cluster file.
  const hash = (command as { passwordHash?: string }).passwordHash;
  if (password === undefined || hash !== simPasswordHash(password)) return;
  world.knownBug(
    "bootstrapAccountResurrected",
    `entry ${entry.index} (term ${entry.term}) re-created removed account ${command.name} ` +
      `with its bootstrap password`,
  );
  historyOf(world).recordResurrection(world, {
    user: command.name,
    password,
    proposedAtMs: (command as { atMs?: number }).atMs ?? world.nowMs,
  });
}

/** A session whose password was changed, or whose user was removed, before it opened. */
function watchSession(
  world: World,
  entry: LogEntry,
  command: { tokenHash: string; user: string },
): void {
  const history = historyOf(world);
  const password = history.passwordOfSession.get(command.tokenHash);
  const account = world.checker.reference.users.get(command.user);
  if (password === undefined) return;
  // The state machine refuses a session whose account changed since the check: only one that
  // really opened (the reference applied it before observers run) is the bug.
  if (!world.checker.reference.sessions.has(command.tokenHash)) return;
  if (account !== undefined && account.passwordHash === simPasswordHash(password)) return;
  history.lateSessions.add(command.tokenHash);
  world.knownBug(
    "sessionOutlivesRevocation",
    `entry ${entry.index} opened a session of ${command.user} checked against ` +
      (account === undefined ? "a removed account" : "a password changed since"),
  );
}
