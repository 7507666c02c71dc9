// Proves against a real orchestrator that password requests cost no scrypt before they are
// authenticated (40 password changes with a bogus token burn almost no CPU: issue 13, hole 6),
// and that a token alone cannot change its owner's password: the current one is required,
// checked and throttled like a login, while an admin's reset of another user's is logged
// (hole 14).
import assert from "node:assert/strict";
import { withCluster } from "./cluster_fixture.ts";
import { pollUntil } from "./poll_until.ts";
import { type Frame, RawClient } from "./raw_client.ts";

/** CPU seconds (user + system) process `pid` has used, from /proc (Linux). */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticksPerSecond = 100; // USER_HZ on Linux
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

async function login(client: RawClient, user: string, password: string): Promise<string> {
  const reply = await client.call({ type: "login", user, password });
  assert.equal(reply?.type, "loginOk", `login as ${user}: ${JSON.stringify(reply)}`);
  return String(reply!.token);
}

function codeOf(frame: Frame | null): string {
  return frame?.type === "error" ? String(frame.code) : String(frame?.type);
}

Deno.test("40 password changes with a bogus token are refused without hashing their passwords", async () => {
  await withCluster({}, async (cluster) => {
    const orchestrator = await cluster.startOrchestrator();
    await cluster.waitUntilServing();
    const client = await RawClient.welcomed(cluster.address().port);
    try {
      const requests = 40;
      const before = await cpuSeconds(orchestrator.pid);
      for (let i = 0; i < requests; i++) {
        await client.send({
          v: 1,
          lamport: 1,
          id: i + 1,
          type: "userPasswd",
          token: "bogus",
          name: "user1",
          password: `attacker-${i}`,
        });
      }
      for (let i = 0; i < requests; i++) {
        assert.equal(codeOf(await client.next()), "unauthenticated");
      }
      const spent = await cpuSeconds(orchestrator.pid) - before;
      // Each scrypt costs ~55 ms: hashing them all would take ~2 s of CPU.
      assert.ok(spent < 0.5, `the orchestrator spent ${spent.toFixed(2)} s of CPU`);
    } finally {
      await client.close();
    }
  });
});

Deno.test("a token alone cannot change its owner's password; an admin's reset of another's is logged", async () => {
  await withCluster({}, async (cluster) => {
    const orchestrator = await cluster.startOrchestrator();
    await cluster.waitUntilServing();
    const client = await RawClient.welcomed(cluster.address().port);
    try {
      const token = await login(client, "user2", "pass2");
      const change = (extra: Record<string, unknown>) =>
        client.call({ type: "userPasswd", token, name: "user2", password: "stolen-1", ...extra });

      const bare = await change({});
      assert.equal(codeOf(bare), "bad_request", JSON.stringify(bare));
      assert.match(String(bare?.message), /current password/);
      for (let i = 0; i < 4; i++) {
        assert.equal(codeOf(await change({ currentPassword: `guess-${i}` })), "bad_credentials");
      }
      const throttled = await change({ currentPassword: "pass2" });
      assert.equal(codeOf(throttled), "rate_limited", "current-password guesses are throttled");
      // The password is unchanged: it logs in once the wait the guesses earned is over.
      await pollUntil("user2 logs in with the old password", async () => {
        const reply = await client.call({ type: "login", user: "user2", password: "pass2" });
        assert.notEqual(codeOf(reply), "bad_credentials");
        return reply?.type === "loginOk" ? true : undefined;
      }, { deadlineMs: 10_000, intervalMs: 250 });

      const admin = await login(client, "user1", "pass1");
      const reset = await client.call({
        type: "userPasswd",
        token: admin,
        name: "user2",
        password: "reset-by-admin",
      });
      assert.equal(codeOf(reset), "done", JSON.stringify(reset));
      await orchestrator.waitForLine((l) =>
        l.includes(`Admin "user1" reset the password of user "user2"`)
      );
      const owner = await login(client, "user2", "reset-by-admin");
      const own = await client.call({
        type: "userPasswd",
        token: owner,
        name: "user2",
        password: "owner-again",
        currentPassword: "reset-by-admin",
      });
      assert.equal(codeOf(own), "done", JSON.stringify(own));
      await login(client, "user2", "owner-again");
    } finally {
      await client.close();
    }
  });
});
