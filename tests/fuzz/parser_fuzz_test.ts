// Proves that parseClusterConfig() throws only TypeError, parseBatchFile() only UsageError and
// decodeSnapshot() only RangeError or SyntaxError on mutated input, and that what they accept is
// valid.
import { batchFileTarget } from "./batch_file_target.ts";
import { fuzzInCi } from "./ci_fuzz.ts";
import { configTarget } from "./config_target.ts";
import { snapshotTarget } from "./snapshot_target.ts";

Deno.test("parseClusterConfig() throws only TypeError on 4,000 mutated cluster files", () => {
  fuzzInCi(configTarget, 4_000);
});

Deno.test("parseBatchFile() throws only UsageError on 5,000 mutated batch files", () => {
  fuzzInCi(batchFileTarget, 5_000);
});

Deno.test("decodeSnapshot() throws only RangeError or SyntaxError on 1,500 cut or mutated snapshots", () => {
  fuzzInCi(snapshotTarget, 1_500);
});
