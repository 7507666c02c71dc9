/**
 * Fuzz target: `parseClusterConfig` (shared/config/cluster_config.ts) on valid cluster files and
 * their structural and byte mutations, parsed from text as loadClusterConfig does. It may only
 * throw TypeError (its documented error); what it accepts must satisfy the file's cross-field
 * rules (raftHeartbeatIntervalMs < electionTimeoutMinMs < electionTimeoutMaxMs, unique ids and
 * user names).
 * @module
 */
import { parseClusterConfig } from "../../shared/config/cluster_config.ts";
import type { Rng } from "../../shared/prng.ts";
import { mutateBytes } from "./byte_mutator.ts";
import { type EpisodeContext, type FuzzTarget, FuzzViolation } from "./fuzz_runner.ts";
import { stringifyJson } from "./hostile_values.ts";
import { mutateJson } from "./json_mutator.ts";
import { charsFrom, intIn, type Json } from "./message_generators.ts";

const ID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const encoder = new TextEncoder();
const decoder = new TextDecoder(); // not fatal: Deno.readTextFile replaces bad UTF-8 the same way

/** A valid cluster file: every optional field sometimes present, values anywhere in range. */
export function generateClusterConfig(rng: Rng): Json {
  const count = rng.chance(0.9) ? rng.int(1, 5) : rng.int(1, 15);
  const config: Json = {
    orchestrators: Array.from({ length: count }, (_, i) => ({
      id: `${charsFrom(rng, ID_CHARS, rng.int(0, 10))}${i}`,
      host: rng.pick(["127.0.0.1", "localhost", "::1", "node.example", "x".repeat(255)]),
      port: intIn(rng, 0, 65535),
    })),
  };
  addHttpPorts(rng, config.orchestrators as Array<Record<string, unknown>>);
  const maybe = (key: string, make: () => unknown) => {
    if (rng.chance(0.5)) config[key] = make();
  };
  maybe("clusterId", () => charsFrom(rng, ID_CHARS, intIn(rng, 1, 64)));
  maybe("heartbeatIntervalMs", () => intIn(rng, 20, 60_000));
  maybe("missedHeartbeats", () => intIn(rng, 2, 100));
  maybe("scheduler", () => rng.pick(["round-robin", "least-loaded"]));
  maybe("tokenTtlMs", () => intIn(rng, 1000, 365 * 86_400_000));
  maybe("maxFrameBytes", () => intIn(rng, 4096, 64 * 1024 * 1024));
  if (rng.chance(0.5)) {
    const heartbeat = intIn(rng, 10, 1000);
    config.raftHeartbeatIntervalMs = heartbeat;
    config.electionTimeoutMinMs = Math.max(50, heartbeat + intIn(rng, 1, 1000));
    config.electionTimeoutMaxMs = (config.electionTimeoutMinMs as number) + intIn(rng, 10, 1000);
  }
  maybe("snapshotEveryEntries", () => intIn(rng, 10, 10_000_000));
  maybe("snapshotCatchUpEntries", () => intIn(rng, 0, 10_000_000));
  maybe("submitRatePerUser", () => intIn(rng, 0, 10_000_000));
  maybe("submitBurstPerUser", () => intIn(rng, 0, 100_000_000));
  maybe("maxConnectionsPerSource", () => intIn(rng, 1, 1_000_000));
  maybe("maxInflightPerConnection", () => intIn(rng, 1, 1_000_000));
  maybe("helloTimeoutMs", () => intIn(rng, 100, 3_600_000));
  maybe("partialFrameTimeoutMs", () => intIn(rng, 100, 3_600_000));
  maybe("defaultMaxAttempts", () => intIn(rng, 1, 100));
  maybe("users", () =>
    Array.from({ length: rng.int(0, 3) }, (_, i) => {
      const user: Json = {
        name: `${charsFrom(rng, ID_CHARS, rng.int(0, 20))}${i}`,
        passwordHash: `scrypt$${2 ** rng.int(1, 20)}$${rng.int(1, 32)}$${rng.int(1, 16)}$` +
          `${charsFrom(rng, BASE64, 24)}$${charsFrom(rng, BASE64, 44)}`,
      };
      if (rng.chance(0.5)) user.role = rng.pick(["admin", "user"]);
      return user;
    }));
  maybe(
    "multicast",
    () => rng.chance(0.3) ? null : `239.255.${rng.int(0, 255)}.1:${rng.int(1, 65535)}`,
  );
  maybe("multicastInterface", () => "127.0.0.1");
  maybe("clusterSecretFile", () => rng.chance(0.3) ? null : "/etc/mutirao/secret");
  maybe(
    "tls",
    () => rng.chance(0.3) ? null : { caFile: "ca.pem", certFile: "c.pem", keyFile: "k.pem" },
  );
  maybe("demo", () => rng.chance(0.5));
  return config;
}

