// Proves the CLI's error contract on a real cluster: each failure kind has its documented exit
// code and error code, and `--json` prints exactly one JSON document for success and failure alike.
import assert from "node:assert/strict";
import { EXIT_CODES } from "../../shared/errors.ts";
import { freePort } from "../../scripts/lib/managed_process.ts";
import type { CliResult, ClusterFixture } from "./cluster_fixture.ts";
import { withCluster } from "./cluster_fixture.ts";

/** Asserts stdout is exactly one JSON object and returns it. */
function oneJsonDocument(result: CliResult): Record<string, unknown> {
  assert.ok(
    result.json !== null && typeof result.json === "object" && !Array.isArray(result.json),
    `--json must print one JSON object on stdout, got ${JSON.stringify(result.stdout)}`,
  );
  assert.equal(result.stdout.trim().split("\n").length, 1, "one line of JSON on stdout");
  return result.json;
}

function expectOk(result: CliResult): Record<string, unknown> {
  assert.equal(result.code, EXIT_CODES.ok, `expected success, got: ${result.stderr}`);
  return oneJsonDocument(result);
}

/** Asserts a failure with `exitCode` and `--json` error `code`; returns the error's message. */
function expectFailure(result: CliResult, exitCode: number, code: string): string {
  const doc = oneJsonDocument(result);
  const error = doc.error as { code: string; message: string; exitCode: number } | undefined;
  assert.ok(error !== undefined, `expected {"error":...}, got ${result.stdout}`);
  assert.equal(
    result.code,
    exitCode,
    `exit code for ${code}: got ${result.code}, stderr: ${result.stderr}`,
  );
  assert.equal(error.code, code, `error code: ${result.stdout}`);
  assert.equal(error.exitCode, exitCode);
  assert.match(result.stderr, /^mutirao: /, "the message goes to stderr too");
  return error.message;
}

async function readSession(cluster: ClusterFixture): Promise<Record<string, unknown>> {
  return JSON.parse(await Deno.readTextFile(`${cluster.home}/session.json`));
}

async function writeSession(cluster: ClusterFixture, state: Record<string, unknown>) {
  await Deno.writeTextFile(`${cluster.home}/session.json`, JSON.stringify(state), { mode: 0o600 });
}

async function submit(cluster: ClusterFixture, args: string[] = []): Promise<string> {
  const doc = expectOk(await cluster.cli(["submit", "cli errors", "-d", "0.1", ...args]));
  assert.match(String(doc.id), /^t-\d+$/);
  return String(doc.id);
}

