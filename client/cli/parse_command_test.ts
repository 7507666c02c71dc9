// Proves the CLI's argument parser, without a cluster: each command takes exactly its own flags
// and arguments, values are checked before anything is sent, and help is reachable every way a
// newcomer tries it.
import assert from "node:assert/strict";
import { UsageError } from "../../shared/cli_args.ts";
import { COMMANDS, USAGE } from "./command_spec.ts";
import { parseAge, parseInvocation, parseSeconds } from "./parse_command.ts";

function refused(args: string[], mentions: RegExp): void {
  assert.throws(() => parseInvocation(args), (error: unknown) => {
    assert.ok(error instanceof UsageError, `${args.join(" ")}: ${error}`);
    assert.match(error.message, mentions, `${args.join(" ")}: ${error.message}`);
    return true;
  });
}

Deno.test("parseInvocation() refuses a flag that does not apply to the command", () => {
  refused(["submit", "x", "-d", "0", "--all", "--state", "failed"], /submit does not take --all/);
  refused(["status", "t-1", "--limit", "3"], /status does not take --limit/);
  refused(["list", "--wait"], /list does not take --wait/);
  refused(["logout", "--role", "admin"], /logout does not take --role/);
  refused(["user", "remove", "bob", "--role", "admin"], /user remove does not take --role/);
  refused(["cancel", "t-1", "-d", "3"], /cancel does not take --duration/);
});

Deno.test("parseInvocation() accepts every global flag on every command", () => {
  const globals = [
    "--json",
    "--debug",
    "--config",
    "c.json",
    "--timeout",
    "2",
    "--tls-ca",
    "ca.pem",
  ];
  const { command, options } = parseInvocation(["workers", ...globals]);
  assert.equal(command.name, "workers");
  assert.equal(options.json, true);
  assert.equal(options.config, "c.json");
  assert.equal(options.timeoutS, 2);
  assert.equal(parseInvocation(["cluster", ...globals]).command.name, "cluster");
  assert.equal(parseInvocation(["logout", ...globals]).command.name, "logout");
});

Deno.test("parseInvocation() keeps every existing command and flag working", () => {
  const submit = parseInvocation([
    "submit",
    "report",
    "-d",
    "1.5",
    "--max-attempts",
    "3",
    "--idempotency-key",
    "k1",
    "--wait",
    "--wait-timeout",
    "30",
  ]).command;
  assert.deepEqual(submit, {
    name: "submit",
    spec: { kind: "sleep", description: "report", durationMs: 1500 },
    payloadFile: null,
    options: {},
    maxAttempts: 3,
    idempotencyKey: "k1",
    wait: { timeoutS: 30 },
  });
  assert.deepEqual(
    parseInvocation(["submit", "--exec", "--exec-timeout", "5", "--", "echo", "hi"]).command,
    {
      name: "submit",
      spec: { kind: "exec", description: "echo hi", argv: ["echo", "hi"], timeoutMs: 5000 },
      payloadFile: null,
      options: {},
      maxAttempts: null,
      idempotencyKey: null,
      wait: null,
    },
  );
  assert.deepEqual(parseInvocation(["submit", "--batch", "-"]).command, {
    name: "submitBatch",
    path: "-",
    keyPrefix: null,
  });
  assert.deepEqual(
    parseInvocation(["list", "--state", "failed", "--limit", "5", "--all"]).command,
    {
      name: "list",
      all: true,
      states: ["failed"],
      limit: 5,
      after: null,
    },
  );
  assert.deepEqual(parseInvocation(["login", "user1"]).command, {
    name: "login",
    user: "user1",
    password: null,
  });
  assert.deepEqual(parseInvocation(["login", "user1", "pw"]).command, {
    name: "login",
    user: "user1",
    password: "pw",
  });
  assert.deepEqual(parseInvocation(["user", "add", "carol", "--role", "admin"]).command, {
    name: "userAdd",
    user: "carol",
    role: "admin",
  });
  assert.deepEqual(parseInvocation(["user", "passwd"]).command, {
    name: "userPasswd",
    user: null,
  });
  assert.deepEqual(parseInvocation(["token", "revoke", "0123abcd"]).command, {
    name: "tokenRevoke",
    tokenId: "0123abcd",
  });
  for (const name of ["workers", "cluster", "logout"]) {
    assert.equal(parseInvocation([name]).command.name, name);
  }
  assert.equal(parseInvocation(["user", "list"]).command.name, "userList");
  assert.equal(parseInvocation(["token", "list"]).command.name, "tokenList");
});

Deno.test("parseInvocation() refuses -d 0x10 and every non-decimal number of seconds", () => {
  for (const value of ["0x10", "1e3", "+5", "-3", "Infinity", "", " 5", "5s", "soon"]) {
    refused(["submit", "x", "-d", value], /--duration/);
  }
  refused(["submit", "x", "--duration=-3"], /"-3"/);
  refused(["status", "t-1", "--wait", "--wait-timeout", "0x1"], /--wait-timeout/);
  refused(["list", "--timeout", "1e1"], /--timeout/);
  assert.equal(parseSeconds("duration", "0.25"), 0.25);
  assert.equal(parseSeconds("duration", ".5"), 0.5);
  assert.equal(parseSeconds("duration", "0"), 0);
});

