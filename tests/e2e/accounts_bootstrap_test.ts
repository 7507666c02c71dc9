// Proves on real processes that account changes stick (issue 14, bug 4): a user removed with the
// CLI is not re-created by the next leader, the last admin cannot be removed, and a password set
// with `deno task add-user` applies after a rolling restart (and the old one stops working).
import assert from "node:assert/strict";
import type { ManagedProcess } from "../../scripts/lib/managed_process.ts";
import { withCluster } from "./cluster_fixture.ts";

const IDS = ["o1", "o2", "o3"];

Deno.test("a removed account stays removed across leader changes; the last admin stays", async () => {
  await withCluster({ orchestrators: 3 }, async (cluster) => {
    const nodes = new Map<string, ManagedProcess>();
    for (const id of IDS) nodes.set(id, await cluster.startOrchestrator(id));
    assert.equal((await cluster.cli(["login", "user1", "pass1"])).code, 0);
    const removed = await cluster.cli(["user", "remove", "user2"]);
    assert.equal(removed.code, 0, removed.stderr);
    const last = await cluster.cli(["user", "remove", "user1"]);
    assert.notEqual(last.code, 0);
    assert.match(last.stderr, /last admin/);

    // Every orchestrator restarted (each a new term for whoever leads next).
    for (const id of IDS) {
      await nodes.get(id)!.stop();
      nodes.set(id, await cluster.startOrchestrator(id));
    }
    assert.equal((await cluster.cli(["login", "user1", "pass1", "--timeout", "30"])).code, 0);
    const users = await cluster.cli(["user", "list"]);
    assert.deepEqual(
      (users.json?.users as Array<{ name: string }>).map((u) => u.name),
      ["user1"],
    );
    const login = await cluster.cli(["login", "user2", "pass2"]);
    assert.equal(login.code, 3, "the removed account came back");
  });
});

Deno.test("add-user's new password applies after a rolling restart, once", async () => {
  await withCluster({ orchestrators: 3 }, async (cluster) => {
    const nodes = new Map<string, ManagedProcess>();
    for (const id of IDS) nodes.set(id, await cluster.startOrchestrator(id));
    assert.equal((await cluster.cli(["login", "user2", "pass2"])).code, 0);

    const added = await addUser(cluster.configPath, "user2", "brand-new-pass");
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /applies once every orchestrator has been restarted/);
    for (const id of IDS) {
      await nodes.get(id)!.stop();
      nodes.set(id, await cluster.startOrchestrator(id));
    }
    const fresh = await cluster.cli(["login", "user2", "--timeout", "30"], {
      stdin: "brand-new-pass\n",
    });
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.equal((await cluster.cli(["login", "user2", "pass2"])).code, 3);
  });
});

/** Runs `deno task add-user` with the password on stdin; it exits by itself. */
async function addUser(configPath: string, name: string, password: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "scripts/add_user.ts", "--config", configPath, name],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(`${password}\n`));
  await writer.close();
  const output = await child.output();
  const text = new TextDecoder();
  return {
    code: output.code,
    stdout: text.decode(output.stdout),
    stderr: text.decode(output.stderr),
  };
}
