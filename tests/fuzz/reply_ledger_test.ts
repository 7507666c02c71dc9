// Proves that ReplyLedger holds every client request to exactly one reply without blaming the wrong
// request when a client reuses an id: an error names only the id, so no request is assumed.
import assert from "node:assert/strict";
import { type OpenRequest, ReplyLedger } from "./reply_ledger.ts";

function request(id: number, type: string, deadlineMs: number | null = null): OpenRequest {
  return { conn: 15, id, type, sentAtMs: 1_000, deadlineMs };
}

// Found by `deno task fuzz --target node --seed 700456 --iteration 228316 --strict`: the error
// answered the short wait, but the ledger gave it to the long one and reported the short one.
Deno.test("ReplyLedger does not report a reused id's short wait that an error answered", () => {
  const ledger = new ReplyLedger();
  ledger.request(request(135, "wait", 601_000));
  ledger.request(request(135, "wait", 1_052));
  assert.equal(ledger.reply(15, 135, "error"), null);
  assert.deepEqual(ledger.overdue(2_000), [], "one wait is answered, the other not yet due");
  assert.equal(ledger.size, 1);
  assert.deepEqual(ledger.overdue(601_000).map((r) => r.deadlineMs), [601_000]);
  assert.equal(ledger.reply(15, 135, "task"), null);
  assert.equal(ledger.size, 0);
});

Deno.test("ReplyLedger matches a typed reply after an error that could have answered it", () => {
  const ledger = new ReplyLedger();
  ledger.request(request(7, "list"));
  ledger.request(request(7, "status"));
  assert.equal(ledger.reply(15, 7, "error"), null);
  assert.equal(ledger.reply(15, 7, "taskList"), null, "the error answered the status");
  assert.deepEqual(ledger.overdue(0), []);
});

Deno.test("ReplyLedger reports a second reply to a request, and a reply of another kind", () => {
  const ledger = new ReplyLedger();
  ledger.request(request(1, "status"));
  assert.equal(ledger.reply(15, 1, "task"), null);
  assert.match(ledger.reply(15, 1, "task") ?? "", /no such request open/);
  ledger.request(request(2, "list"));
  assert.match(ledger.reply(15, 2, "task") ?? "", /no such request open/);
  assert.equal(ledger.reply(15, 2, "taskList"), null, "the refused reply left it open");
});

Deno.test("ReplyLedger never matches a reply to a request sent after it", () => {
  const ledger = new ReplyLedger();
  ledger.request(request(3, "wait", 5_000));
  assert.equal(ledger.reply(15, 3, "error"), null);
  ledger.request(request(3, "wait", 5_000));
  ledger.request(request(3, "status"));
  assert.equal(ledger.reply(15, 3, "task"), null);
  assert.deepEqual(ledger.overdue(0), [], "the open wait is not due yet");
  assert.equal(ledger.size, 1);
});

Deno.test("ReplyLedger stays small when a client reuses one id for ever", () => {
  const ledger = new ReplyLedger();
  ledger.request(request(9, "wait", 1e12)); // open for the whole run
  for (let i = 0; i < 10_000; i++) {
    ledger.request(request(9, "status"));
    assert.equal(ledger.reply(15, 9, i % 2 === 0 ? "task" : "error"), null);
  }
  assert.equal(ledger.size, 1);
  assert.deepEqual(ledger.overdue(0), []);
});
