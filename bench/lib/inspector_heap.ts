/**
 * The V8 heap of a node started with `--inspect=127.0.0.1:0`, through the Chrome DevTools
 * Protocol: a full garbage collection, then the heap's used size. RSS also counts garbage not yet
 * collected and allocator slack; the heap after a GC is what live objects really take, so memory
 * per retained task is measured both ways.
 * @module
 */

/** The inspector's WebSocket URL, from the last "Debugger listening on ws://..." of a log. */
export function inspectorUrl(log: string): string | null {
  const urls = [...log.matchAll(/Debugger listening on (ws:\/\/\S+)/g)];
  return urls.at(-1)?.[1] ?? null;
}

/** Heap figures after a forced full GC, in bytes. */
export interface HeapUsage {
  /** Live objects on the V8 heap. */
  usedBytes: number;
  /** Memory held for ArrayBuffers and other off-heap backing stores. */
  backingStoreBytes: number;
}

/**
 * Forces a full GC in the inspected process and reads its heap usage.
 * @throws {Error} when the inspector does not answer within `timeoutMs`.
 */
export async function heapAfterGc(url: string, timeoutMs = 60_000): Promise<HeapUsage> {
  const ws = new WebSocket(url);
  const pending = new Map<number, (result: Record<string, number>) => void>();
  let nextId = 1;
  ws.onmessage = (event) => {
    const message = JSON.parse(String(event.data));
    pending.get(message.id)?.(message.result ?? {});
  };
  const call = (method: string) =>
    new Promise<Record<string, number>>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params: {} }));
    });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`No answer from the inspector at ${url}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([
      (async () => {
        await new Promise((resolve, reject) => {
          ws.onopen = resolve;
          ws.onerror = () => reject(new Error(`Cannot open the inspector at ${url}`));
        });
        await call("HeapProfiler.collectGarbage");
        const usage = await call("Runtime.getHeapUsage");
        return { usedBytes: usage.usedSize, backingStoreBytes: usage.backingStorageSize ?? 0 };
      })(),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
    ws.close();
  }
}
