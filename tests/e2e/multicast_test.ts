// Proves multicast discovery inside a private network namespace: a worker and a client that know
// no orchestrator address find the leader by its announcements, and follow a new leader after
// the old one is killed. Skips (with the reason) where `ip netns` cannot be used.
import assert from "node:assert/strict";
import { hashPassword } from "../../shared/auth/mod.ts";
import { ManagedProcess, REPO_ROOT } from "../../scripts/lib/managed_process.ts";

const GROUP = "239.255.77.1:7799";

/** Why namespaces cannot be used here, or null when they can. */
async function netnsUnavailable(): Promise<string | null> {
  if (Deno.build.os !== "linux") return "not Linux";
  if (Deno.uid() !== 0) return "not running as root";
  try {
    const out = await new Deno.Command("ip", {
      args: ["netns", "list"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success ? null : "`ip netns list` failed";
  } catch {
    return "the `ip` command is missing"; // NotFound: iproute2 is not installed
  }
}

async function run(args: string[]): Promise<string> {
  const out = await new Deno.Command(args[0], {
    args: args.slice(1),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** A namespace whose only interface is its own loopback, with multicast routed there. */
async function createNamespace(name: string): Promise<void> {
  await run(["ip", "netns", "add", name]);
  await run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"]);
  await run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "multicast", "on"]);
  await run(["ip", "netns", "exec", name, "ip", "route", "add", "224.0.0.0/4", "dev", "lo"]);
  const links = await run(["ip", "netns", "exec", name, "ip", "-o", "link"]);
  const names = links.trim().split("\n").map((l) => l.split(":")[1].trim());
  // Guard: never send multicast where a real interface could carry it.
  assert.deepEqual(names, ["lo"], `namespace ${name} has interfaces other than lo: ${names}`);
}

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
    await run(["ip", "netns", "del", ns]).catch((error) =>
      console.error(`Cannot delete namespace ${ns}: ${error}`)
    );
    await Deno.remove(dir, { recursive: true });
  }
});
