/**
 * `deno task add-user [--config FILE] NAME`: adds a user to a cluster file, or
 * changes an existing user's password. The password is read from the terminal
 * (hidden) or the first line of stdin — never from the command line, where it
 * would land in shell history and `ps` output. Only the salted scrypt hash is
 * written.
 *
 * `deno task add-user --hash-only` prints a hash for a password instead.
 * @module
 */
import { hashPassword } from "../shared/auth/mod.ts";
import { parseFlags, UsageError } from "../shared/cli_args.ts";
import { DEFAULT_CONFIG_PATH, parseClusterConfig } from "../shared/config/mod.ts";
import { PasswordReader } from "../client/cli/read_password.ts";

const USAGE = `Usage: deno task add-user [--config FILE] NAME
       deno task add-user --hash-only

Adds user NAME to the cluster file (or sets a new password for an existing
one). The password is read from the terminal, or the first line of stdin.
The change applies once the orchestrators run with this file: after a restart
of every orchestrator, the leader creates the account or sets its password,
once (a later \`mutirao user remove\` or \`user passwd\` sticks). On a running
cluster, \`mutirao user add\` and \`mutirao user passwd\` apply at once.

Options:
  --config FILE   cluster file to edit (default ${DEFAULT_CONFIG_PATH})
  --hash-only     print the scrypt hash of a password; edit nothing
  -h, --help      show this help
`;

async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    config: { type: "string" },
    "hash-only": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values["hash-only"]) {
    console.log(await hashPassword(await readNonEmptyPassword()));
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError("Expected exactly one user NAME");
  const name = positionals[0];
  const path = values.config ?? DEFAULT_CONFIG_PATH;
  const raw = JSON.parse(await Deno.readTextFile(path)) as { users?: unknown[] };
  parseClusterConfig(raw, path); // refuse to edit a file that is already invalid
  const passwordHash = await hashPassword(await readNonEmptyPassword());
  const users = (raw.users ?? []) as Array<{ name: string; passwordHash: string }>;
  const existing = users.find((u) => u.name === name);
  if (existing !== undefined) existing.passwordHash = passwordHash;
  else users.push({ name, passwordHash });
  raw.users = users;
  parseClusterConfig(raw, path); // the new name must be valid too
  const temp = `${path}.tmp`;
  await Deno.writeTextFile(temp, JSON.stringify(raw, null, 2) + "\n");
  await Deno.rename(temp, path);
  console.log(
    `${existing === undefined ? "Added" : "Updated"} user ${name} in ${path}. It applies once ` +
      `every orchestrator has been restarted with this file: the leader then ` +
      `${existing === undefined ? "creates the account" : "sets the new password"}, once. ` +
      `On a running cluster, 'mutirao user ${
        existing === undefined ? "add" : "passwd"
      }' applies at once.`,
  );
  return 0;
}

async function readNonEmptyPassword(): Promise<string> {
  const password = await new PasswordReader({ fromStdin: false }).read(
    "Password: ",
    "Cannot read the password: stdin is empty",
  );
  if (password === "") throw new UsageError("The password must not be empty");
  return password;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`mutirao add-user: ${(error as Error).message}`);
    Deno.exit(error instanceof UsageError ? 2 : 1);
  }
}
