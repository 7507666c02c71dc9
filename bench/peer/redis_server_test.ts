// Proves the redis-server arguments: loopback only, no snapshots, and fsync on every write only
// in the durable configuration. No server is started here.
import assert from "node:assert/strict";
import { redisServerArgs } from "./redis_server.ts";

const flag = (args: string[], name: string) => args[args.indexOf(name) + 1];

Deno.test("redisServerArgs() binds loopback, disables snapshots and the AOF by default", () => {
  const args = redisServerArgs(6400, { durable: false, dir: "/tmp/r" });
  assert.equal(flag(args, "--port"), "6400");
  assert.equal(flag(args, "--bind"), "127.0.0.1");
  assert.equal(flag(args, "--save"), "");
  assert.equal(flag(args, "--appendonly"), "no");
  assert.equal(flag(args, "--dir"), "/tmp/r");
  assert.ok(!args.includes("--appendfsync"));
});

Deno.test("redisServerArgs() fsyncs every write when durable", () => {
  const args = redisServerArgs(6400, { durable: true, dir: "/tmp/r" });
  assert.equal(flag(args, "--appendonly"), "yes");
  assert.equal(flag(args, "--appendfsync"), "always");
});
