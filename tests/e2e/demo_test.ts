// Proves `deno task demo` end to end: it starts a cluster the CLI can use; SIGINT makes it exit 0
// having stopped every process it started and removed its temporary data directory; and the
// commands it reads on stdin kill, restart, pause and resume nodes while the cluster serves.
import assert from "node:assert/strict";
import { freePort, ManagedProcess } from "../../scripts/lib/managed_process.ts";
import { type ClusterFixture, withCluster } from "./cluster_fixture.ts";
import { pollUntil } from "./poll_until.ts";
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

interface RunningDemo {
  demo: ManagedProcess;
  dataDir: string;
  /** Orchestrator demo name (o1) → address, in the cluster file's order. */
  orchestrators: Map<string, { hostname: string; port: number }>;
  /** Worker demo name (w1) → address. */
  workers: Map<string, { hostname: string; port: number }>;
}

/**
 * Starts the demo on the fixture's ports with the demo file's users, stdin piped when asked,
 * and reads its banner. The caller stops it (and its children) by PID.
 */
async function startDemo(
  cluster: ClusterFixture,
  stdin: "null" | "piped",
): Promise<RunningDemo> {
  // The fixture supplies a temp dir, free ports, a $MUTIRAO_HOME and the CLI; the demo's own
  // configuration (its users, user1/pass1 included) replaces the fixture's cluster file.
  const demoConfig = JSON.parse(await Deno.readTextFile(DEMO_CONFIG));
  assert.equal(demoConfig.orchestrators.length, 3, "config/demo.json lists three orchestrators");
  const ports = ["o1", "o2", "o3"].map((id) => cluster.address(id).port);
  // Free HTTP ports too: the file's 8701-8703 may be taken by a demo or another test.
  const httpPorts = ports.map(() => freePort());
  demoConfig.orchestrators.forEach((o: { port: number; httpPort?: number }, i: number) => {
    o.port = ports[i];
    o.httpPort = httpPorts[i];
  });
  await Deno.writeTextFile(cluster.configPath, JSON.stringify(demoConfig, null, 2));

  const demo = new ManagedProcess({
    name: "demo",
    args: ["scripts/demo.ts", "--config", cluster.configPath, "--worker-port", "0", "--quiet"],
    stdin,
  });
  try {
    return await readBanner(demo, ports, httpPorts);
  } catch (error) {
    await stopDemo(demo, (await childProcesses(demo.pid)).map((p) => p.pid));
    throw error;
  }
}

/** The data directory and node addresses the demo prints once its cluster is up. */
async function readBanner(
  demo: ManagedProcess,
  ports: number[],
  httpPorts: number[],
): Promise<RunningDemo> {
  const up = await demo.waitForLine((l) => l.includes("demo cluster is up"));
  const dataDir = /\(data in (.+)\):/.exec(up)?.[1];
  assert.ok(dataDir !== undefined, `no data dir in: ${up}`);
  const named = async (label: string) =>
    new Map(
      (await demo.waitForLine((l) => new RegExp(`^\\s*${label}:`).test(l)))
        .replace(new RegExp(`^\\s*${label}:\\s*`), "").split(",").map((entry) => {
          const [name, address] = entry.trim().split(" ");
          return [name, parseAddress(address)] as const;
        }),
    );
  const orchestrators = await named("orchestrators");
  const workers = await named("workers");
  assert.deepEqual([...orchestrators.values()].map((o) => o.port), ports);
  assert.deepEqual([...workers.keys()], ["w1", "w2", "w3"], "the demo starts 3 workers by default");
  const dashboard = await demo.waitForLine((l) => /^\s*dashboard:/.test(l));
  assert.ok(dashboard.includes(`http://127.0.0.1:${httpPorts[0]}/`), dashboard);
  const api = await demo.waitForLine((l) => /^\s*HTTP API:/.test(l));
  assert.ok(api.includes(`http://127.0.0.1:${httpPorts[0]}/api/v1`), api);
  return { demo, dataDir, orchestrators, workers };
}

/** Stops the demo and, had it been killed, its orphaned children, all by PID. */
async function stopDemo(demo: ManagedProcess, pids: Iterable<number>): Promise<void> {
  await demo.stop(3000);
  for (const pid of pids) {
    if (await isRunning(pid)) Deno.kill(pid, "SIGKILL");
  }
}

/** The process state letter in /proc (R, S, T for stopped, …), or null once it is gone. */
async function processState(pid: number): Promise<string | null> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** Submits a short task and waits until it ends, through the CLI; the cluster must serve it. */
async function submitAndWait(cluster: ClusterFixture, description: string): Promise<void> {
  const done = await cluster.cli([
    "submit",
    description,
    "-d",
    "0.2",
    "--wait",
    "--wait-timeout",
    "30",
  ]);
  assert.equal(done.code, 0, done.stderr);
  assert.equal(done.json?.state, "succeeded", done.stdout);
}

