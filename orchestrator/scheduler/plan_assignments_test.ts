// Proves that planAssignments() places queued tasks in round-robin or least-loaded order without
// ever exceeding a worker's free slots or capabilities, within its bounds, deterministically.
import assert from "node:assert/strict";
import { createPrng } from "../../shared/prng.ts";
import { planAssignments } from "./plan_assignments.ts";
import type { PlanInput, SchedulableTask, SchedulableWorker } from "./scheduler_types.ts";

function worker(
  id: string,
  slots = 1,
  busy = 0,
  canExec = false,
  execAllow: string[] | null = null,
): SchedulableWorker {
  return { id, slots, busy, canExec, execAllow, kinds: [], queues: ["default"] };
}

/** The default queue, one owner: what every task had before queues. */
const LANE = { queue: "default", owner: "alice" };

function sleepTasks(count: number, from = 1): SchedulableTask[] {
  return Array.from(
    { length: count },
    (_, i) => ({ id: `t${from + i}`, needsExec: false, ...LANE }),
  );
}

function plan(overrides: Partial<PlanInput>): Array<[string, string]> {
  const input: PlanInput = {
    policy: "round-robin",
    queue: [],
    workers: [],
    cursor: null,
    maxAssignments: 1000,
    maxScanned: 1000,
    ...overrides,
  };
  return planAssignments(input).map((a) => [a.taskId, a.workerId]);
}

// ---- round robin ----

Deno.test("planAssignments() goes round robin over three workers", () => {
  const workers = [worker("w1", 2), worker("w2", 2), worker("w3", 2)];
  assert.deepEqual(plan({ workers, queue: sleepTasks(6) }), [
    ["t1", "w1"],
    ["t2", "w2"],
    ["t3", "w3"],
    ["t4", "w1"],
    ["t5", "w2"],
    ["t6", "w3"],
  ]);
});

Deno.test("planAssignments() orders workers by id whatever their input order", () => {
  const workers = [worker("w3", 2), worker("w1", 2), worker("w2", 2)];
  assert.deepEqual(plan({ workers, queue: sleepTasks(4) }), [
    ["t1", "w1"],
    ["t2", "w2"],
    ["t3", "w3"],
    ["t4", "w1"],
  ]);
});

Deno.test("planAssignments() resumes round robin after the cursor", () => {
  const workers = [worker("w1", 2), worker("w2", 2), worker("w3", 2)];
  assert.deepEqual(plan({ workers, queue: sleepTasks(4), cursor: "w2" }), [
    ["t1", "w3"],
    ["t2", "w1"],
    ["t3", "w2"],
    ["t4", "w3"],
  ]);
});

Deno.test("planAssignments() wraps to the first worker after a cursor on the last one", () => {
  const workers = [worker("w1"), worker("w2"), worker("w3")];
  assert.deepEqual(plan({ workers, queue: sleepTasks(1), cursor: "w3" }), [["t1", "w1"]]);
});

Deno.test("planAssignments() resumes after a cursor naming a worker that has left", () => {
  const workers = [worker("w1"), worker("w3"), worker("w5")];
  assert.deepEqual(plan({ workers, queue: sleepTasks(2), cursor: "w4" }), [
    ["t1", "w5"],
    ["t2", "w1"],
  ]);
  assert.deepEqual(plan({ workers, queue: sleepTasks(1), cursor: "w9" }), [["t1", "w1"]]);
  assert.deepEqual(plan({ workers, queue: sleepTasks(1), cursor: "a" }), [["t1", "w1"]]);
});

Deno.test("planAssignments() skips a worker with no free slot", () => {
  const workers = [worker("w1", 2), worker("w2", 1, 1), worker("w3", 2)];
  assert.deepEqual(plan({ workers, queue: sleepTasks(3) }), [
    ["t1", "w1"],
    ["t2", "w3"],
    ["t3", "w1"],
  ]);
});

Deno.test("planAssignments() never uses more slots than are free", () => {
  const workers = [worker("w1", 2, 1), worker("w2", 3, 1)];
  const result = plan({ workers, queue: sleepTasks(10) });
  assert.equal(result.length, 3, "three free slots");
  assert.equal(result.filter(([, w]) => w === "w1").length, 1);
  assert.equal(result.filter(([, w]) => w === "w2").length, 2);
});

Deno.test("planAssignments() leaves tasks queued when every slot is busy", () => {
  const workers = [worker("w1", 2, 2), worker("w2", 1, 1)];
  assert.deepEqual(plan({ workers, queue: sleepTasks(3) }), []);
});

