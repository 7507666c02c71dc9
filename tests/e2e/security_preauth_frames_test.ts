// Proves that on a cluster with a secret, a connection claiming to be a peer keeps the client
// frame limit (1 MiB) until it has proven the secret: a 2 MiB frame sent before the proof is
// refused as too large, unread, while real peers still replicate (issue 13, hole 2).
import assert from "node:assert/strict";
import { newClusterSecret, newNonce } from "../../shared/auth/node_auth.ts";
import { encodeFrame } from "../../shared/protocol/frame.ts";
import { withCluster } from "./cluster_fixture.ts";
import { RawClient } from "./raw_client.ts";

const MIB = 1024 * 1024;

Deno.test("a hello claiming to be a peer does not raise the frame limit before the secret is proven", async () => {
  await withCluster({ orchestrators: 2 }, async (cluster) => {
    const secretFile = `${cluster.dir}/cluster.secret`;
    await Deno.writeTextFile(secretFile, newClusterSecret() + "\n", { mode: 0o600 });
    const config = JSON.parse(await Deno.readTextFile(cluster.configPath));
    await Deno.writeTextFile(
      cluster.configPath,
      JSON.stringify({ ...config, clusterSecretFile: secretFile }),
    );
    await Promise.all([cluster.startOrchestrator("o1"), cluster.startOrchestrator("o2")]);
    await cluster.waitUntilServing(); // the real peers proved the secret to each other

    const impostor = await RawClient.open(cluster.address("o1").port);
    try {
      const welcome = await impostor.request({
        v: 1,
        type: "hello",
        role: "peer",
        nodeId: "o2",
        clusterId: config.clusterId,
        lamport: 0,
        nonce: newNonce(),
      });
      assert.equal(welcome?.type, "welcome", JSON.stringify(welcome));
      assert.equal(typeof welcome?.nonce, "string", "the orchestrator challenged the impostor");
      // Above the client limit, far below the peer one: junk instead of a proof.
      await impostor.write(encodeFrame(new Uint8Array(2 * MIB).fill(0x20)));
      const reply = await impostor.next();
      assert.equal(reply?.type, "error", JSON.stringify(reply));
      assert.equal(reply?.code, "frame_too_large", JSON.stringify(reply));
      await impostor.closedByServer(5000);
    } finally {
      await impostor.close();
    }
    // The cluster still serves.
    assert.equal((await cluster.cli(["login", "user1", "pass1"])).code, 0);
  });
});
