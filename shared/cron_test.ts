// Proves that the cron wrapper validates expressions and zones with croner's messages, and that
// its tick answers depend only on the expression, the zone and the time given (pinned dates from
// 1970 and 2026, while the clock says otherwise).
import assert from "node:assert/strict";
import {
  countTicksBetween,
  isTick,
  lastTickAtOrBefore,
  nextTickAfter,
  TICK_COUNT_MAX,
  validateCron,
} from "./cron.ts";

const utc = (iso: string) => Date.parse(iso);

Deno.test("validateCron() accepts five, six and seven fields and nicknames", () => {
  for (const expr of ["*/5 * * * *", "*/3 * * * * *", "0 0 12 * * * 2030", "@hourly"]) {
    assert.equal(validateCron(expr), null, expr);
  }
  assert.equal(validateCron("0 9 * * 1-5", { timezone: "Europe/Berlin" }), null);
});

Deno.test("validateCron() says what is wrong with a bad expression", () => {
  assert.equal(validateCron("61 * * * *"), "CronPattern: Invalid value for minute: 61");
  assert.match(validateCron("* * *")!, /exactly five, six, or seven/);
  assert.match(validateCron("2026-01-01T00:00:00")!, /is a date, not a cron expression/);
  assert.match(validateCron("0 0 30 2 *")!, /never fires/);
  assert.match(validateCron("* * * * *", { timezone: "Mars/Base" })!, /unknown time zone/);
});

Deno.test("nextTickAfter() is strictly after, in whole seconds", () => {
  assert.equal(nextTickAfter("*/3 * * * * *", { afterMs: 0 }), 3000);
  assert.equal(nextTickAfter("*/3 * * * * *", { afterMs: 2999 }), 3000);
  assert.equal(nextTickAfter("*/3 * * * * *", { afterMs: 3000 }), 6000);
  assert.equal(nextTickAfter("0 0 30 2 *", { afterMs: 0 }), null);
});

Deno.test("nextTickAfter() follows the time zone, across a DST change", () => {
  const after = utc("2026-03-27T12:00:00Z");
  // 09:00 in Berlin: 08:00Z in winter (CET), 07:00Z from March 29 on (CEST).
  const tz = { timezone: "Europe/Berlin" };
  const first = nextTickAfter("0 0 9 * * *", { ...tz, afterMs: after })!;
  assert.equal(new Date(first).toISOString(), "2026-03-28T08:00:00.000Z");
  const second = nextTickAfter("0 0 9 * * *", { ...tz, afterMs: first })!;
  assert.equal(new Date(second).toISOString(), "2026-03-29T07:00:00.000Z");
});

Deno.test("lastTickAtOrBefore() includes a tick at the instant", () => {
  assert.equal(lastTickAtOrBefore("*/3 * * * * *", { atMs: 6000 }), 6000);
  assert.equal(lastTickAtOrBefore("*/3 * * * * *", { atMs: 8999 }), 6000);
  assert.equal(lastTickAtOrBefore("*/3 * * * * *", { atMs: 2999 }), 0);
});

Deno.test("countTicksBetween() counts strictly between, up to TICK_COUNT_MAX", () => {
  assert.equal(countTicksBetween("*/3 * * * * *", { afterMs: 0, beforeMs: 12_000 }), 3);
  assert.equal(countTicksBetween("*/3 * * * * *", { afterMs: 0, beforeMs: 3000 }), 0);
  const day = 24 * 3600 * 1000;
  assert.equal(countTicksBetween("* * * * * *", { afterMs: 0, beforeMs: day }), TICK_COUNT_MAX);
});

Deno.test("isTick() tells ticks of the expression from other instants", () => {
  assert.equal(isTick("*/3 * * * * *", { tickMs: 6000 }), true);
  assert.equal(isTick("*/3 * * * * *", { tickMs: 7000 }), false);
  assert.equal(isTick("*/3 * * * * *", { tickMs: 6001 }), false);
});
