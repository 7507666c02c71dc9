// Proves the CLI's password handling (issue 13, holes 14 and 15): `user passwd` for oneself sends the
// current password (first stdin line) with the new one (second line), refuses to send a change
// without it, and an admin resetting another user still gives only the new one; a password given as
// a `login` argument still works but warns on stderr, and the prompt/stdin form does not.
import assert from "node:assert/strict";
import { EXIT_CODES } from "../../shared/errors.ts";
import { type ClusterFixture, withCluster } from "./cluster_fixture.ts";
import { FakeOrchestrator } from "./security_client_fake_orchestrator.ts";

const ARGUMENT_WARNING = /warning: a password given as an argument is visible to every local user/;

/** Runs `body` with a fake orchestrator claiming this cluster's id: it records what is sent. */
async function withRecorder(
  cluster: ClusterFixture,
  body: (
    cli: (args: string[], stdin: string) => ReturnType<ClusterFixture["cli"]>,
    fake: FakeOrchestrator,
  ) => Promise<void>,
): Promise<void> {
  const fake = FakeOrchestrator.start({ clusterId: "e2e" });
  try {
    await body(
      (args, stdin) =>
        cluster.cli([...args, "--orchestrators", `127.0.0.1:${fake.port}`, "--timeout", "2"], {
          stdin,
        }),
      fake,
    );
  } finally {
    await fake.close();
  }
}

Deno.test("CLI password handling: current password for one's own change, a warning for argv passwords", async (t) => {
  await withCluster({}, async (cluster) => {
    await cluster.startOrchestrator();

    await t.step("login USER PASSWORD works but warns; the stdin form does not warn", async () => {
      const argv = await cluster.cli(["login", "user1", "pass1"]);
      assert.equal(argv.code, 0, argv.stderr);
      assert.match(argv.stderr, ARGUMENT_WARNING);
      const piped = await cluster.cli(["login", "user1"], { stdin: "pass1\n" });
      assert.equal(piped.code, 0, piped.stderr);
      assert.doesNotMatch(piped.stderr, /warning/);
    });

    await t.step("an admin adds carol; carol's own change sends her current password", async () => {
      const added = await cluster.cli(["user", "add", "carol"], { stdin: "carol-password-1\n" });
      assert.equal(added.code, 0, added.stderr);
      assert.equal(
        (await cluster.cli(["login", "carol"], { stdin: "carol-password-1\n" })).code,
        0,
      );
      await withRecorder(cluster, async (cli, fake) => {
        await cli(["user", "passwd"], "carol-password-1\ncarol-password-2\n");
        const [sent] = fake.ofType("userPasswd");
        assert.equal(sent?.name, "carol");
        assert.equal(sent?.currentPassword, "carol-password-1", "line 1 is the current password");
        assert.equal(sent?.password, "carol-password-2", "line 2 is the new one");
      });
    });

    await t.step(
      "one's own change without a current password is refused before sending",
      async () => {
        await withRecorder(cluster, async (cli, fake) => {
          for (const args of [["user", "passwd"], ["user", "passwd", "carol"]]) {
            const r = await cli(args, "carol-password-2\n");
            assert.equal(r.code, EXIT_CODES.invalidArguments, `${args.join(" ")}: ${r.stderr}`);
            assert.match(r.stderr, /no new password on the second line.*first line is the current/);
          }
          assert.deepEqual(fake.ofType("userPasswd"), [], "no change request was sent");
        });
        assert.equal(
          (await cluster.cli(["login", "carol"], { stdin: "carol-password-1\n" })).code,
          0,
          "carol's password is unchanged",
        );
      },
    );

    await t.step("a wrong current password is refused by the cluster", async () => {
      const r = await cluster.cli(["user", "passwd"], {
        stdin: "not-carols-password\ncarol-password-9\n",
      });
      assert.notEqual(r.code, 0, "the change was refused");
      assert.equal(
        (await cluster.cli(["login", "carol"], { stdin: "carol-password-1\n" })).code,
        0,
        "carol's password is unchanged",
      );
    });

    await t.step("with both lines the change applies", async () => {
      const r = await cluster.cli(["user", "passwd"], {
        stdin: "carol-password-1\ncarol-password-2\n",
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        (await cluster.cli(["login", "carol"], { stdin: "carol-password-2\n" })).code,
        0,
      );
    });

    await t.step("an admin resetting another user's password gives only the new one", async () => {
      assert.equal((await cluster.cli(["login", "user1"], { stdin: "pass1\n" })).code, 0);
      await withRecorder(cluster, async (cli, fake) => {
        await cli(["user", "passwd", "carol"], "carol-password-3\n");
        const [sent] = fake.ofType("userPasswd");
        assert.equal(sent?.password, "carol-password-3");
        assert.equal(sent?.currentPassword, undefined);
      });
      const reset = await cluster.cli(["user", "passwd", "carol"], {
        stdin: "carol-password-3\n",
      });
      assert.equal(reset.code, 0, reset.stderr);
      assert.equal(
        (await cluster.cli(["login", "carol"], { stdin: "carol-password-3\n" })).code,
        0,
      );
    });
  });
});
