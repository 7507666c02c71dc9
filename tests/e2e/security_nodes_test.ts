// Proves node security end to end: only nodes holding the cluster secret can register, forged,
// replayed and stale heartbeats are dropped and counted (a forged one never keeps a dead worker
// alive), and TLS works end to end while a plaintext client gets a clear error.
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { deriveClusterKeys, newClusterSecret } from "../../shared/auth/node_auth.ts";
import { EXIT_CODES } from "../../shared/errors.ts";
import { canonicalHeartbeat, signDatagram } from "../../shared/net/datagram_guard.ts";
import { makeTestCert } from "./test_cert.ts";
import { withCluster } from "./cluster_fixture.ts";

async function writeSecret(path: string, secret = newClusterSecret()): Promise<string> {
  await Deno.writeTextFile(path, secret + "\n", { mode: 0o600 });
  return secret;
}

interface Dropped {
  malformed: number;
  forged: number;
  stale: number;
  replayed: number;
}

Deno.test("cluster secret: outsiders cannot register; forged, replayed and stale heartbeats are dropped", async (t) => {
  await withCluster({}, async (cluster) => {
    const secretFile = `${cluster.dir}/cluster.secret`;
    const secret = await writeSecret(secretFile);
    const config = JSON.parse(await Deno.readTextFile(cluster.configPath));
    config.clusterSecretFile = secretFile;
    await Deno.writeTextFile(cluster.configPath, JSON.stringify(config));
    const orchestrator = await cluster.startOrchestrator();
    const insider = await cluster.startWorker();
    assert.equal((await cluster.cli(["login", "user1", "pass1"])).code, 0);

    await t.step("a secret file readable by others is refused at start", async () => {
      const loose = `${cluster.dir}/loose.secret`;
      await writeSecret(loose);
      await Deno.chmod(loose, 0o644);
      const p = cluster.spawn("loose worker", [
        "worker/main.ts",
        "--config",
        cluster.configPath,
        "--cluster-secret",
        loose,
      ]);
      const status = await p.exited;
      assert.equal(status.code, 1);
      assert.ok(
        p.lines.some((l) => /Refusing to use the cluster secret file .* chmod 600/.test(l)),
        p.tail(),
      );
    });

    await t.step("a worker without the secret, or with another one, cannot register", async () => {
      const noSecret = `${cluster.dir}/no-secret.json`;
      await Deno.writeTextFile(noSecret, JSON.stringify({ ...config, clusterSecretFile: null }));
      const outsider = cluster.spawn("outsider", ["worker/main.ts", "--config", noSecret]);
      await outsider.waitForLine((l) => l.includes("requires node authentication"));
      const wrongFile = `${cluster.dir}/wrong.secret`;
      await writeSecret(wrongFile);
      const impostor = cluster.spawn("impostor", [
        "worker/main.ts",
        "--config",
        cluster.configPath,
        "--cluster-secret",
        wrongFile,
      ]);
      // The impostor refuses an orchestrator whose proof it cannot verify (mutual authentication).
      await impostor.waitForLine((l) => l.includes("failed the cluster-secret challenge"));
      const workers = (await cluster.cli(["workers"])).json?.workers as Array<{ id: string }>;
      assert.deepEqual(workers.map((w) => w.id), [insider.workerId]);
      assert.ok(!outsider.lines.some((l) => l.includes('"event":"ready"')));
      assert.ok(!impostor.lines.some((l) => l.includes('"event":"ready"')));
    });

    const keys = deriveClusterKeys(new Uint8Array(Buffer.from(secret, "base64url")));
    const udp = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
    const target = {
      transport: "udp" as const,
      hostname: "127.0.0.1",
      port: cluster.address().port,
    };
    const dropped = async (): Promise<Dropped> => {
      const r = await cluster.cli(["cluster"]);
      return (r.json?.orchestrators as Array<{ droppedDatagrams: Dropped }>)[0].droppedDatagrams;
    };
    try {
      const workers = (await cluster.cli(["workers"])).json?.workers as Array<
        { id: string; incarnation: string }
      >;
      const { id: workerId, incarnation } = workers[0];

      await t.step("a replayed or stale heartbeat is dropped and counted", async () => {
        const base = {
          v: 1 as const,
          lamport: 1,
          type: "heartbeat" as const,
          workerId,
          incarnation,
          seq: 1_000_000_000,
          running: 0,
          slots: 4,
          sentAtMs: Date.now(),
        };
        const signed = signDatagram(keys, base, canonicalHeartbeat(base));
        const bytes = new TextEncoder().encode(JSON.stringify(signed));
        await udp.send(bytes, target); // accepted: valid MAC, fresh, newer sequence
        await udp.send(bytes, target); // the same datagram again: a replay
        const old = { ...base, seq: base.seq + 1, sentAtMs: Date.now() - 60_000 };
        await udp.send(
          new TextEncoder().encode(
            JSON.stringify(signDatagram(keys, old, canonicalHeartbeat(old))),
          ),
          target,
        );
        const counts = await dropped();
        assert.ok(counts.replayed >= 1, JSON.stringify(counts));
        assert.ok(counts.stale >= 1, JSON.stringify(counts));
      });

      await t.step("forged heartbeats do not keep a killed worker alive", async () => {
        insider.signal("SIGKILL");
        await insider.exited;
        let seq = 2_000_000_000;
        const forge = setInterval(() => {
          const hb = {
            v: 1,
            lamport: 1,
            type: "heartbeat",
            workerId,
            incarnation,
            seq: seq++,
            running: 0,
            slots: 4,
            sentAtMs: Date.now(),
            mac: "A".repeat(43),
          };
          udp.send(new TextEncoder().encode(JSON.stringify(hb)), target).catch(
            () => {/* best effort */},
          );
        }, 50);
        try {
          await orchestrator.waitForLine(
            (l) => l.includes(`Worker ${workerId} lost: missed heartbeats`),
            15_000,
          );
        } finally {
          clearInterval(forge);
        }
        assert.ok((await dropped()).forged >= 1);
      });
    } finally {
      udp.close();
    }
  });
});