Deno.test("planAssignments() treats busy above slots as full", () => {
  // A worker whose slot count shrank on re-registration can be over-committed.
  const workers = [worker("w1", 1, 3), worker("w2", 1)];
  assert.deepEqual(plan({ workers, queue: sleepTasks(2) }), [["t1", "w2"]]);
});

Deno.test("planAssignments() places tasks in queue order", () => {
  const queue = [{ id: "retry-9", needsExec: false, ...LANE }, ...sleepTasks(2)];
  assert.deepEqual(plan({ workers: [worker("w1", 3)], queue }), [
    ["retry-9", "w1"],
    ["t1", "w1"],
    ["t2", "w1"],
  ]);
});

Deno.test("planAssignments() skips workers without exec for exec tasks and still places sleep tasks", () => {
  const workers = [worker("w1", 1), worker("w2", 1, 0, true), worker("w3", 1)];
  const queue = [
    { id: "e1", needsExec: true, ...LANE },
    { id: "e2", needsExec: true, ...LANE },
    { id: "s1", needsExec: false, ...LANE },
    { id: "s2", needsExec: false, ...LANE },
  ];
  assert.deepEqual(plan({ workers, queue }), [
    ["e1", "w2"],
    ["s1", "w3"],
    ["s2", "w1"],
  ]);
});

Deno.test("planAssignments() places no exec task when no worker allows exec", () => {
  const workers = [worker("w1", 4), worker("w2", 4)];
  const queue = [{ id: "e1", needsExec: true, ...LANE }, ...sleepTasks(1)];
  assert.deepEqual(plan({ workers, queue }), [["t1", "w1"]]);
});

Deno.test("planAssignments() lets sleep tasks use exec-capable workers", () => {
  const workers = [worker("w1", 1, 0, true)];
  assert.deepEqual(plan({ workers, queue: sleepTasks(1) }), [["t1", "w1"]]);
});

Deno.test("planAssignments() stops placing exec tasks once exec slots are used up by sleep tasks", () => {
  const workers = [worker("w1", 1, 0, true), worker("w2", 1)];
  const queue = [...sleepTasks(1), { id: "e1", needsExec: true, ...LANE }, ...sleepTasks(1, 2)];
  assert.deepEqual(plan({ workers, queue }), [
    ["t1", "w1"],
    ["t2", "w2"],
  ]);
});

// ---- least loaded ----

Deno.test("planAssignments() least-loaded picks the lowest busy/slots ratio", () => {
  const workers = [worker("w1", 4, 2), worker("w2", 10, 3), worker("w3", 2, 1)];
  // Ratios 0.5, 0.3, 0.5: w2 first.
  assert.deepEqual(plan({ policy: "least-loaded", workers, queue: sleepTasks(1) }), [
    ["t1", "w2"],
  ]);
});

Deno.test("planAssignments() least-loaded counts its own assignments as load", () => {
  const workers = [worker("w1", 4), worker("w2", 2)];
  // t1: 0/4 vs 0/2 tie -> w1 (1/4). t2: w2 (0/2). t3: w1 1/4 < w2 1/2 -> w1. t4: 2/4 = 1/2 tie
  // broken after the cursor (w1) -> w2. t5: w1 (2/4 < 2/2). t6: w1 (3/4); then all full.
  assert.deepEqual(plan({ policy: "least-loaded", workers, queue: sleepTasks(8) }), [
    ["t1", "w1"],
    ["t2", "w2"],
    ["t3", "w1"],
    ["t4", "w2"],
    ["t5", "w1"],
    ["t6", "w1"],
  ]);
});

Deno.test("planAssignments() least-loaded breaks ties in round-robin order after the cursor", () => {
  const workers = [worker("w1", 2), worker("w2", 2), worker("w3", 2)];
  assert.deepEqual(plan({ policy: "least-loaded", workers, queue: sleepTasks(1) }), [["t1", "w1"]]);
  assert.deepEqual(
    plan({ policy: "least-loaded", workers, queue: sleepTasks(1), cursor: "w1" }),
    [["t1", "w2"]],
  );
  assert.deepEqual(
    plan({ policy: "least-loaded", workers, queue: sleepTasks(4), cursor: "w2" }),
    [["t1", "w3"], ["t2", "w1"], ["t3", "w2"], ["t4", "w3"]],
  );
});

Deno.test("planAssignments() least-loaded skips full workers and workers without exec", () => {
  const workers = [worker("w1", 1, 1, true), worker("w2", 8, 7, true), worker("w3", 8)];
  const queue = [{ id: "e1", needsExec: true, ...LANE }, { id: "e2", needsExec: true, ...LANE }];
  assert.deepEqual(plan({ policy: "least-loaded", workers, queue }), [["e1", "w2"]]);
});

