// Proves the pre-authentication fuzz modes in CI: LoginThrottle under pipelined and concurrent
// login attempts keeps its bounds and never refuses the owner's clean address (login target),
// and a real orchestrator with a cluster secret applies the client frame limit to every frame
// sent before a node has proven the secret, whatever its hello claimed (frame-size mode).
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { deriveClusterKeys, newClusterSecret, newNonce } from "../../shared/auth/node_auth.ts";
import { parseClusterConfig } from "../../shared/config/mod.ts";
import { loggerFrom } from "../../shared/log.ts";
import { createPrng } from "../../shared/prng.ts";
import { concatBytes } from "../../shared/protocol/frame.ts";
import { OrchestratorServer } from "../../orchestrator/shell/orchestrator_server.ts";
import { RawClient } from "../e2e/raw_client.ts";
import { ciSeed, fuzzInCi } from "./ci_fuzz.ts";
import { loginTarget } from "./login_target.ts";

Deno.test("LoginThrottle keeps its bounds over 20,000 pipelined and concurrent login steps", () => {
  fuzzInCi(loginTarget, 20_000);
});

const MIB = 1024 * 1024;
/** Frame lengths around the client limit (1 MiB) and the peer one (64 MiB). */
const LENGTHS = [0, 17, 4096, MIB, MIB + 1, 2 * MIB, 60 * MIB, 64 * MIB, 2 ** 32 - 1];
const ROLES = ["client", "worker", "peer o2", "peer o9"] as const;

function header(length: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, length);
  return bytes;
}

Deno.test("before the secret is proven, every frame over the client limit is refused, whatever the hello claimed", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "mutirao-preauth-fuzz-" });
  const config = parseClusterConfig({
    clusterId: "fuzz",
    orchestrators: [
      { id: "o1", host: "127.0.0.1", port: 0 },
      { id: "o2", host: "127.0.0.1", port: 9 }, // never answers: only its name matters here
    ],
  }, "preauth fuzz");
  const secret = new Uint8Array(Buffer.from(newClusterSecret(), "base64url"));
  const server = new OrchestratorServer({
    config,
    self: config.orchestrators[0],
    dataDir,
    logger: loggerFrom(() => {}),
    clusterKeys: deriveClusterKeys(secret),
  });
  const rng = createPrng(ciSeed());
  try {
    const { port } = await server.start((error) => {
      throw error;
    });
    for (let i = 0; i < 40; i++) {
      const role = rng.pick(ROLES);
      const length = rng.pick(LENGTHS);
      const what = `#${i}: hello as ${role}, then a ${length}-byte frame`;
      const client = await RawClient.open(port);
      try {
        const [kind, nodeId] = role.split(" ");
        const welcome = await client.request({
          v: 1,
          type: "hello",
          role: kind,
          lamport: 0,
          ...(kind === "client" ? {} : { nonce: newNonce() }),
          ...(kind === "peer" ? { nodeId, clusterId: "fuzz" } : {}),
        });
        if (role === "peer o9") {
          assert.equal(welcome?.code, "bad_request", `${what}: ${JSON.stringify(welcome)}`);
          continue;
        }
        assert.equal(welcome?.type, "welcome", `${what}: ${JSON.stringify(welcome)}`);
        const tooLarge = length > config.maxFrameBytes;
        // Over the limit: the header and a little; the rest would never be read.
        const body = new Uint8Array(tooLarge ? 16 : length).fill(0x20);
        await client.write(concatBytes([header(length), body]));
        const reply = await client.next(5_000);
        const code = reply?.type === "error" ? reply.code : reply?.type;
        if (tooLarge) assert.equal(code, "frame_too_large", `${what}: ${JSON.stringify(reply)}`);
        else assert.notEqual(code, "frame_too_large", `${what}: ${JSON.stringify(reply)}`);
      } finally {
        await client.close();
      }
    }
  } finally {
    await server.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});
