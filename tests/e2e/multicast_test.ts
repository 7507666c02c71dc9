// Proves multicast discovery inside a private network namespace: a worker and a client that know
// no orchestrator address find the leader by its announcements, and follow a new leader after
// the old one is killed. Skips (with the reason) where `ip netns` cannot be used.
import assert from "node:assert/strict";
import { hashPassword } from "../../shared/auth/mod.ts";
import { ManagedProcess, REPO_ROOT } from "../../scripts/lib/managed_process.ts";
import { createNamespace, deleteNamespace, netnsUnavailable } from "./netns.ts";

const GROUP = "239.255.77.1:7799";

Deno.test("multicast: workers and clients find the leader without a static list, and follow it", async (t) => {
  const reason = await netnsUnavailable();
  if (reason !== null) {
    console.log(`SKIPPED: multicast test needs network namespaces (${reason})`);
    return;
  }
  const ns = `mutirao-mc-${Deno.pid}`;
  const dir = await Deno.makeTempDir({ prefix: "mutirao-mc-" });
  const processes: ManagedProcess[] = [];
  const inNs = ["ip", "netns", "exec", ns];
  const start = (name: string, args: string[]) => {
    const p = new ManagedProcess({
      name,
      args,
      prefix: inNs,
      env: { MUTIRAO_HOME: `${dir}/home` },
    });
    processes.push(p);
    return p;
  };
  const cli = async (args: string[]) => {
    const out = await new Deno.Command("ip", {
      args: [
        ...inNs.slice(1),
        Deno.execPath(),
        "run",
        "-A",
        "client/main.ts",
        ...args,
        "--multicast",
        GROUP,
        // A plain-TCP cluster: the client must be told to trust an unauthenticated announcement.
        "--insecure-multicast",
        "--json",
      ],
      cwd: REPO_ROOT,
      env: { NO_COLOR: "1", MUTIRAO_HOME: `${dir}/home` },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    return {
      code: out.code,
      json: stdout.trim() === "" ? null : JSON.parse(stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
  };
  await createNamespace(ns);
  try {
    const config = {
      clusterId: "mc",
      orchestrators: [1, 2, 3].map((i) => ({ id: `o${i}`, host: "127.0.0.1", port: 7700 + i })),
      heartbeatIntervalMs: 250,
      users: [{ name: "user1", passwordHash: await hashPassword("pass1"), role: "admin" }],
    };
    await Deno.writeTextFile(`${dir}/cluster.json`, JSON.stringify(config));
    const orchestrators = new Map<string, ManagedProcess>();
    for (const o of config.orchestrators) {
      orchestrators.set(
        o.id,
        start(`orchestrator ${o.id}`, [
          "orchestrator/main.ts",
          "--config",
          `${dir}/cluster.json`,
          "--id",
          o.id,
          "--data-dir",
          `${dir}/data/${o.id}`,
          "--multicast",
          GROUP,
        ]),
      );
    }
    await Promise.all([...orchestrators.values()].map((p) => p.ready()));

    await t.step("a worker with only --multicast registers with the leader", async () => {
      const worker = start("worker", ["worker/main.ts", "--multicast", GROUP]);
      await worker.ready();
      assert.ok(worker.lines.some((l) => l.includes("Connected to orchestrator")));
    });

    let leaderId = "";
    await t.step("a client with only --multicast logs in and runs a task", async () => {
      const login = await cli(["login", "user1", "pass1"]);
      assert.equal(login.code, 0, login.stderr);
      const r = await cli([
        "submit",
        "found by multicast",
        "-d",
        "0.1",
        "--wait",
        "--wait-timeout",
        "20",
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.json.state, "succeeded");
      leaderId = r.json.history[0].node;
    });

    await t.step("after the leader dies, both follow the newly announced leader", async () => {
      const old = orchestrators.get(leaderId)!;
      old.signal("SIGKILL");
      await old.exited;
      const worker = processes.find((p) => p.name === "worker")!;
      await worker.waitForLine(
        (l) =>
          /Registered as/.test(l) &&
          worker.lines.filter((x) => /Registered as/.test(x)).length >= 2,
        20_000,
      );
      const r = await cli([
        "submit",
        "after failover",
        "-d",
        "0.1",
        "--wait",
        "--wait-timeout",
        "20",
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.json.state, "succeeded");
      assert.notEqual(r.json.history[0].node, leaderId);
    });
  } finally {
    await Promise.all(processes.map((p) => p.stop(3000)));
    await deleteNamespace(ns);
    await Deno.remove(dir, { recursive: true });
  }
});
