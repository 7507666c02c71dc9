// Proves the persistence queue: jobs queued together share one fsync, callbacks run only after
// their data is durable, and a conflicting snapshot from the leader drops the old log first.
import assert from "node:assert/strict";
import { MemoryLogStorage } from "../storage/mod.ts";
import type { LogStorage } from "../storage/mod.ts";
import type { LogEntry } from "../tasks/mod.ts";
import { GroupCommit } from "./group_commit.ts";

function entry(index: number, term = 1): LogEntry {
  return { index, term, command: { type: "noop", atMs: index } };
}

function persist(entries: LogEntry[]) {
  return { snapshot: null, entries, hardState: null };
}

/** Wraps a storage to record the order of operations. */
function recording(storage: LogStorage): { storage: LogStorage; calls: string[] } {
  const calls: string[] = [];
  const wrapped: LogStorage = {
    append: (e) => {
      calls.push(`append ${e.map((x) => x.index).join(",")}`);
      storage.append(e);
    },
    setHardState: (h) => {
      calls.push(`hardState ${h.term}`);
      storage.setHardState(h);
    },
    truncateAfter: (i) => {
      calls.push(`truncateAfter ${i}`);
      storage.truncateAfter(i);
    },
    sync: async () => {
      calls.push("sync");
      await storage.sync();
    },
    saveSnapshot: async (s) => {
      calls.push(`saveSnapshot ${s.index}`);
      await storage.saveSnapshot(s);
    },
    createSnapshotDraft: (index, term) => storage.createSnapshotDraft(index, term),
    publishSnapshot: async (draft) => {
      calls.push(`publishSnapshot ${draft.index}`);
      await storage.publishSnapshot(draft);
    },
    get newestSnapshot() {
      return storage.newestSnapshot;
    },
    diskUse: () => storage.diskUse(),
    get pendingBytes() {
      return storage.pendingBytes;
    },
    close: () => storage.close(),
  };
  return { storage: wrapped, calls };
}