/** Gives some orchestrators an `httpPort` that no other port of theirs host already uses. */
function addHttpPorts(rng: Rng, orchestrators: Array<Record<string, unknown>>): void {
  const taken = new Set(orchestrators.map((o) => `${o.host}:${o.port}`));
  for (const o of orchestrators) {
    if (!rng.chance(0.3)) continue;
    const port = rng.chance(0.2) ? 0 : intIn(rng, 1, 65535);
    if (port !== 0 && taken.has(`${o.host}:${port}`)) continue;
    if (port !== 0) taken.add(`${o.host}:${port}`);
    o.httpPort = port;
  }
}

/** Whether an accepted config's HTTP ports (other than 0) are all free of its other ports. */
function httpPortsDistinct(config: ReturnType<typeof parseClusterConfig>): boolean {
  const taken = new Set(config.orchestrators.map((o) => `${o.host}:${o.port}`));
  for (const o of config.orchestrators) {
    if (o.httpPort === undefined || o.httpPort === 0) continue;
    if (taken.has(`${o.host}:${o.httpPort}`)) return false;
    taken.add(`${o.host}:${o.httpPort}`);
  }
  return true;
}

function checkAccepted(config: ReturnType<typeof parseClusterConfig>): void {
  const ordered = config.raftHeartbeatIntervalMs < config.electionTimeoutMinMs &&
    config.electionTimeoutMinMs < config.electionTimeoutMaxMs;
  const ids = new Set(config.orchestrators.map((o) => o.id));
  const names = new Set(config.users.map((u) => u.name));
  if (
    !ordered || ids.size !== config.orchestrators.length ||
    names.size !== config.users.length || !httpPortsDistinct(config)
  ) {
    throw new FuzzViolation(
      "acceptedInconsistent",
      "parseClusterConfig accepted a config that breaks its own rules",
    );
  }
}

/** The cluster-file parser. */
export const configTarget: FuzzTarget = {
  name: "config",
  description: "parseClusterConfig() on valid and mutated cluster files",
  episodeLength: 1,
  runEpisode(rng: Rng, ctx: EpisodeContext): void {
    ctx.begin(0);
    const config = generateClusterConfig(rng);
    let text: string;
    let what: string;
    const roll = rng.next();
    if (roll < 0.1) {
      text = JSON.stringify(config);
      what = "valid";
    } else if (roll < 0.75) {
      const { value, did } = mutateJson(rng, config);
      text = stringifyJson(value);
      what = did.join("; ");
    } else {
      const { bytes, did } = mutateBytes(rng, encoder.encode(JSON.stringify(config)));
      text = decoder.decode(bytes);
      what = `bytes ${did.join("; ")}`;
    }
    ctx.note(`${what}: ${text.slice(0, 200)}`);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      ctx.tally("not JSON (loadClusterConfig's SyntaxError)");
      return;
    }
    try {
      checkAccepted(parseClusterConfig(value, "fuzz.json"));
      ctx.tally("accepted");
    } catch (error) {
      if (error instanceof FuzzViolation) throw error;
      if (!(error instanceof TypeError)) {
        throw new FuzzViolation(
          "undocumentedError",
          `parseClusterConfig threw ${(error as Error)?.name}: ${(error as Error)?.message}`,
          { cause: error },
        );
      }
      if (roll < 0.1) {
        throw new FuzzViolation(
          "validRefused",
          `a valid cluster file was refused: ${error.message}`,
        );
      }
      ctx.tally("TypeError");
    }
  },
};
