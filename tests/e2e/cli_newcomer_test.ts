// Proves, on a real cluster, the exit codes and messages a newcomer and their scripts meet: one
// exit code per failure class (help 0, usage 2, wait outcomes 8 and 9, configuration 10, no such
// user or session 11, no leader 6), a second logout that succeeds, and errors in the user's words.
import assert from "node:assert/strict";
import { EXIT_CODES } from "../../shared/errors.ts";
import { freePort } from "../../scripts/lib/managed_process.ts";
import type { CliResult } from "./cluster_fixture.ts";
import { withCluster } from "./cluster_fixture.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Asserts the exit code, and with `--json` an `error.code` (or none for 0); returns the doc. */
function expectExit(result: CliResult, exitCode: number, code?: string): Record<string, unknown> {
  assert.equal(result.code, exitCode, `exit ${result.code}: ${result.stderr}${result.stdout}`);
  assert.ok(result.json !== null, `one JSON document on stdout, got ${result.stdout}`);
  const error = result.json.error as { code: string; exitCode: number } | undefined;
  if (code === undefined) {
    assert.equal(error, undefined);
  } else {
    assert.equal(error?.code, code, result.stdout);
    assert.equal(error?.exitCode, exitCode);
    assert.match(result.stderr, /^mutirao: /m, "the reason goes to stderr too");
  }
  return result.json;
}

/** Runs a node's main.ts expected to exit at once; returns its exit code and stderr. */
async function runNode(args: string[]): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("CLI gives every failure class its own exit code, in the user's words", async (t) => {
  await withCluster({}, async (cluster) => {
    const o1 = await cluster.startOrchestrator();
    await cluster.startWorker({ slots: 2 });

    await t.step("help is reachable every way, and a bare call prints usage", async () => {
      for (const args of [["help"], ["--help"], ["submit", "--help"], ["help", "status"]]) {
        const r = await cluster.cli(args, { json: false });
        assert.equal(r.code, EXIT_CODES.ok, `${args.join(" ")}: ${r.stderr}`);
        assert.match(r.stdout, /Usage: mutirao/);
      }
      const bare = await cluster.cli([], { json: false });
      assert.equal(bare.code, EXIT_CODES.invalidArguments);
      assert.match(bare.stderr, /Missing command[\s\S]*Usage: mutirao COMMAND/);
    });

    await t.step("a flag that does not apply, or -d 0x10, is refused with exit 2", async () => {
      for (
        const [args, mentions] of [
          [["submit", "x", "-d", "0", "--all", "--state", "failed"], /submit does not take --all/],
          [["submit", "x", "-d", "0x10"], /"0x10"/],
          [["status", "t-1", "--limit", "2"], /status does not take --limit/],
        ] as const
      ) {
        const r = await cluster.cli([...args]);
        expectExit(r, EXIT_CODES.invalidArguments, "invalid_arguments");
        assert.match(r.stderr, mentions);
      }
    });

    await t.step('status "" names the task id, not a schema path', async () => {
      const r = await cluster.cli(["status", ""]);
      expectExit(r, EXIT_CODES.invalidArguments, "invalid_arguments");
      assert.match(r.stderr, /Invalid TASK_ID: expected a task id such as t-42/);
      assert.doesNotMatch(r.stderr, /taskId|too_small|String must|>=|\[\d\]/);
    });

    await t.step("an unusable cluster file is a configuration error (exit 10)", async () => {
      const r = await cluster.cli(["login", "user1"], {
        stdin: "pass1\n",
        config: `${cluster.home}/no-such-cluster.json`,
      });
      expectExit(r, EXIT_CODES.configuration, "configuration");
      assert.match(r.stderr, /no-such-cluster\.json/);
    });

    expectExit(await cluster.cli(["login", "user1"], { stdin: "pass1\n" }), 0);

    await t.step("user add with no password says that", async () => {
      const r = await cluster.cli(["user", "add", "carol"]);
      expectExit(r, EXIT_CODES.invalidArguments, "invalid_arguments");
      assert.match(r.stderr, /Cannot add user carol: no password given/);
    });

    await t.step("no such user or session exits 11, not 5 (unknown task)", async () => {
      const user = await cluster.cli(["user", "remove", "nobody"]);
      expectExit(user, EXIT_CODES.noSuchAccount, "no_such_user");
      const token = await cluster.cli(["token", "revoke", "deadbeefdeadbeef"]);
      expectExit(token, EXIT_CODES.noSuchAccount, "no_such_session");
      expectExit(await cluster.cli(["status", "t-999999"]), EXIT_CODES.notFound, "not_found");
    });

    let longId = "";
    await t.step("--wait passing --wait-timeout first exits 9 with the task", async () => {
      const r = await cluster.cli([
        "submit",
        "long",
        "-d",
        "60",
        "--wait",
        "--wait-timeout",
        "0.5",
      ]);
      const doc = expectExit(r, EXIT_CODES.waitTimedOut, "wait_timeout");
      assert.ok(doc.state === "queued" || doc.state === "running", String(doc.state));
      longId = String(doc.id);
    });

    await t.step("--wait on a task that ends cancelled exits 8 with the task", async () => {
      expectExit(await cluster.cli(["cancel", longId]), 0);
      const waited = await cluster.cli(["status", longId, "--wait", "--wait-timeout", "30"]);
      const task = expectExit(waited, EXIT_CODES.taskFailed, "task_cancelled");
      assert.equal(task.state, "cancelled");
    });

    await t.step("a task that succeeds still exits 0 after --wait", async () => {
      const r = await cluster.cli([
        "submit",
        "short",
        "-d",
        "0.1",
        "--wait",
        "--wait-timeout",
        "30",
      ]);
      assert.equal(expectExit(r, 0).state, "succeeded");
    });

    await t.step("orchestrator --id o1 while o1 runs says so", async () => {
      const r = await runNode(
        cluster.orchestratorArgs("o1", ["--data-dir", `${cluster.home}/second-o1`]),
      );
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /Cannot start orchestrator o1: .*already running/);
    });

    await t.step("a worker started twice on one address says so", async () => {
      const port = freePort();
      await cluster.startWorker({ port });
      const r = await runNode([
        "worker/main.ts",
        "--config",
        cluster.configPath,
        "127.0.0.1",
        String(port),
      ]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /Cannot start the worker at 127\.0\.0\.1:\d+: .*already running/);
    });

    await t.step("cluster with no leader exits 6 and still shows the table", async () => {
      await o1.stop(3000);
      const r = await cluster.cli(["cluster", "--timeout", "1"]);
      const doc = expectExit(r, EXIT_CODES.unreachable, "no_leader");
      assert.equal(doc.leader, null);
      assert.equal((doc.orchestrators as unknown[]).length, 1);
    });

    await t.step("logout succeeds, and a second logout is not an error", async () => {
      // The only orchestrator is stopped: logging out cannot reach it, and says so.
      const unreachable = await cluster.cli(["logout", "--timeout", "1"]);
      expectExit(unreachable, EXIT_CODES.unreachable, "unreachable");
      await cluster.startOrchestrator();
      expectExit(await cluster.cli(["logout", "--timeout", "30"]), 0);
      const second = expectExit(await cluster.cli(["logout"]), 0);
      assert.equal(second.alreadyLoggedOut, true);
    });
  });
});
