// Proves what `deno task demo` tells its user: how a node ended and what it costs the cluster,
// the status table, and a guide that never puts a password on a command line.
import assert from "node:assert/strict";
import {
  availabilityNote,
  demoGuide,
  type DemoNodeView,
  describeExit,
  formatStatus,
} from "./demo_text.ts";

function view(
  name: string,
  state: DemoNodeView["state"],
  lastExit: DemoNodeView["lastExit"] = null,
): DemoNodeView {
  const isOrchestrator = name.startsWith("o");
  const n = name.slice(1);
  return {
    name,
    role: isOrchestrator ? "orchestrator" : "worker",
    state,
    pid: Number(isOrchestrator ? `10${n}` : `11${n}`),
    address: isOrchestrator ? `127.0.0.1:770${n}` : `127.0.0.1:6000${n}`,
    lastExit,
  };
}

const W2 = { name: "w2", role: "worker" } as const;

Deno.test("describeExit() says which signal killed a node and how to restart it", () => {
  assert.equal(
    describeExit(W2, {
      exit: { code: 137, signal: "SIGKILL" },
      cause: "unexpected",
      consequence: null,
    }),
    "worker w2 died (SIGKILL); the cluster carries on; `r w2` restarts it",
  );
});

Deno.test("describeExit() calls a requested graceful exit a stop", () => {
  assert.equal(
    describeExit(W2, { exit: { code: 0, signal: null }, cause: "stop", consequence: null }),
    "worker w2 stopped; the cluster carries on; `r w2` restarts it",
  );
});

Deno.test("describeExit() quotes the last line of a node that exited with an error code", () => {
  assert.equal(
    describeExit({ name: "o1", role: "orchestrator" }, {
      exit: { code: 1, signal: null },
      cause: "unexpected",
      lastLine: "  ERROR Fatal: disk full  ",
      consequence: null,
    }),
    "orchestrator o1 exited with code 1: ERROR Fatal: disk full; the cluster carries on; " +
      "`r o1` restarts it",
  );
});

Deno.test("describeExit() says what the cluster lost instead of claiming it carries on", () => {
  const text = describeExit({ name: "o2", role: "orchestrator" }, {
    exit: { code: 137, signal: "SIGKILL" },
    cause: "kill",
    consequence: "no quorum",
  });
  assert.equal(text, "orchestrator o2 died (SIGKILL); no quorum; `r o2` restarts it");
});

Deno.test("availabilityNote() is null while a majority of orchestrators and a worker run", () => {
  assert.equal(
    availabilityNote([view("o1", "exited"), view("o2", "running"), view("o3", "running")]),
    null,
  );
});

Deno.test("availabilityNote() reports no quorum, counting a paused orchestrator as lost", () => {
  assert.equal(
    availabilityNote([view("o1", "exited"), view("o2", "paused"), view("o3", "running")]),
    "only 1 of 3 orchestrators run, 1 paused (a majority is 2): no quorum, so the cluster " +
      "refuses writes until one is back",
  );
});

Deno.test("availabilityNote() reports that tasks wait when no worker runs", () => {
  assert.equal(
    availabilityNote([view("o1", "running"), view("w1", "exited"), view("w2", "paused")]),
    "no worker runs: new and requeued tasks wait until one is back",
  );
});

Deno.test("formatStatus() lists every node with its state, PID, address and next step, then what is lost", () => {
  const table = formatStatus([
    view("o1", "running"),
    view("o2", "paused"),
    view("o3", "running"),
    view("w1", "exited", { code: 137, signal: "SIGKILL" }),
    view("w2", "exited", { code: 0, signal: null }),
    view("w3", "starting"),
  ]);
  assert.equal(
    table,
    [
      "node  role          state           pid  address          ",
      "o1    orchestrator  running         101  127.0.0.1:7701",
      "o2    orchestrator  paused          102  127.0.0.1:7702   `resume o2` thaws it",
      "o3    orchestrator  running         103  127.0.0.1:7703",
      "w1    worker        died (SIGKILL)  111  127.0.0.1:60001  `r w1` restarts it",
      "w2    worker        stopped         112  127.0.0.1:60002  `r w2` restarts it",
      "w3    worker        starting        113  127.0.0.1:60003  waiting until it is ready",
      "No worker runs: new and requeued tasks wait until one is back",
    ].map((l) => l.trimEnd()).join("\n"),
  );
});

Deno.test("demoGuide() shows the login in its prompt form, never with the password as an argument", () => {
  const guide = demoGuide({
    configFlag: "",
    user: { name: "user1", demoPassword: "pass1" },
    orchestrators: ["o1", "o2", "o3"],
    workers: ["w1", "w2", "w3"],
    electionTimeoutMs: { min: 500, max: 1000 },
  });
  assert.ok(guide.includes("deno task client login user1    # then type pass1 at the prompt"));
  assert.doesNotMatch(guide, /login user1 pass1/);
});

Deno.test("demoGuide() names the nodes to kill and the signs to watch in both scenarios", () => {
  const guide = demoGuide({
    configFlag: " --config /tmp/c.json",
    user: null,
    orchestrators: ["a", "b", "c"],
    workers: ["w1"],
    electionTimeoutMs: { min: 150, max: 300 },
  });
  for (
    const expected of [
      "deno task client --config /tmp/c.json status t-1",
      "`kill w1`",
      "shows attempt 2",
      "`kill a`",
      "`restart a` brings the old one back as a follower",
      "`pause a`",
      "150-300 ms",
      "`quit`",
    ]
  ) {
    assert.ok(guide.includes(expected), `guide lacks ${expected}:\n${guide}`);
  }
});
