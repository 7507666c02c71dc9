// Proves that createPrng() is deterministic per seed and that int(), chance() and pick() stay
// within their documented ranges.
import assert from "node:assert/strict";
import { createPrng } from "./prng.ts";

function take(seed: number, count: number): number[] {
  const rng = createPrng(seed);
  return Array.from({ length: count }, () => rng.next());
}

Deno.test("createPrng() gives the same sequence for the same seed", () => {
  assert.deepEqual(take(8112693, 1000), take(8112693, 1000));
});

Deno.test("createPrng() gives the same int(), chance() and pick() draws for the same seed", () => {
  const draw = (seed: number) => {
    const rng = createPrng(seed);
    return Array.from({ length: 200 }, (_, i) => [
      rng.int(-5, 5),
      rng.chance(0.5),
      rng.pick(["a", "b", "c"]),
      i,
    ]);
  };
  assert.deepEqual(draw(7), draw(7));
});

Deno.test("createPrng() gives different sequences for different seeds, even adjacent ones", () => {
  const seeds = [0, 1, 2, 3, 42, 8112693, 0xffffffff];
  const firsts = seeds.map((seed) => take(seed, 8).join(","));
  assert.equal(new Set(firsts).size, seeds.length);
  const [a, b] = [take(1, 100), take(2, 100)];
  const same = a.filter((value, i) => value === b[i]).length;
  assert.ok(same < 3, `seeds 1 and 2 agree on ${same} of 100 draws`);
});

Deno.test("createPrng().next() returns floats in [0, 1)", () => {
  const rng = createPrng(3);
  let sum = 0;
  for (let i = 0; i < 10_000; i++) {
    const value = rng.next();
    assert.ok(value >= 0 && value < 1, `${value}`);
    sum += value;
  }
  // Far from uniform would mean a broken generator; the bound is loose on purpose.
  assert.ok(Math.abs(sum / 10_000 - 0.5) < 0.02, `mean ${sum / 10_000}`);
});

Deno.test("createPrng().int() stays within bounds and reaches both of them", () => {
  const rng = createPrng(11);
  const seen = new Set<number>();
  for (let i = 0; i < 10_000; i++) {
    const value = rng.int(-3, 4);
    assert.ok(Number.isInteger(value), `${value}`);
    assert.ok(value >= -3 && value <= 4, `${value}`);
    seen.add(value);
  }
  assert.deepEqual([...seen].sort((a, b) => a - b), [-3, -2, -1, 0, 1, 2, 3, 4]);
});

Deno.test("createPrng().int() with equal bounds always returns that bound", () => {
  const rng = createPrng(5);
  for (let i = 0; i < 100; i++) assert.equal(rng.int(9, 9), 9);
});

Deno.test("createPrng().chance() is never true for 0 and always true for 1", () => {
  const rng = createPrng(6);
  for (let i = 0; i < 1000; i++) {
    assert.equal(rng.chance(0), false);
    assert.equal(rng.chance(1), true);
  }
});

Deno.test("createPrng().pick() returns only elements of the array, and eventually each", () => {
  const rng = createPrng(13);
  const items = ["w1", "w2", "w3", "w4"] as const;
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const item = rng.pick(items);
    assert.ok(items.includes(item), item);
    seen.add(item);
  }
  assert.equal(seen.size, items.length);
});

Deno.test("createPrng().pick() from one element returns it", () => {
  const rng = createPrng(1);
  assert.equal(rng.pick(["only"]), "only");
});