Deno.test("CLI maps every failure to its exit code and prints one JSON document", async (t) => {
  await withCluster({}, async (cluster) => {
    await cluster.startOrchestrator();
    await cluster.startWorker({ slots: 2 });

    await t.step("every command before login exits 4", async () => {
      for (
        const args of [
          ["status", "t-1"],
          ["status", "t-1", "--wait"],
          ["list"],
          ["workers"],
          ["cancel", "t-1"],
          ["submit", "x", "-d", "1"],
        ]
      ) {
        const message = expectFailure(
          await cluster.cli(args),
          EXIT_CODES.unauthenticated,
          "unauthenticated",
        );
        assert.match(message, /mutirao login/, `${args.join(" ")}: says how to log in`);
      }
      // Being logged out is what logout asks for: it says so and succeeds.
      const logout = expectOk(await cluster.cli(["logout"]));
      assert.equal(logout.alreadyLoggedOut, true);
    });

    await t.step("a wrong password or unknown user exits 3 with bad_credentials", async () => {
      const wrong = expectFailure(
        await cluster.cli(["login", "user1", "wrong"]),
        EXIT_CODES.badCredentials,
        "bad_credentials",
      );
      const unknown = expectFailure(
        await cluster.cli(["login", "nobody", "pass1"]),
        EXIT_CODES.badCredentials,
        "bad_credentials",
      );
      assert.equal(wrong, unknown, "the reply must not reveal which user names exist");
      // The file may exist (it also keeps the Lamport clock) but holds no session.
      const state = await readSession(cluster).catch(() => ({ session: null }));
      assert.equal(state.session, null, "a failed login stores no session");
    });

    await t.step("login USER reads the password from stdin; the session file is 0600", async () => {
      const doc = expectOk(await cluster.cli(["login", "user1"], { stdin: "pass1\n" }));
      assert.equal(doc.user, "user1");
      const info = await Deno.stat(`${cluster.home}/session.json`);
      assert.equal((info.mode ?? 0) & 0o777, 0o600, `mode ${(info.mode ?? 0).toString(8)}`);
      expectFailure(
        await cluster.cli(["login", "user1"], { stdin: "wrong\n" }),
        EXIT_CODES.badCredentials,
        "bad_credentials",
      );
    });

    await t.step("invalid arguments exit 2", async () => {
      expectOk(await cluster.cli(["login", "user1", "pass1"]));
      const cases: Array<{ args: string[]; mentions: RegExp }> = [
        { args: ["submit", "no duration"], mentions: /-d/ },
        { args: ["submit", "negative", "--duration=-3"], mentions: /"-3"/ },
        { args: ["submit", "negative", "-d", "-3"], mentions: /-d|duration/ },
        { args: ["submit", "nan", "-d", "soon"], mentions: /"soon"/ },
        { args: ["frobnicate"], mentions: /frobnicate/ },
        { args: ["list", "--bogus"], mentions: /--bogus/ },
        { args: ["list", "--state", "nope"], mentions: /"nope"/ },
        { args: ["list", "--limit", "0"], mentions: /--limit/ },
        { args: ["status"], mentions: /status TASK_ID/ },
        { args: ["submit", "--exec"], mentions: /--/ },
      ];
      for (const { args, mentions } of cases) {
        const message = expectFailure(
          await cluster.cli(args),
          EXIT_CODES.invalidArguments,
          "invalid_arguments",
        );
        assert.match(message, mentions, `${args.join(" ")}: ${message}`);
      }
    });

    await t.step("an unknown task id exits 5", async () => {
      for (const args of [["status", "t-999999"], ["status", "t-999999", "--wait"]]) {
        expectFailure(await cluster.cli(args), EXIT_CODES.notFound, "not_found");
      }
      expectFailure(await cluster.cli(["cancel", "t-999999"]), EXIT_CODES.notFound, "not_found");
    });

    await t.step("another user's task is not found, never forbidden", async () => {
      const id = await submit(cluster);
      const unknown = expectFailure(
        await cluster.cli(["status", "t-999999"]),
        EXIT_CODES.notFound,
        "not_found",
      );
      expectOk(await cluster.cli(["login", "user2", "pass2"]));
      for (const args of [["status", id], ["status", id, "--wait"], ["cancel", id]]) {
        const message = expectFailure(await cluster.cli(args), EXIT_CODES.notFound, "not_found");
        assert.doesNotMatch(message, /forbidden|permission|denied|owner|user1/i);
        assert.equal(
          message.replaceAll(id, "ID"),
          unknown.replaceAll("t-999999", "ID"),
          "someone else's task reads exactly like a task that does not exist",
        );
      }
      const listed = expectOk(await cluster.cli(["list"]));
      assert.deepEqual(listed.tasks, [], "user2 lists none of user1's tasks");
      expectOk(await cluster.cli(["login", "user1", "pass1"]));
      const own = expectOk(await cluster.cli(["status", id, "--wait", "--wait-timeout", "30"]));
      assert.equal(own.state, "succeeded", "user1 still sees the task");
    });

    await t.step("a tampered or expired session exits 4", async () => {
      const original = await readSession(cluster);
      const session = original.session as { token: string; expiresAtMs: number };
      const last = session.token.at(-1) === "A" ? "B" : "A";
      await writeSession(cluster, {
        ...original,
        session: { ...session, token: session.token.slice(0, -1) + last },
      });
      expectFailure(
        await cluster.cli(["list"]),
        EXIT_CODES.unauthenticated,
        "unauthenticated",
      );
      await writeSession(cluster, { ...original, session: { ...session, expiresAtMs: 1 } });
      const message = expectFailure(
        await cluster.cli(["list"]),
        EXIT_CODES.unauthenticated,
        "unauthenticated",
      );
      assert.match(message, /expired/i);
      await writeSession(cluster, original);
      expectOk(await cluster.cli(["list"]));
    });

    await t.step("cancelling a finished task exits 7", async () => {
      const id = await submit(cluster);
      const done = expectOk(await cluster.cli(["status", id, "--wait", "--wait-timeout", "30"]));
      assert.equal(done.state, "succeeded");
      const message = expectFailure(
        await cluster.cli(["cancel", id]),
        EXIT_CODES.rejected,
        "conflict",
      );
      assert.match(message, /succeeded/);
    });

    await t.step("an unreachable orchestrator exits 6", async () => {
      const nowhere = ["--orchestrators", `127.0.0.1:${freePort()}`, "--timeout", "1"];
      for (const args of [["login", "user1", "pass1", ...nowhere], ["list", ...nowhere]]) {
        expectFailure(await cluster.cli(args), EXIT_CODES.unreachable, "unreachable");
      }
    });

    await t.step("resubmitting with the same idempotency key returns the same task", async () => {
      const key = ["--idempotency-key", "cli-errors-key-1"];
      const first = expectOk(await cluster.cli(["submit", "once", "-d", "0.1", ...key]));
      const second = expectOk(await cluster.cli(["submit", "once", "-d", "0.1", ...key]));
      assert.equal(first.duplicate, false);
      assert.equal(second.duplicate, true);
      assert.equal(second.id, first.id);
      // Keys are per user: another user's identical key makes a task of its own.
      expectOk(await cluster.cli(["login", "user2", "pass2"]));
      const other = expectOk(await cluster.cli(["submit", "once", "-d", "0.1", ...key]));
      assert.equal(other.duplicate, false);
      assert.notEqual(other.id, first.id);
    });

    await t.step("a non-admin is refused admin commands with exit 7 (forbidden)", async () => {
      // user2 is logged in (previous step) and is not an admin.
      for (
        const args of [["workers"], ["cluster"], ["user", "list"], ["token", "list"], [
          "list",
          "--all",
        ]]
      ) {
        expectFailure(await cluster.cli(args), EXIT_CODES.rejected, "forbidden");
      }
    });

    await t.step("successful commands print one JSON document too", async () => {
      for (const args of [["list"], ["logout"]]) expectOk(await cluster.cli(args));
    });
  });
});

Deno.test("CLI reports invalid arguments with exit 2 even before login", async () => {
  await withCluster({}, async (cluster) => {
    const cases = [
      ["submit", "x", "-d", "-3"],
      ["list", "--state", "nope"],
      ["list", "--limit", "0"],
      ["submit", "x", "-d", "1", "--max-attempts", "0"],
      ["submit", "x", "-d", "1", "--idempotency-key", "k".repeat(200)],
    ];
    const wrong: string[] = [];
    for (const args of cases) {
      const result = await cluster.cli(args);
      oneJsonDocument(result);
      if (result.code !== EXIT_CODES.invalidArguments) {
        wrong.push(`${args.join(" ").slice(0, 60)} -> exit ${result.code}`);
      }
    }
    assert.deepEqual(wrong, [], "invalid arguments must exit 2 whether or not a session exists");
  });
});
