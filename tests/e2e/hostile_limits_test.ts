// Proves that a real orchestrator enforces its connection limits from the cluster file — hello
// timeout, slow-frame (slowloris) timeout, connections per source, requests in flight per
// connection, submissions per user — answering with rate_limited or a close while everyone else
// keeps being served, and that it still serves a normal login and submit afterwards.
import assert from "node:assert/strict";
import { EXIT_CODES } from "../../shared/errors.ts";
import { concatBytes, encodeFrame } from "../../shared/protocol/frame.ts";
import type { CliResult, ClusterFixture } from "./cluster_fixture.ts";
import { withCluster } from "./cluster_fixture.ts";
import { pollUntil } from "./poll_until.ts";
import { type Frame, RawClient, REPLY_TIMEOUT_MS } from "./raw_client.ts";

/** Small limits, so each is reached quickly. */
const LIMITS = {
  maxConnectionsPerSource: 4,
  maxInflightPerConnection: 5,
  helloTimeoutMs: 300,
  partialFrameTimeoutMs: 400,
  submitRatePerUser: 1,
  submitBurstPerUser: 8,
};
/** The orchestrator checks the two timeouts once a second. */
const WATCHDOG_MS = 1000;
const encoder = new TextEncoder();

/** Closes every client, even when the body fails. */
async function withClients(body: (opened: RawClient[]) => Promise<void>): Promise<void> {
  const opened: RawClient[] = [];
  try {
    await body(opened);
  } finally {
    await Promise.all(opened.map((c) => c.close()));
  }
}

function assertError(frame: Frame | null, code: string, re: number | null): void {
  assert.ok(frame !== null, `expected a ${code} error, but the connection closed`);
  assert.equal(frame.type, "error", `expected a ${code} error, got ${JSON.stringify(frame)}`);
  assert.equal(frame.code, code, JSON.stringify(frame));
  assert.equal(frame.re, re, `the error names the request: ${JSON.stringify(frame)}`);
}

async function login(client: RawClient, user: string, password: string): Promise<string> {
  const reply = await client.call({ type: "login", user, password });
  assert.equal(reply?.type, "loginOk", `login as ${user}: ${JSON.stringify(reply)}`);
  return String(reply!.token);
}

function expectCliError(result: CliResult, exitCode: number, code: string): string {
  const error = result.json?.error as { code: string; message: string } | undefined;
  assert.equal(result.code, exitCode, `exit code: ${result.stderr}`);
  assert.equal(error?.code, code, result.stdout);
  return error!.message;
}

/** Opens `count` greeted connections, retrying while the server still counts closed ones. */
async function openGreeted(port: number, count: number, opened: RawClient[]): Promise<RawClient[]> {
  return await pollUntil(`${count} connections are accepted`, async () => {
    const batch: RawClient[] = [];
    for (let i = 0; i < count; i++) {
      const { client, refusal } = await RawClient.greeted(port);
      opened.push(client);
      if (refusal !== null) {
        // Connections of an earlier step may not be released yet: close these and retry.
        await Promise.all(batch.map((c) => c.close()));
        await client.close();
        return undefined;
      }
      batch.push(client);
    }
    return batch;
  }, { deadlineMs: 10_000, intervalMs: 100 });
}