Deno.test("TLS: every link encrypted end to end; a plaintext client gets a clear error", async (t) => {
  await withCluster({ orchestrators: 3 }, async (cluster) => {
    const { cert, key } = await makeTestCert(cluster.dir);
    const config = JSON.parse(await Deno.readTextFile(cluster.configPath));
    config.tls = { certFile: cert, keyFile: key, caFile: cert };
    await Deno.writeTextFile(cluster.configPath, JSON.stringify(config));
    await Promise.all(["o1", "o2", "o3"].map((id) => cluster.startOrchestrator(id)));
    await cluster.startWorker();

    await t.step(
      "login, submit and status over TLS; the orchestrators replicate over TLS",
      async () => {
        assert.equal((await cluster.cli(["login", "user1", "pass1"])).code, 0);
        const done = await cluster.cli([
          "submit",
          "over tls",
          "-d",
          "0.1",
          "--wait",
          "--wait-timeout",
          "30",
        ]);
        assert.equal(done.code, 0, done.stderr);
        assert.equal(done.json?.state, "succeeded");
        const rows = (await cluster.cli(["cluster"])).json?.orchestrators as Array<
          { role: string; lag: number }
        >;
        assert.equal(rows.filter((r) => r.role === "leader").length, 1);
        assert.ok(rows.every((r) => r.role !== "unreachable"), JSON.stringify(rows));
      },
    );

    await t.step("a plaintext client gets a clear error, not a hang", async () => {
      const plain = `${cluster.dir}/plain.json`;
      await Deno.writeTextFile(plain, JSON.stringify({ ...config, tls: null }));
      const started = performance.now();
      const r = await cluster.cli(["login", "user1", "pass1", "--timeout", "3"], { config: plain });
      assert.equal(r.code, EXIT_CODES.unreachable);
      assert.match(
        r.stderr,
        /the cluster uses TLS; give its CA|if the cluster uses TLS, give its CA/,
      );
      assert.ok(performance.now() - started < 20_000, "it gave up within its time budget");
    });
  });
});
