/**
 * Heap measurements for memory-bound tests: V8's garbage collector is run first (exposed at run
 * time through node:v8 and node:vm, since a test cannot pass --expose-gc), so what is measured
 * is what is still reachable.
 * @module
 */
import v8 from "node:v8";
import vm from "node:vm";

let gc: (() => void) | null = null;

/** Bytes of heap still in use after a full garbage collection. */
export function heapUsedAfterGc(): number {
  if (gc === null) {
    v8.setFlagsFromString("--expose-gc");
    gc = vm.runInNewContext("gc") as () => void;
  }
  gc();
  gc();
  return Deno.memoryUsage().heapUsed;
}
