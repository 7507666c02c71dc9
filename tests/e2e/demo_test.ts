// Proves `deno task demo` end to end: it starts a cluster the CLI can use, and SIGINT makes it
// exit 0 having stopped every process it started and removed its temporary data directory.
import assert from "node:assert/strict";
import { ManagedProcess } from "../../scripts/lib/managed_process.ts";
import { withCluster } from "./cluster_fixture.ts";
import { childProcesses, isRunning } from "./process_table.ts";

const DEMO_CONFIG = new URL("../../config/demo.json", import.meta.url);

/** Host and port from "127.0.0.1:7701". */
function parseAddress(text: string): { hostname: string; port: number } {
  const match = /^(.+):(\d+)$/.exec(text.trim());
  assert.ok(match !== null, `not an address: ${text}`);
  return { hostname: match[1], port: Number(match[2]) };
}

/** True when nothing listens on the TCP port any more. */
async function refusesConnections(address: { hostname: string; port: number }) {
  try {
    const conn = await Deno.connect(address);
    conn.close();
    return false;
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionRefused) return true;
    throw error;
  }
}

/** True when the UDP port can be bound again, so the worker that held it has let it go. */
function isUdpPortFree(address: { hostname: string; port: number }): boolean {
  try {
    Deno.listenDatagram({ ...address, transport: "udp" }).close();
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) return false;
    throw error;
  }
}

Deno.test("deno task demo serves the CLI and SIGINT stops everything it started", async () => {
  // The fixture supplies a temp dir, a free port, a $MUTIRAO_HOME and the CLI; the demo's own
  // configuration (its users, user1/pass1 included) replaces the fixture's cluster file.
  await withCluster({ orchestrators: 3 }, async (cluster) => {
    const demoConfig = JSON.parse(await Deno.readTextFile(DEMO_CONFIG));
    assert.equal(demoConfig.orchestrators.length, 3, "config/demo.json lists three orchestrators");
    const ports = ["o1", "o2", "o3"].map((id) => cluster.address(id).port);
    demoConfig.orchestrators.forEach((o: { port: number }, i: number) => o.port = ports[i]);
    await Deno.writeTextFile(cluster.configPath, JSON.stringify(demoConfig, null, 2));

    const demo = new ManagedProcess({
      name: "demo",
      args: ["scripts/demo.ts", "--config", cluster.configPath, "--worker-port", "0", "--quiet"],
    });
    let children: number[] = [];
    try {
      const up = await demo.waitForLine((l) => l.includes("demo cluster is up"));
      const dataDir = /\(data in (.+)\):/.exec(up)?.[1];
      assert.ok(dataDir !== undefined, `no data dir in: ${up}`);
      const orchestrators = (await demo.waitForLine((l) => /^\s*orchestrators:/.test(l)))
        .replace(/^\s*orchestrators:\s*/, "").split(",").map((o) =>
          parseAddress(o.trim().split(" ")[1])
        );
      const workers = (await demo.waitForLine((l) => /^\s*workers:/.test(l)))
        .replace(/^\s*workers:\s*/, "").split(",").map(parseAddress);
      assert.deepEqual(orchestrators.map((o) => o.port), ports);
      assert.equal(workers.length, 3, "the demo starts 3 workers by default");
      children = (await childProcesses(demo.pid)).map((p) => p.pid);
      assert.equal(children.length, 6, "three orchestrators and three workers");
      await Deno.stat(dataDir);

      const login = await cluster.cli(["login", "user1", "pass1"]);
      assert.equal(login.code, 0, login.stderr);
      const submitted = await cluster.cli(["submit", "demo test", "-d", "0.2"]);
      assert.equal(submitted.code, 0, submitted.stderr);
      const done = await cluster.cli([
        "status",
        String(submitted.json?.id),
        "--wait",
        "--wait-timeout",
        "30",
      ]);
      assert.equal(done.code, 0, done.stderr);
      assert.equal(done.json?.state, "succeeded");

      demo.signal("SIGINT");
      const exit = await demo.exited;
      assert.equal(exit.code, 0, `demo exit ${JSON.stringify(exit)}:\n${demo.tail()}`);
      assert.ok(demo.lines.some((l) => l.includes("Stopping the demo cluster")));

      for (const pid of children) assert.equal(await isRunning(pid), false, `child ${pid} runs`);
      for (const o of orchestrators) {
        assert.ok(await refusesConnections(o), `orchestrator port ${o.port} still accepts`);
      }
      for (const w of workers) assert.ok(isUdpPortFree(w), `worker port ${w.port} still bound`);
      await assert.rejects(Deno.stat(dataDir), Deno.errors.NotFound, "data dir left behind");
    } finally {
      await demo.stop(3000);
      // Had the demo been killed, its children would be orphans: stop them by PID as well.
      for (const pid of children) {
        if (await isRunning(pid)) Deno.kill(pid, "SIGKILL");
      }
    }
  });
});