Deno.test("deno task demo serves the CLI, outlives a worker killed from outside, and SIGINT stops everything it started", async () => {
  await withCluster({ orchestrators: 3 }, async (cluster) => {
    let children: number[] = [];
    const { demo, dataDir, orchestrators, workers } = await startDemo(cluster, "null");
    try {
      children = (await childProcesses(demo.pid)).map((p) => p.pid);
      assert.equal(children.length, 6, "three orchestrators and three workers");
      await Deno.stat(dataDir);

      const login = await cluster.cli(["login", "user1", "pass1"]);
      assert.equal(login.code, 0, login.stderr);
      await submitAndWait(cluster, "demo test");
      // The demo's workers serve the example handlers.
      const added = await cluster.cli([
        "submit",
        "--kind",
        "add",
        "--payload",
        '{"a":2,"b":3}',
        "--wait",
        "--wait-timeout",
        "30",
      ]);
      assert.equal(added.code, 0, added.stderr);
      assert.equal((added.json as { result?: { value?: string } }).result?.value, "5");

      // kill -9 of one worker, as a user would from another terminal: reported once, the rest
      // keep running and serving (this used to tear the whole cluster down).
      const worker = (await childProcesses(demo.pid)).find((p) =>
        p.argv.includes("worker/main.ts")
      );
      assert.ok(worker !== undefined, "no worker among the demo's children");
      Deno.kill(worker.pid, "SIGKILL");
      const died = await demo.waitForLine((l) => l.startsWith("worker w"));
      assert.match(
        died,
        /^worker w\d died \(SIGKILL\); the cluster carries on; `r w\d` restarts it$/,
      );
      await submitAndWait(cluster, "after a worker died");
      assert.equal((await childProcesses(demo.pid)).length, 5, "the other five nodes run");
      // Its stdin was /dev/null from the start: end of input alone does not stop the demo.
      assert.equal(demo.hasExited, false, "the demo stopped at the end of its input");

      demo.signal("SIGINT");
      const exit = await demo.exited;
      assert.equal(exit.code, 0, `demo exit ${JSON.stringify(exit)}:\n${demo.tail()}`);
      assert.ok(demo.lines.some((l) => l.includes("Stopping the demo cluster")));

      for (const pid of children) assert.equal(await isRunning(pid), false, `child ${pid} runs`);
      for (const o of orchestrators.values()) {
        assert.ok(await refusesConnections(o), `orchestrator port ${o.port} still accepts`);
      }
      for (const w of workers.values()) {
        assert.ok(isUdpPortFree(w), `worker port ${w.port} still bound`);
      }
      await assert.rejects(Deno.stat(dataDir), Deno.errors.NotFound, "data dir left behind");
    } finally {
      await stopDemo(demo, children);
    }
  });
});