function flushed(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("GroupCommit writes jobs queued together with one sync, then runs their callbacks", async () => {
  const memory = new MemoryLogStorage();
  const { storage, calls } = recording(memory);
  const durable: Array<[number, number]> = [];
  const done: string[] = [];
  const commit = new GroupCommit(storage, {
    onDurable: (index, term) => durable.push([index, term]),
    onError: (error) => {
      throw error;
    },
  });
  commit.enqueue({ persist: persist([entry(1)]), afterDurable: () => done.push("a") });
  commit.enqueue({ persist: persist([entry(2), entry(3)]), afterDurable: () => done.push("b") });
  assert.deepEqual(done, [], "nothing runs before the sync");
  await flushed();
  assert.deepEqual(calls, ["append 1", "append 2,3", "sync"]);
  assert.deepEqual(durable, [[3, 1]]);
  assert.deepEqual(done, ["a", "b"]);
  assert.deepEqual(memory.crash().entries.map((e) => e.index), [1, 2, 3]);
});

Deno.test("GroupCommit drops a conflicting log before saving the leader's snapshot", async () => {
  const memory = new MemoryLogStorage();
  const { storage, calls } = recording(memory);
  const durable: Array<[number, number]> = [];
  const commit = new GroupCommit(storage, {
    onDurable: (index, term) => durable.push([index, term]),
    onError: (error) => {
      throw error;
    },
  });
  commit.enqueue({ persist: persist([entry(1), entry(2), entry(3)]), afterDurable: null });
  await flushed();
  calls.length = 0;
  durable.length = 0;
  const data = new TextEncoder().encode("{}");
  let acked = false;
  commit.enqueue({
    persist: {
      snapshot: { index: 2, term: 2, data, discardLog: true },
      entries: [],
      hardState: null,
    },
    afterDurable: () => acked = true,
  });
  await flushed();
  assert.deepEqual(calls.slice(0, 3), ["truncateAfter 2", "sync", "saveSnapshot 2"]);
  assert.equal(acked, true);
  const recovered = memory.crash();
  assert.equal(recovered.snapshot?.index, 2);
  assert.deepEqual(recovered.entries, [], "the disagreeing entry 3 is gone");
  // The durable log now ends at the snapshot, not at the entry 3 it replaced (sim seed 2145).
  assert.deepEqual(durable, [[2, 2]]);
});

Deno.test("GroupCommit publishes a snapshot draft after the entries queued before it", async () => {
  const memory = new MemoryLogStorage();
  const { storage, calls } = recording(memory);
  const durable: Array<[number, number]> = [];
  const commit = new GroupCommit(storage, {
    onDurable: (index, term) => durable.push([index, term]),
    onError: (error) => {
      throw error;
    },
  });
  commit.enqueue({ persist: persist([entry(1), entry(2)]), afterDurable: null });
  const draft = await storage.createSnapshotDraft(1, 1);
  await draft.write(new TextEncoder().encode("state@1"));
  await draft.finish();
  let published = false;
  commit.enqueue({
    persist: persist([entry(3)]),
    publish: draft,
    afterDurable: () => published = storage.newestSnapshot?.index === 1,
  });
  await flushed();
  assert.deepEqual(calls, ["append 1,2", "sync", "publishSnapshot 1", "append 3", "sync"]);
  assert.equal(published, true, "the store holds it once the job is durable");
  assert.deepEqual(durable.at(-1), [3, 1], "a snapshot behind the log does not move its end back");
  const recovered = memory.crash();
  assert.equal(recovered.snapshot?.index, 1);
  assert.deepEqual(recovered.entries.map((e) => e.index), [2, 3]);
});

Deno.test("GroupCommit reports a failed sync once and stops taking jobs", async () => {
  const memory = new MemoryLogStorage();
  const failing: LogStorage = Object.assign(Object.create(null), {
    append: (e: LogEntry[]) => memory.append(e),
    setHardState: () => {},
    truncateAfter: () => {},
    sync: () => Promise.reject(new Error("disk full")),
    saveSnapshot: () => Promise.resolve(),
    pendingBytes: 0,
    close: () => Promise.resolve(),
  });
  const errors: unknown[] = [];
  let ran = false;
  const commit = new GroupCommit(failing, { onDurable: () => {}, onError: (e) => errors.push(e) });
  commit.enqueue({ persist: persist([entry(1)]), afterDurable: () => ran = true });
  await flushed();
  commit.enqueue({ persist: persist([entry(2)]), afterDurable: () => ran = true });
  await flushed();
  assert.equal(errors.length, 1);
  assert.match(String(errors[0]), /disk full/);
  assert.equal(ran, false, "nothing promised durable after a failed sync");
});

Deno.test("GroupCommit sends the peer messages of the jobs one sync made durable together, merged", async () => {
  const memory = new MemoryLogStorage();
  const { storage, calls } = recording(memory);
  const sent: string[] = [];
  const commit = new GroupCommit(storage, {
    onDurable: () => calls.push("durable"),
    onError: (error) => {
      throw error;
    },
    sendPeers: (messages) => {
      for (const { to, message } of messages) {
        sent.push(`${to} ${message.type === "appendResponse" ? message.matchIndex : message.type}`);
      }
    },
  });
  const ack = (matchIndex: number) => ({
    to: "o1",
    message: {
      v: 1 as const,
      lamport: matchIndex,
      type: "appendResponse" as const,
      term: 1,
      success: true,
      matchIndex,
      conflictIndex: 0,
      readCtx: 0,
    },
  });
  commit.enqueue({ persist: persist([entry(1)]), afterDurable: null, peerMessages: [ack(1)] });
  commit.enqueue({ persist: persist([entry(2)]), afterDurable: null, peerMessages: [ack(2)] });
  assert.deepEqual(sent, [], "nothing is promised before the sync");
  await flushed();
  assert.deepEqual(calls, ["append 1", "append 2", "sync", "durable"]);
  assert.deepEqual(sent, ["o1 2"], "one acknowledgement, of the highest match");
});