Deno.test("parseInvocation() names the bad value in the user's words, never a schema path", () => {
  refused(["status", ""], /Invalid TASK_ID: .*got ""/);
  refused(["cancel", " "], /Invalid TASK_ID/);
  refused(["status", "t".repeat(200)], /Invalid TASK_ID/);
  refused(["user", "add", "bad name"], /Invalid user name: .*"bad name"/);
  refused(["login", ""], /Invalid user name/);
  refused(["token", "revoke", "xyz"], /Invalid token ID/);
  refused(["submit", "   ", "-d", "1"], /description is empty/);
  refused(["list", "--state", "nope"], /"nope"/);
  refused(["list", "--limit", "0"], /--limit/);
  refused(["user", "add", "carol", "--role", "root"], /"root"/);
  refused(["submit", "x", "-d", "1", "--max-attempts", "0"], /--max-attempts/);
  refused(["submit", "x", "-d", "1", "--idempotency-key", "k".repeat(200)], /--idempotency-key/);
});

Deno.test("parseInvocation() refuses missing or extra arguments with the command's synopsis", () => {
  refused(["status"], /Expected: status TASK_ID/);
  refused(["status", "t-1", "t-2"], /got 2 arguments/);
  refused(["logout", "now"], /Expected: logout/);
  refused(["submit", "no duration"], /-d/);
  refused(["submit", "--exec"], /--/);
  refused(["submit", "x", "-d", "1", "--", "echo"], /only for submit --exec/);
  refused(["submit", "--batch", "f", "-d", "1"], /--batch/);
  refused(["submit", "--batch", "f", "--max-attempts", "2"], /--max-attempts/);
  refused(["submit", "x", "-d", "1", "--exec-timeout", "3"], /--exec-timeout/);
  refused(["status", "t-1", "--wait-timeout", "3"], /only with --wait/);
  refused(["user"], /Expected: user add\|passwd\|remove\|list/);
  refused(["token", "drop"], /Expected: token list\|revoke \(got "drop"\)/);
  refused(["frobnicate"], /Unknown command "frobnicate"/);
  refused(["list", "--bogus"], /Unknown option --bogus/);
});

Deno.test("parseInvocation() answers help however it is asked, and a bare call with usage", () => {
  for (const args of [["help"], ["--help"], ["-h"]]) {
    assert.deepEqual(parseInvocation(args).command, { name: "help", text: USAGE });
  }
  refused([], /Missing command[\s\S]*Usage: mutirao COMMAND/);
  for (const spec of COMMANDS.filter((c) => c.name !== "help")) {
    const words = spec.name.split(" ");
    const viaFlag = parseInvocation([...words, "--help"]).command;
    const viaHelp = parseInvocation(["help", ...words]).command;
    assert.equal(viaFlag.name, "help");
    assert.deepEqual(viaHelp, viaFlag, spec.name);
    assert.ok(
      viaFlag.name === "help" && viaFlag.text.includes(`mutirao ${spec.usage.split("\n")[0]}`),
      `${spec.name} --help shows its synopsis`,
    );
  }
  const group = parseInvocation(["user", "--help"]).command;
  assert.ok(group.name === "help" && group.text.includes("user remove NAME"));
  // Help ignores the rest of the line: asking for help is never an error.
  assert.equal(parseInvocation(["submit", "--help", "--all"]).command.name, "help");
  refused(["help", "frobnicate"], /No help for "frobnicate"/);
});

Deno.test("the usage text lists every exit code", () => {
  for (let code = 0; code <= 11; code++) {
    assert.match(USAGE, new RegExp(`\\n  ${code} +\\S`), `exit code ${code}`);
  }
});

Deno.test("parseInvocation() takes several list states, repeated or comma-separated, and a cursor", () => {
  const list = (args: string[]) => parseInvocation(["list", ...args]).command;
  assert.deepEqual(list(["--state", "queued", "--state", "running,failed", "--after", "t-42"]), {
    name: "list",
    all: false,
    states: ["queued", "running", "failed"],
    limit: null,
    after: "t-42",
  });
  assert.deepEqual(list([]), { name: "list", all: false, states: [], limit: null, after: null });
  refused(["list", "--state", "queued,nope"], /--state: expected one of .*got "nope"/);
  refused(["list", "--after", "42"], /--after: expected the cursor .*got "42"/);
});

Deno.test("parseInvocation() reads purge's filters and refuses active states and bad ages", () => {
  assert.deepEqual(
    parseInvocation([
      "purge",
      "--state",
      "failed,cancelled",
      "--owner",
      "bob",
      "--older-than",
      "7d",
      "--dry-run",
    ]).command,
    {
      name: "purge",
      states: ["failed", "cancelled"],
      owner: "bob",
      olderThanMs: 7 * 86_400_000,
      dryRun: true,
    },
  );
  assert.deepEqual(parseInvocation(["purge"]).command, {
    name: "purge",
    states: [],
    owner: null,
    olderThanMs: null,
    dryRun: false,
  });
  assert.equal(parseAge("90"), 90_000);
  assert.equal(parseAge("1.5h"), 5_400_000);
  assert.equal(parseAge("250ms"), 250);
  refused(["purge", "--state", "running"], /purge removes finished tasks only/);
  refused(["purge", "--older-than", "soon"], /Invalid --older-than: .*"soon"/);
  refused(["purge", "--older-than=-1d"], /Invalid --older-than/);
  refused(["purge", "t-1"], /Expected: purge/);
});

Deno.test("parseInvocation() takes logs --follow (or -f), and only on logs", () => {
  assert.deepEqual(parseInvocation(["logs", "t-3"]).command, {
    name: "logs",
    taskId: "t-3",
    follow: false,
  });
  assert.deepEqual(parseInvocation(["logs", "t-3", "--follow"]).command, {
    name: "logs",
    taskId: "t-3",
    follow: true,
  });
  assert.equal(
    (parseInvocation(["logs", "-f", "t-3"]).command as { follow: boolean }).follow,
    true,
  );
  refused(["status", "t-3", "--follow"], /status does not take --follow/);
});