Deno.test("orchestrator enforces its hostile-input limits and keeps serving", async (t) => {
  await withCluster({ extraConfig: LIMITS }, async (cluster: ClusterFixture) => {
    const orchestrator = await cluster.startOrchestrator();
    await cluster.waitUntilServing();
    const { port } = cluster.address();

    await t.step("a connection that never says hello is closed after helloTimeoutMs", async () => {
      await withClients(async (opened) => {
        const silent = await RawClient.open(port);
        opened.push(silent);
        const started = Date.now();
        await silent.closedByServer(LIMITS.helloTimeoutMs + WATCHDOG_MS + 5_000);
        const elapsed = Date.now() - started;
        assert.ok(elapsed >= LIMITS.helloTimeoutMs, `closed after ${elapsed} ms`);
        await orchestrator.waitForLine((l) => /Closing connection \d+ .*: no hello/.test(l));
      });
    });

    await t.step(
      "a frame trickled slower than partialFrameTimeoutMs gets the connection closed; others are served",
      async () => {
        await withClients(async (opened) => {
          const [slow, normal] = await openGreeted(port, 2, opened);
          const frame = encodeFrame(encoder.encode(JSON.stringify({
            v: 1,
            lamport: 1,
            type: "login",
            id: 1,
            user: "user1",
            password: "p".repeat(200),
          })));
          // At one byte per 100 ms the frame would take 20+ s: far past the timeout.
          let sent = 0;
          const trickle = (async () => {
            for (; sent < frame.length && !slow.isClosed; sent++) {
              if (!await slow.write(frame.subarray(sent, sent + 1))) break;
              await new Promise((resolve) => setTimeout(resolve, 100));
            }
          })();
          // While it trickles, a normal client is served, more than once.
          for (let i = 0; i < 3; i++) await login(normal, "user1", "pass1");
          await slow.closedByServer(LIMITS.partialFrameTimeoutMs + WATCHDOG_MS + 5_000);
          await trickle;
          assert.ok(sent < frame.length, `the whole frame (${frame.length} bytes) got through`);
          await orchestrator.waitForLine((l) =>
            /Closing connection .*frame still incomplete/.test(l)
          );
          await login(normal, "user1", "pass1");
        });
      },
    );

    await t.step(
      "a connection beyond maxConnectionsPerSource gets rate_limited and a close; the others work",
      async () => {
        await withClients(async (opened) => {
          const allowed = await openGreeted(port, LIMITS.maxConnectionsPerSource, opened);
          const extra = await RawClient.open(port);
          opened.push(extra);
          const refusal = await extra.next();
          assertError(refusal, "rate_limited", null);
          assert.match(String(refusal!.message), /Too many connections/);
          await extra.closedByServer(REPLY_TIMEOUT_MS);
          for (const client of allowed) await login(client, "user2", "pass2");
        });
      },
    );

    await t.step(
      "requests beyond maxInflightPerConnection get rate_limited replies naming them",
      async () => {
        await withClients(async (opened) => {
          const [client, other] = await openGreeted(port, 2, opened);
          const token = await login(client, "user1", "pass1");
          const submitted = await client.call({
            type: "submit",
            token,
            idempotencyKey: "inflight",
            task: { kind: "sleep", description: "never runs: no workers", durationMs: 1000 },
          });
          assert.equal(submitted?.type, "submitOk", JSON.stringify(submitted));
          const taskId = String(submitted!.taskId);
          // Waits on a task that cannot finish (no worker) stay in flight; send them in one write.
          const extra = 3;
          const ids = Array.from(
            { length: LIMITS.maxInflightPerConnection + extra },
            (_, i) => 1 + i,
          );
          await client.write(concatBytes(ids.map((id) =>
            encodeFrame(encoder.encode(JSON.stringify({
              v: 1,
              lamport: 2,
              type: "wait",
              id,
              token,
              taskId,
              timeoutMs: 60_000,
            })))
          )));
          const refused = new Set<unknown>();
          for (let i = 0; i < extra; i++) {
            const reply = await client.next();
            assert.equal(reply?.code, "rate_limited", JSON.stringify(reply));
            refused.add(reply!.re);
          }
          assert.deepEqual(refused, new Set(ids.slice(-extra)), "the last requests were refused");
          // Cancelling the task (from another connection) answers the waits in flight.
          const otherToken = await login(other, "user1", "pass1");
          const cancelled = await other.call({ type: "cancel", token: otherToken, taskId });
          assert.equal(cancelled?.type, "task", JSON.stringify(cancelled));
          const answered = new Set<unknown>();
          for (let i = 0; i < LIMITS.maxInflightPerConnection; i++) {
            const reply = await client.next();
            assert.equal(reply?.type, "task", JSON.stringify(reply));
            answered.add(reply!.re);
          }
          assert.deepEqual(answered, new Set(ids.slice(0, LIMITS.maxInflightPerConnection)));
          // With nothing in flight, the connection is served again.
          const status = await client.call({ type: "status", token, taskId });
          assert.equal(status?.type, "task", JSON.stringify(status));
        });
      },
    );

    await t.step(
      "a user over submitRatePerUser is told to slow down (exit 7) and succeeds later",
      async () => {
        const loggedIn = await cluster.cli(["login", "user2", "pass2"]);
        assert.equal(loggedIn.code, EXIT_CODES.ok, loggedIn.stderr);
        const batch = `${cluster.dir}/rate.jsonl`;
        const lines = Array.from(
          { length: LIMITS.submitBurstPerUser },
          (_, i) => JSON.stringify({ description: `rate ${i}`, durationSeconds: 0.1 }),
        );
        await Deno.writeTextFile(batch, lines.join("\n"));
        await withClients(async (opened) => {
          // Another session of the same user empties the bucket in one request.
          const [client] = await openGreeted(port, 1, opened);
          const token = await login(client, "user2", "pass2");
          const drained = await client.call({
            type: "submitBatch",
            token,
            tasks: lines.map((_, i) => ({
              idempotencyKey: `drain-${i}`,
              task: { kind: "sleep", description: "drain", durationMs: 100 },
            })),
          });
          assert.equal(drained?.type, "submitBatchOk", JSON.stringify(drained));
        });
        // A full burst needs submitBurstPerUser seconds of refill: far more than a CLI run.
        const refused = await cluster.cli(["submit", "--batch", batch]);
        const message = expectCliError(refused, EXIT_CODES.rejected, "rate_limited");
        assert.match(message, /^Slow down: user user2 may submit 1 tasks\/s; retry in \d+ ms$/);
        await pollUntil("the user may submit again", async () => {
          const result = await cluster.cli(["submit", "after slowing down", "-d", "0.1"]);
          if (result.code === EXIT_CODES.ok) return result;
          expectCliError(result, EXIT_CODES.rejected, "rate_limited");
          return undefined;
        }, { deadlineMs: 20_000, intervalMs: 200 });
      },
    );

    await t.step("the orchestrator still serves a normal login and submit", async () => {
      assert.equal(orchestrator.hasExited, false, "orchestrator exited");
      const loggedIn = await cluster.cli(["login", "user1", "pass1"]);
      assert.equal(loggedIn.code, EXIT_CODES.ok, loggedIn.stderr);
      const submitted = await cluster.cli(["submit", "after the limits", "-d", "0.1"]);
      assert.equal(submitted.code, EXIT_CODES.ok, submitted.stderr);
      assert.match(String(submitted.json?.id), /^t-\d+$/);
      const errors = orchestrator.lines.filter((l) => / ERROR /.test(l));
      assert.deepEqual(errors, [], "orchestrator logged errors");
      assert.equal(orchestrator.hasExited, false, "orchestrator exited");
    });
  });
});
