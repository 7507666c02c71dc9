// Proves account security end to end: admins manage users and tokens, passwords changes and
// revocations take effect at once (also after a leader failover), logins are throttled after
// repeated failures, tokens expire, users cannot reach each other's tasks, and no secret or token
// ever appears in a node's log.
import assert from "node:assert/strict";
import { hashToken } from "../../shared/auth/mod.ts";
import { EXIT_CODES } from "../../shared/errors.ts";
import type { ManagedProcess } from "../../scripts/lib/managed_process.ts";
import { type ClusterFixture, withCluster } from "./cluster_fixture.ts";
import { pollUntil } from "./poll_until.ts";

async function token(cluster: ClusterFixture): Promise<string> {
  return JSON.parse(await Deno.readTextFile(`${cluster.home}/session.json`)).session.token;
}

Deno.test("accounts: user and token management, throttling, isolation, revocation across failover", async (t) => {
  await withCluster({ orchestrators: 3 }, async (cluster) => {
    const orchestrators = new Map<string, ManagedProcess>();
    await Promise.all(
      ["o1", "o2", "o3"].map(async (id) =>
        orchestrators.set(id, await cluster.startOrchestrator(id))
      ),
    );
    await cluster.startWorker();
    const secrets: string[] = ["pass1", "pass2", "carol-password-1", "carol-password-2"];

    await t.step("an admin adds a user whose password comes from stdin, never argv", async () => {
      assert.equal((await cluster.cli(["login", "user1", "pass1"])).code, 0);
      secrets.push(await token(cluster));
      const added = await cluster.cli(["user", "add", "carol"], { stdin: "carol-password-1\n" });
      assert.equal(added.code, 0, added.stderr);
      assert.equal(added.json?.done, true);
      const users = (await cluster.cli(["user", "list"])).json?.users as Array<
        { name: string; role: string }
      >;
      assert.deepEqual(users.map((u) => `${u.name}:${u.role}`), [
        "carol:user",
        "user1:admin",
        "user2:user",
      ]);
      const dup = await cluster.cli(["user", "add", "carol"], { stdin: "carol-password-1\n" });
      assert.equal(dup.code, EXIT_CODES.rejected);
    });

    let carolTask = "";
    await t.step(
      "a user cannot see, wait on or cancel another user's task: not found",
      async () => {
        assert.equal(
          (await cluster.cli(["login", "carol"], { stdin: "carol-password-1\n" })).code,
          0,
        );
        secrets.push(await token(cluster));
        carolTask = (await cluster.cli(["submit", "carol's", "-d", "30"])).json?.id as string;
        assert.equal((await cluster.cli(["login", "user2", "pass2"])).code, 0);
        for (
          const args of [["status", carolTask], [
            "status",
            carolTask,
            "--wait",
            "--wait-timeout",
            "1",
          ], ["cancel", carolTask]]
        ) {
          const r = await cluster.cli(args);
          assert.equal(r.code, EXIT_CODES.notFound, `${args.join(" ")}: ${r.stderr}`);
          assert.equal((r.json?.error as { code: string }).code, "not_found");
          assert.doesNotMatch(r.stderr, /forbidden/i);
        }
        // An admin sees and cancels anyone's task.
        assert.equal((await cluster.cli(["login", "user1", "pass1"])).code, 0);
        assert.equal((await cluster.cli(["status", carolTask])).json?.owner, "carol");
        assert.equal((await cluster.cli(["cancel", carolTask])).json?.state, "cancelled");
      },
    );

    await t.step("a password change revokes that user's sessions", async () => {
      assert.equal(
        (await cluster.cli(["login", "carol"], { stdin: "carol-password-1\n" })).code,
        0,
      );
      // One's own change: the current password on the first line, the new one on the second.
      const r = await cluster.cli(["user", "passwd"], {
        stdin: "carol-password-1\ncarol-password-2\n",
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        (await cluster.cli(["login", "carol"], { stdin: "carol-password-1\n" })).code,
        EXIT_CODES.badCredentials,
      );
      assert.equal(
        (await cluster.cli(["login", "carol"], { stdin: "carol-password-2\n" })).code,
        0,
      );
    });

    await t.step(
      "a token revoked by an admin is refused, also by a new leader after failover",
      async () => {
        assert.equal((await cluster.cli(["login", "user2", "pass2"])).code, 0);
        const user2Session = await Deno.readTextFile(`${cluster.home}/session.json`);
        const user2Token = await token(cluster);
        secrets.push(user2Token);
        assert.equal((await cluster.cli(["login", "user1", "pass1"])).code, 0);
        const tokens = (await cluster.cli(["token", "list"])).json?.tokens as Array<
          { id: string; user: string }
        >;
        const victim = tokens.find((x) => hashToken(user2Token).startsWith(x.id));
        assert.ok(
          victim !== undefined,
          "user2's session is listed, by a prefix of its token's hash",
        );
        assert.ok(!user2Token.includes(victim.id), "the id is not part of the token itself");
        const revoked = await cluster.cli(["token", "revoke", victim.id]);
        assert.equal(revoked.code, 0, revoked.stderr);
        // Kill the leader: the revocation was committed, so the next leader refuses the token too.
        const leader = (await cluster.cli(["cluster"])).json?.leader as string;
        orchestrators.get(leader)!.signal("SIGKILL");
        await orchestrators.get(leader)!.exited;
        await Deno.writeTextFile(`${cluster.home}/session.json`, user2Session);
        const refused = await cluster.cli(["list", "--timeout", "15"]);
        assert.equal(refused.code, EXIT_CODES.unauthenticated, refused.stderr);
        orchestrators.set(leader, await cluster.startOrchestrator(leader));
      },
    );

    await t.step(
      "logins are throttled after repeated failures and allowed again after the wait",
      async () => {
        for (let i = 0; i < 4; i++) {
          assert.equal(
            (await cluster.cli(["login", "user2", "wrong"])).code,
            EXIT_CODES.badCredentials,
          );
        }
        const throttled = await cluster.cli(["login", "user2", "pass2"]);
        assert.equal(throttled.code, EXIT_CODES.rejected, throttled.stderr);
        assert.match(throttled.stderr, /Too many failed logins.*retry in \d+ s/);
        // The wait is the behaviour under test: poll (bounded) until the right password works again.
        await pollUntil("user2 can log in again", async () => {
          const r = await cluster.cli(["login", "user2", "pass2"]);
          return r.code === 0 ? true : undefined;
        }, { deadlineMs: 10_000, intervalMs: 250 });
      },
    );

    await t.step("an admin removes a user; its session stops working", async () => {
      assert.equal(
        (await cluster.cli(["login", "carol"], { stdin: "carol-password-2\n" })).code,
        0,
      );
      const carol = await Deno.readTextFile(`${cluster.home}/session.json`);
      assert.equal((await cluster.cli(["login", "user1", "pass1"])).code, 0);
      assert.equal((await cluster.cli(["user", "remove", "carol"])).code, 0);
      await Deno.writeTextFile(`${cluster.home}/session.json`, carol);
      assert.equal((await cluster.cli(["list"])).code, EXIT_CODES.unauthenticated);
    });

    await t.step("no password or token appears in any node's log", () => {
      const logs = cluster.processes.flatMap((p) => p.lines).join("\n");
      for (const secret of secrets) {
        assert.ok(!logs.includes(secret), `a log contains a secret (${secret.slice(0, 4)}…)`);
      }
      assert.match(
        logs,
        /Failed login for user "user2"/,
        "failed logins are logged (without the password)",
      );
    });
  });
});

Deno.test("tokens expire: an expired session is refused with exit 4", async () => {
  await withCluster({ extraConfig: { tokenTtlMs: 1000 } }, async (cluster) => {
    await cluster.startOrchestrator();
    assert.equal((await cluster.cli(["login", "user1", "pass1"])).code, 0);
    // Make the client send the token anyway (its local expiry check would refuse first).
    const path = `${cluster.home}/session.json`;
    const state = JSON.parse(await Deno.readTextFile(path));
    state.session.expiresAtMs = Date.now() + 3_600_000;
    await Deno.writeTextFile(path, JSON.stringify(state));
    const refused = await pollUntil("the token expired on the orchestrator", async () => {
      const r = await cluster.cli(["list"]);
      return r.code === 0 ? undefined : r;
    }, { deadlineMs: 10_000, intervalMs: 200 });
    assert.equal(refused.code, EXIT_CODES.unauthenticated);
    assert.match(refused.stderr, /expired/i);
  });
});