Deno.test("deno task demo kills, restarts, pauses and resumes nodes on stdin while the cluster serves, and quit stops all", async () => {
  await withCluster({ orchestrators: 3 }, async (cluster) => {
    const pids = new Set<number>();
    const { demo, dataDir, workers } = await startDemo(cluster, "piped");
    const type = (line: string) => demo.writeStdin(`${line}\n`);
    /** The first output line after the ones seen so far that matches. */
    const next = (predicate: (l: string) => boolean) => {
      const seen = demo.lines.length;
      return demo.waitForLine((l) => predicate(l) && demo.lines.indexOf(l, seen) >= seen);
    };
    /** Types `status` and reads the row of `name`: "w1  worker  running  1234  …". */
    const statusRow = async (name: string) => {
      const row = next((l) => l.startsWith(`${name} `));
      await type("status");
      const [, , state, pid] = (await row).split(/ {2,}/);
      return { state, pid: Number(pid) };
    };
    const notePids = async () => {
      for (const p of await childProcesses(demo.pid)) pids.add(p.pid);
    };
    try {
      await notePids();
      assert.equal(pids.size, 6, "three orchestrators and three workers");
      assert.equal((await cluster.cli(["login", "user1", "pass1"])).code, 0);

      // Unknown input: one line naming it and the valid commands; the demo goes on.
      let reply = next((l) => l.includes("frobnicate"));
      await type("frobnicate w1");
      assert.match(await reply, /^Unknown command "frobnicate"; commands: kill X, .*quit$/);

      // kill w1: reported with its signal, and the cluster still serves.
      const { pid: w1Pid } = await statusRow("w1");
      assert.ok(pids.has(w1Pid), `w1's PID ${w1Pid} is not one of the demo's`);
      reply = next((l) => l.startsWith("worker w1 died"));
      await type("kill w1");
      assert.equal(
        await reply,
        "worker w1 died (SIGKILL); the cluster carries on; `r w1` restarts it",
      );
      assert.equal(await isRunning(w1Pid), false, "w1 still runs");
      await submitAndWait(cluster, "after kill w1");
      assert.equal(demo.hasExited, false, "a dead worker stopped the demo");

      // restart w1: same name and port, and the cluster lists it among its workers again.
      const w1 = `${workers.get("w1")!.hostname}:${workers.get("w1")!.port}`;
      reply = next((l) => l.startsWith("worker w1 is back"));
      await type("r w1");
      assert.match(await reply, new RegExp(`^worker w1 is back \\(PID \\d+, ${w1}\\)`));
      await notePids();
      await pollUntil("w1 is listed as a live worker again", async () => {
        const listed = (await cluster.cli(["workers"])).json?.workers as
          | Array<{ id: string; status: string }>
          | undefined;
        return listed?.some((w) => w.id === w1 && w.status === "alive") ? true : undefined;
      });

      // pause the leader: SIGSTOP, shown by status; the others serve; resume thaws it.
      const rows = (await cluster.cli(["cluster"])).json?.orchestrators as Array<
        { id: string; role: string }
      >;
      const leader = rows.find((r) => r.role === "leader")?.id;
      assert.ok(leader !== undefined, JSON.stringify(rows));
      reply = next((l) => l.startsWith(`Paused orchestrator ${leader} `));
      await type(`pause ${leader}`);
      const leaderPid = Number(/PID (\d+)/.exec(await reply)?.[1]);
      assert.ok(pids.has(leaderPid), `paused PID ${leaderPid} is not one of the demo's`);
      // SIGSTOP is delivered asynchronously: a leader busy on another core shows "R" a moment
      // longer after the demo said it sent it.
      await pollUntil(
        "the paused leader is stopped (state T)",
        async () => await processState(leaderPid) === "T" ? true : undefined,
        { deadlineMs: 5_000 },
      );
      assert.deepEqual(await statusRow(leader), { state: "paused", pid: leaderPid });
      await submitAndWait(cluster, "while the leader is paused");
      reply = next((l) => l.startsWith(`Resumed orchestrator ${leader} `));
      await type(`resume ${leader}`);
      await reply;
      assert.notEqual(await processState(leaderPid), "T", "the resumed leader is still stopped");
      assert.deepEqual(await statusRow(leader), { state: "running", pid: leaderPid });

      // quit: exit 0, every process it ever started gone, its data removed.
      await type("quit");
      const exit = await demo.exited;
      assert.equal(exit.code, 0, `demo exit ${JSON.stringify(exit)}:\n${demo.tail()}`);
      assert.equal(pids.size, 7, "six nodes and the restarted w1");
      for (const pid of pids) assert.equal(await isRunning(pid), false, `process ${pid} runs`);
      await assert.rejects(Deno.stat(dataDir), Deno.errors.NotFound, "data dir left behind");
    } finally {
      await stopDemo(demo, pids);
    }
  });
});

Deno.test("deno task demo names the node that could not start and why, and leaves nothing running", async () => {
  await withCluster({ orchestrators: 3 }, async (cluster) => {
    const demoConfig = JSON.parse(await Deno.readTextFile(DEMO_CONFIG));
    const addresses = ["o1", "o2", "o3"].map((id) => cluster.address(id));
    demoConfig.orchestrators.forEach((o: { port: number }, i: number) =>
      o.port = addresses[i].port
    );
    await Deno.writeTextFile(cluster.configPath, JSON.stringify(demoConfig, null, 2));
    // Something else already listens on o2's port, as a second demo would.
    const squatter = Deno.listen({ hostname: "127.0.0.1", port: addresses[1].port });
    const demo = new ManagedProcess({
      name: "demo",
      args: ["scripts/demo.ts", "--config", cluster.configPath, "--worker-port", "0", "--quiet"],
    });
    try {
      const exit = await demo.exited;
      assert.equal(exit.code, 1, demo.tail());
      const said = demo.lines.find((l) => l.startsWith("mutirao demo:"));
      assert.match(
        said ?? demo.tail(),
        new RegExp(
          `^mutirao demo: Cannot start orchestrator o2 \\(127\\.0\\.0\\.1:${
            addresses[1].port
          }\\): ` +
            "it exited with code 1 before it was ready: .*already in use",
        ),
      );
      for (const i of [0, 2]) {
        const o = { hostname: "127.0.0.1", port: addresses[i].port };
        assert.ok(await refusesConnections(o), `orchestrator port ${o.port} still accepts`);
      }
    } finally {
      squatter.close();
      await demo.stop(3000);
    }
  });
});
