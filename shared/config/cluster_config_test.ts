// Proves the cluster file is validated strictly: defaults fill in, every bad field is named, and
// nothing unknown or inconsistent is accepted silently.
import assert from "node:assert/strict";
import { parseAddressList, parseClusterConfig } from "./cluster_config.ts";

const HASH =
  "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
const MINIMAL = { orchestrators: [{ id: "o1", host: "127.0.0.1", port: 7701 }] };

Deno.test("parseClusterConfig() fills in documented defaults", () => {
  const config = parseClusterConfig(MINIMAL, "test");
  assert.equal(config.clusterId, "mutirao");
  assert.equal(config.heartbeatIntervalMs, 500);
  assert.equal(config.missedHeartbeats, 3);
  assert.equal(config.scheduler, "round-robin");
  assert.equal(config.tokenTtlMs, 24 * 3600 * 1000);
  assert.equal(config.maxFrameBytes, 1024 * 1024);
  assert.equal(config.multicast, null);
  assert.deepEqual(config.users, []);
  assert.equal(config.demo, false);
  assert.equal(config.orchestrators[0].httpPort, undefined, "no HTTP unless asked");
  assert.equal(config.metricsToken, undefined, "/metrics needs no token unless one is set");
});

Deno.test("parseClusterConfig() names the file and the field in every error", () => {
  const cases: Array<[unknown, RegExp]> = [
    [{}, /Invalid cluster file test: field "orchestrators"/],
    [{ ...MINIMAL, heartbeatIntervalMs: "fast" }, /field "heartbeatIntervalMs"/],
    [{ ...MINIMAL, scheduler: "random" }, /field "scheduler"/],
    [{ ...MINIMAL, metricsToken: "short" }, /field "metricsToken"/],
    [{ ...MINIMAL, metricsToken: "sixteen chars with spaces" }, /field "metricsToken"/],
    [
      { ...MINIMAL, orchestrators: [{ id: "o 1", host: "h", port: 1 }] },
      /field "orchestrators.0.id"/,
    ],
    [
      { ...MINIMAL, orchestrators: [{ id: "o1", host: "h", port: 70000 }] },
      /field "orchestrators.0.port"/,
    ],
    [
      { ...MINIMAL, orchestrators: [{ id: "o1", host: "h", port: 1, httpPort: 65536 }] },
      /field "orchestrators.0.httpPort"/,
    ],
    [
      { ...MINIMAL, orchestrators: [{ id: "o1", host: "h", port: 1, httpPort: 1 }] },
      /field "orchestrators.0.httpPort": h:1 is already another port of an orchestrator/,
    ],
    [
      {
        ...MINIMAL,
        orchestrators: [
          { id: "o1", host: "h", port: 1, httpPort: 3 },
          { id: "o2", host: "h", port: 2, httpPort: 3 },
        ],
      },
      /field "orchestrators.1.httpPort"/,
    ],
    [{ ...MINIMAL, heartbeatIntervalMss: 500 }, /heartbeatIntervalMss/],
    [{ ...MINIMAL, users: [{ name: "u", passwordHash: "pass1" }] }, /field "users.0.passwordHash"/],
    [{ ...MINIMAL, users: [{ name: "a b", passwordHash: HASH }] }, /field "users.0.name"/],
  ];
  for (const [value, pattern] of cases) {
    assert.throws(() => parseClusterConfig(value, "test"), pattern, JSON.stringify(value));
  }
});

Deno.test("parseClusterConfig() refuses duplicate orchestrator ids and user names", () => {
  assert.throws(
    () =>
      parseClusterConfig({
        orchestrators: [{ id: "o1", host: "h", port: 1 }, { id: "o1", host: "h", port: 2 }],
      }, "test"),
    /duplicate id "o1"/,
  );
  assert.throws(
    () =>
      parseClusterConfig({
        ...MINIMAL,
        users: [{ name: "u", passwordHash: HASH }, { name: "u", passwordHash: HASH }],
      }, "test"),
    /duplicate user "u"/,
  );
});

Deno.test("parseClusterConfig() refuses Raft timings that cannot work", () => {
  assert.throws(
    () =>
      parseClusterConfig(
        { ...MINIMAL, raftHeartbeatIntervalMs: 600, electionTimeoutMinMs: 500 },
        "t",
      ),
    /raftHeartbeatIntervalMs < electionTimeoutMinMs < electionTimeoutMaxMs/,
  );
});

Deno.test("the repository's demo configuration is valid and marked as a demo", async () => {
  const text = await Deno.readTextFile(new URL("../../config/demo.json", import.meta.url));
  const config = parseClusterConfig(JSON.parse(text), "config/demo.json");
  assert.equal(config.demo, true);
  assert.equal(config.orchestrators.length, 3);
  assert.deepEqual(config.users.map((u) => u.name), ["user1", "user2"]);
});

Deno.test("parseAddressList() reads HOST:PORT lists and names a bad item", () => {
  assert.deepEqual(parseAddressList("127.0.0.1:7701, localhost:7702"), [
    { id: "o1", host: "127.0.0.1", port: 7701 },
    { id: "o2", host: "localhost", port: 7702 },
  ]);
  assert.throws(() => parseAddressList("127.0.0.1"), /Invalid orchestrator address "127.0.0.1"/);
  assert.throws(() => parseAddressList("h:0"), /Invalid orchestrator address "h:0"/);
});
