// Proves that the linearizability checker accepts small hand-written linearizable histories and
// rejects non-linearizable ones (a register, one task, one account), treats unanswered operations
// as possibly never applied, and answers "inconclusive" rather than searching past its budget.
import assert from "node:assert/strict";
import {
  type AccountInput,
  accountModel,
  type AccountOutput,
  type TaskInput,
  taskModel,
  type TaskOutput,
} from "./history_models.ts";
import { checkOperations, type Model, type Operation } from "./linearizability.ts";

type RegisterInput = { write: number } | { read: true };
const register: Model<number, RegisterInput, number | "ok"> = {
  init: () => 0,
  key: (s) => String(s),
  step: (s, input, output) => {
    if ("write" in input) return input.write;
    return output === null || output === s ? s : null;
  },
};

function op<I, O>(
  callMs: number,
  returnMs: number | null,
  input: I,
  output: O | null,
): Operation<I, O> {
  return { input, output, callMs, returnMs, label: "op" };
}
const reg = (c: number, r: number | null, i: RegisterInput, o: number | "ok" | null) =>
  op<RegisterInput, number | "ok">(c, r, i, o);
const task = (c: number, r: number | null, i: TaskInput, o: TaskOutput | null) =>
  op<TaskInput, TaskOutput>(c, r, i, o);
const acct = (c: number, r: number | null, i: AccountInput, o: AccountOutput | null) =>
  op<AccountInput, AccountOutput>(c, r, i, o);

Deno.test("checkOperations() accepts a read concurrent with a write that returns either value", () => {
  for (const seen of [0, 1]) {
    const ops = [reg(0, 10, { write: 1 }, "ok"), reg(5, 8, { read: true }, seen)];
    assert.equal(checkOperations(ops, register).result, "ok");
  }
});

Deno.test("checkOperations() rejects a stale read after a write returned", () => {
  const ops = [reg(0, 10, { write: 1 }, "ok"), reg(11, 12, { read: true }, 0)];
  const verdict = checkOperations(ops, register, { key: "r" });
  assert.equal(verdict.result, "violation");
  assert.ok(verdict.result === "violation" && verdict.unplaced.length > 0);
});

Deno.test("checkOperations() lets an unanswered write take effect late, or never", () => {
  const late = [
    reg(0, null, { write: 1 }, null),
    reg(5, 6, { read: true }, 0),
    reg(7, 8, { read: true }, 1),
  ];
  assert.equal(checkOperations(late, register).result, "ok");
  const flipFlop = [
    reg(0, null, { write: 1 }, null),
    reg(5, 6, { read: true }, 1),
    reg(7, 8, { read: true }, 0),
  ];
  assert.equal(checkOperations(flipFlop, register).result, "violation");
});

Deno.test("checkOperations() gives up with inconclusive when the budget runs out", () => {
  const ops = Array.from({ length: 12 }, (_, i) => reg(0, 100, { write: i }, "ok"));
  ops.push(reg(101, 102, { read: true }, 99));
  const verdict = checkOperations(ops, register, { stepBudget: 50 });
  assert.equal(verdict.result, "inconclusive");
});

Deno.test("taskModel: not found after an acknowledged submission is a violation; before it, fine", () => {
  const acked = task(0, 10, { kind: "submit" }, { duplicate: false });
  const after = task(11, 12, { kind: "cancel" }, { notFound: true });
  assert.equal(checkOperations([acked, after], taskModel).result, "violation");
  const concurrent = task(5, 12, { kind: "read" }, { notFound: true });
  assert.equal(checkOperations([acked, concurrent], taskModel).result, "ok");
});

Deno.test("taskModel: a final state never changes, and queued after it is a violation", () => {
  const submit = task(0, 1, { kind: "submit" }, { duplicate: false });
  const done = task(2, 3, { kind: "read" }, { state: "succeeded" });
  const queued = task(4, 5, { kind: "read" }, { state: "queued" });
  assert.equal(checkOperations([submit, done, queued], taskModel).result, "violation");
  const running = task(1, 2, { kind: "read" }, { state: "running" });
  assert.equal(checkOperations([submit, running, done], taskModel).result, "ok");
});

Deno.test("accountModel: a session refused after its login and before any revocation is a violation", () => {
  const model = accountModel("pw");
  const login = acct(0, 5, { kind: "login", password: "pw" }, {
    done: true,
    token: "t",
  });
  const refused = acct(6, 7, { kind: "auth", token: "t" }, { refused: true });
  assert.equal(checkOperations([login, refused], model).result, "violation");
  const revoke = acct(5, 6, { kind: "revoke", token: "t" }, { done: true });
  assert.equal(checkOperations([login, revoke, refused], model).result, "ok");
});

Deno.test("accountModel: the right password refused, or a removed user re-created, is a violation", () => {
  const model = accountModel("pw");
  const wrong = acct(0, 1, { kind: "login", password: "pw" }, { refused: true });
  assert.equal(checkOperations([wrong], model).result, "violation");
  const passwd = acct(0, 1, { kind: "passwd", password: "new" }, { done: true });
  const oldRefused = acct(2, 3, { kind: "login", password: "pw" }, {
    refused: true,
  });
  assert.equal(checkOperations([passwd, oldRefused], model).result, "ok");
  const remove = acct(0, 1, { kind: "remove" }, { done: true });
  const loginAfter = acct(2, 3, { kind: "login", password: "pw" }, {
    done: true,
    token: "t",
  });
  assert.equal(checkOperations([remove, loginAfter], model).result, "violation");
});