// ---- bounds and edge cases ----

Deno.test("planAssignments() returns an empty plan when there are no workers", () => {
  assert.deepEqual(plan({ workers: [], queue: sleepTasks(5) }), []);
  assert.deepEqual(plan({ policy: "least-loaded", workers: [], queue: sleepTasks(5) }), []);
});

Deno.test("planAssignments() returns an empty plan for an empty queue", () => {
  assert.deepEqual(plan({ workers: [worker("w1")], queue: [] }), []);
});

Deno.test("planAssignments() makes at most maxAssignments assignments", () => {
  const workers = [worker("w1", 10), worker("w2", 10)];
  assert.equal(plan({ workers, queue: sleepTasks(20), maxAssignments: 3 }).length, 3);
  assert.deepEqual(plan({ workers, queue: sleepTasks(20), maxAssignments: 0 }), []);
});

Deno.test("planAssignments() examines at most maxScanned queued tasks", () => {
  const workers = [worker("w1", 10)];
  const queue = [
    // Three programs: three kinds of unplaceable task, each examined.
    { id: "e1", needsExec: true, program: "a", ...LANE },
    { id: "e2", needsExec: true, program: "b", ...LANE },
    { id: "e3", needsExec: true, program: "c", ...LANE },
    ...sleepTasks(3),
  ];
  assert.deepEqual(plan({ workers, queue, maxScanned: 3 }), []);
  assert.deepEqual(plan({ workers, queue, maxScanned: 4 }), [["t1", "w1"]]);
  assert.deepEqual(plan({ workers, queue: sleepTasks(5), maxScanned: 2 }), [
    ["t1", "w1"],
    ["t2", "w1"],
  ]);
});

Deno.test("planAssignments() stops reading the queue once every slot is planned", () => {
  let read = 0;
  function* queue(): Generator<SchedulableTask> {
    for (let i = 1; i <= 1_000_000; i++) {
      read += 1;
      yield { id: `t${i}`, needsExec: false, ...LANE };
    }
  }
  const result = plan({ workers: [worker("w1", 2)], queue: queue() });
  assert.equal(result.length, 2);
  assert.ok(read <= 3, `read ${read} tasks`);
});

Deno.test("planAssignments() does not mutate its input", () => {
  const workers = [worker("w2", 2, 1), worker("w1", 2)];
  const queue = sleepTasks(3);
  const before = JSON.stringify({ workers, queue });
  plan({ workers, queue });
  assert.equal(JSON.stringify({ workers, queue }), before);
});

Deno.test("planAssignments() gives the same plan for the same input", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const rng = createPrng(seed);
    const workers = Array.from({ length: rng.int(0, 6) }, (_, i) => {
      const slots = rng.int(1, 4);
      return worker(`w${rng.int(0, 99)}-${i}`, slots, rng.int(0, slots), rng.chance(0.5));
    });
    const queue = Array.from({ length: rng.int(0, 30) }, (_, i) => ({
      id: `t${i}`,
      needsExec: rng.chance(0.3),
      ...LANE,
    }));
    for (const policy of ["round-robin", "least-loaded"] as const) {
      const input = { policy, workers, queue, cursor: workers[0]?.id ?? null };
      const first = plan(input);
      assert.deepEqual(plan(input), first, `seed ${seed} ${policy}`);
      assert.deepEqual(plan({ ...input, workers: [...workers].reverse() }), first);
    }
  }
});

Deno.test("planAssignments() never overfills a worker or gives exec to one without it, for random inputs", () => {
  for (let seed = 1; seed <= 300; seed++) {
    const rng = createPrng(seed);
    const workers = Array.from({ length: rng.int(0, 5) }, (_, i) => {
      const slots = rng.int(1, 4);
      return worker(`w${i}`, slots, rng.int(0, slots + 1), rng.chance(0.5));
    });
    const queue = Array.from({ length: rng.int(0, 25) }, (_, i) => ({
      id: `t${i}`,
      needsExec: rng.chance(0.3),
      ...LANE,
    }));
    const policy = rng.pick(["round-robin", "least-loaded"] as const);
    const maxAssignments = rng.int(0, 30);
    const result = plan({ policy, workers, queue, maxAssignments, cursor: null });
    assert.ok(result.length <= maxAssignments, `seed ${seed}`);
    const byId = new Map(workers.map((w) => [w.id, w]));
    const needsExec = new Map(queue.map((t) => [t.id, t.needsExec]));
    const added = new Map<string, number>();
    for (const [taskId, workerId] of result) {
      added.set(workerId, (added.get(workerId) ?? 0) + 1);
      if (needsExec.get(taskId)) assert.ok(byId.get(workerId)!.canExec, `seed ${seed} ${taskId}`);
    }
    for (const [workerId, count] of added) {
      const w = byId.get(workerId)!;
      assert.ok(w.busy + count <= w.slots, `seed ${seed}: ${workerId} overfilled`);
    }
    assert.equal(new Set(result.map(([t]) => t)).size, result.length, `seed ${seed}: task twice`);
    // Work-conserving: a task left out had no worker that could take it at that point.
    const freeAfter = workers.some((w) => w.busy + (added.get(w.id) ?? 0) < w.slots);
    const unplacedSleep = queue.some((t) => !t.needsExec && !result.some(([id]) => id === t.id));
    if (result.length < maxAssignments) {
      assert.ok(!(freeAfter && unplacedSleep), `seed ${seed}: a sleep task waited by a free slot`);
    }
  }
});

