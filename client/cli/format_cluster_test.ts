// Proves that `cluster` shows each orchestrator's disk use (snapshots and log) in its table, and
// a dash for an orchestrator that does not report it or cannot be reached.
import assert from "node:assert/strict";
import { type ClusterRow, formatBytes, formatCluster, unreachableRow } from "./format.ts";

function row(disk?: ClusterRow["disk"]): ClusterRow {
  return {
    ...unreachableRow("o1", "127.0.0.1:7001", ""),
    role: "leader",
    term: 2,
    commitIndex: 10,
    appliedIndex: 10,
    lag: 0,
    error: null,
    ...(disk === undefined ? {} : { disk }),
  };
}

Deno.test("formatBytes() uses binary units with one decimal", () => {
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(1023), "1023 B");
  assert.equal(formatBytes(1536), "1.5 KiB");
  assert.equal(formatBytes(735 * 1024 * 1024), "735.0 MiB");
  assert.equal(formatBytes(3 * 1024 ** 3), "3.0 GiB");
});

Deno.test("formatCluster() shows disk use per orchestrator, a dash when unknown", () => {
  const text = formatCluster([
    row({ snapshotBytes: 3 * 1024 * 1024, logBytes: 1024 * 1024 }),
    { ...row(), id: "o2" },
    unreachableRow("o3", "127.0.0.1:7003", "refused"),
  ], "o1");
  const [header, o1, o2, o3] = text.split("\n");
  assert.match(header, /LAG +DISK$/);
  assert.match(o1, /4\.0 MiB \(snapshots 3\.0 MiB, log 1\.0 MiB\)$/);
  assert.match(o2, / -$/);
  assert.match(o3, /unreachable.* -$/);
});