Deno.test("planAssignments() places an exec task only on a worker whose allow-list names its program", () => {
  const plan = planAssignments({
    policy: "round-robin",
    queue: [
      { id: "t1", needsExec: true, program: "convert", ...LANE },
      { id: "t2", needsExec: true, program: "rm", ...LANE },
      { id: "t3", needsExec: true, program: "python3", ...LANE },
    ],
    workers: [worker("w1", 4, 0, true, ["convert"]), worker("w2", 4, 0, true, ["python3"])],
    cursor: null,
    maxAssignments: 10,
    maxScanned: 10,
  });
  assert.deepEqual(plan, [{ taskId: "t1", workerId: "w1" }, { taskId: "t3", workerId: "w2" }]);
});

Deno.test("planAssignments() places a task only on a worker taking tasks from its queue", () => {
  const images = { ...worker("w1", 2), queues: ["images"] };
  const plain = worker("w2", 2);
  const result = plan({
    queue: [
      { id: "i1", needsExec: false, queue: "images", owner: "a" },
      { id: "d1", needsExec: false, ...LANE },
      { id: "m1", needsExec: false, queue: "mail", owner: "a" },
    ],
    workers: [images, plain],
  });
  assert.deepEqual(result, [["i1", "w1"], ["d1", "w2"]]);
});

Deno.test("planAssignments() keeps queues and users within their running limits", () => {
  const limits = {
    maxRunningPerQueue: { images: 1 },
    maxRunningPerUser: 2,
    runningByQueue: new Map([["images", 0]]),
    runningByOwner: new Map([["bob", 1]]),
  };
  const result = plan({
    queue: [
      { id: "i1", needsExec: false, queue: "images", owner: "a" },
      { id: "i2", needsExec: false, queue: "images", owner: "a" },
      { id: "b1", needsExec: false, queue: "images", owner: "bob" },
      { id: "b2", needsExec: false, queue: "default", owner: "bob" },
      { id: "b3", needsExec: false, queue: "default", owner: "bob" },
      { id: "a1", needsExec: false, queue: "default", owner: "a" },
    ],
    workers: [{ ...worker("w1", 10), queues: ["default", "images"] }],
    limits,
  });
  // images holds one at a time; bob already runs one and may run two.
  assert.deepEqual(result.map(([id]) => id), ["i1", "b2", "a1"]);
});

Deno.test("planAssignments() passes over a backlog nobody can take now to reach a task behind it", () => {
  const backlog = Array.from({ length: 20 }, (_, i) => ({
    id: `m${i}`,
    needsExec: false,
    handler: "nosuch",
    queue: "default",
    owner: "mallory",
  }));
  const result = plan({
    queue: [...backlog, { id: "b1", needsExec: false, queue: "default", owner: "bob" }],
    workers: [worker("w1", 2)],
    maxScanned: 5,
  });
  assert.deepEqual(result, [["b1", "w1"]]);
});

Deno.test("planAssignments() passes over an owner at its running limit to reach another's task", () => {
  const result = plan({
    queue: [
      ...Array.from({ length: 20 }, (_, i) => ({
        id: `m${i}`,
        needsExec: false,
        queue: "default",
        owner: "mallory",
      })),
      { id: "b1", needsExec: false, queue: "default", owner: "bob" },
    ],
    workers: [worker("w1", 4)],
    maxScanned: 5,
    limits: {
      maxRunningPerQueue: {},
      maxRunningPerUser: 1,
      runningByQueue: new Map(),
      runningByOwner: new Map(),
    },
  });
  assert.deepEqual(result, [["m0", "w1"], ["b1", "w1"]]);
});
