/**
 * Structural mutations of a JSON value: one field gets a wrong type, a boundary number, an odd
 * string or deep nesting; a field is dropped or an unknown (or prototype-polluting) one added;
 * an array grows past its limit; the message type or protocol version changes.
 * @module
 */
import type { Rng } from "../../shared/prng.ts";
import {
  BOUNDARY_NUMBERS,
  hostileString,
  hostileValue,
  isSharedValue,
  stringifyJson,
} from "./hostile_values.ts";

type Container = Record<string, unknown> | unknown[];

interface Slot {
  parent: Container;
  key: string | number;
}

/** Every message type of every direction, so a mutation can swap in another shape's type. */
const MESSAGE_TYPES = [
  "hello",
  "authenticate",
  "login",
  "logout",
  "submit",
  "submitBatch",
  "status",
  "list",
  "workers",
  "cancel",
  "wait",
  "nodeStatus",
  "userAdd",
  "userPasswd",
  "userRemove",
  "userList",
  "tokenList",
  "tokenRevoke",
  "welcome",
  "error",
  "register",
  "started",
  "finished",
  "handBack",
  "drain",
  "heartbeat",
  "requestVote",
  "voteResponse",
  "appendEntries",
  "appendResponse",
  "installSnapshot",
  "snapshotResponse",
  "leaderAnnouncement",
  "noop",
  "",
];

const EXTRA_KEYS = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "valueOf",
  "toJSON",
  "extra",
  "",
  "v ",
  "Type",
  "id\u0000",
];

/** What {@link mutateJson} did, for replay reports. */
export type JsonMutation = string;

/**
 * Applies 1-3 random structural mutations to a deep copy of `value` and returns the copy with a
 * description of what changed.
 */
export function mutateJson(rng: Rng, value: unknown): { value: unknown; did: JsonMutation[] } {
  let root = cloneJson(value);
  const did: JsonMutation[] = [];
  const count = rng.int(1, 3);
  for (let i = 0; i < count; i++) {
    const result = mutateOnce(rng, root);
    root = result.root;
    did.push(result.did);
  }
  return { value: root, did };
}

function mutateOnce(rng: Rng, root: unknown): { root: unknown; did: string } {
  const roll = rng.next();
  if (roll < 0.03) {
    const replacement = rng.pick<unknown>([[root], "a string", 42, null, true, []]);
    return { root: replacement, did: "replaced the whole value" };
  }
  if (!isContainer(root)) return { root: hostileValue(rng), did: "replaced a scalar root" };
  if (roll < 0.1 && !Array.isArray(root)) {
    root.type = rng.pick(MESSAGE_TYPES);
    return { root, did: `type -> ${JSON.stringify(root.type)}` };
  }
  if (roll < 0.14 && !Array.isArray(root)) {
    root.v = rng.pick<unknown>([0, 2, -1, 1.5, "1", null, true, 2 ** 53, [1]]);
    return { root, did: `v -> ${JSON.stringify(root.v)}` };
  }
  const slots = collectSlots(root);
  if (slots.length === 0) return addField(rng, root);
  const slot = rng.pick(slots);
  const current = get(slot);
  if (roll < 0.45) {
    set(slot, hostileValue(rng));
    return { root, did: `${describe(slot)} -> hostile value` };
  }
  if (roll < 0.6 && typeof current === "number") {
    set(slot, nudge(rng, current));
    return { root, did: `${describe(slot)} nudged to ${get(slot)}` };
  }
  if (roll < 0.68 && typeof current === "string") {
    set(slot, rng.chance(0.5) ? hostileString(rng) : current + current);
    return { root, did: `${describe(slot)} -> odd string` };
  }
  if (roll < 0.78) {
    remove(slot);
    return { root, did: `removed ${describe(slot)}` };
  }
  if (roll < 0.88) return addField(rng, pickContainer(rng, root));
  if (Array.isArray(current) && current.length > 0) {
    // Past the item limits, yet within what a string (and a frame, give or take) can hold.
    const itemChars = stringifyJson(current[0]).length + 1;
    const copies = Math.max(2, Math.min(rng.pick([2, 257, 1025, 5001]), 8e6 / itemChars | 0));
    set(slot, Array.from({ length: copies }, () => current[0]));
    return { root, did: `${describe(slot)} repeated to ${copies} items` };
  }
  const text = typeof current === "object" && current !== null
    ? stringifyJson(current)
    : String(current);
  set(slot, rng.pick<unknown>([text, [current], { value: current }, null]));
  return { root, did: `${describe(slot)} wrapped or stringified` };
}

function nudge(rng: Rng, n: number): number {
  return rng.pick([
    n + 1,
    n - 1,
    -n,
    n + 0.5,
    n * 2 ** 20,
    n + 2 ** 52,
    rng.pick(BOUNDARY_NUMBERS),
  ]);
}

function addField(rng: Rng, target: Container): { root: unknown; did: string } {
  if (Array.isArray(target)) {
    target.push(hostileValue(rng));
    return { root: target, did: "appended an array element" };
  }
  const key = rng.chance(0.6) ? rng.pick(EXTRA_KEYS) : hostileString(rng).slice(0, 80);
  set({ parent: target, key }, hostileValue(rng));
  return { root: target, did: `added field ${JSON.stringify(key)}` };
}

/** A deep copy of plain JSON data; raw JSON is shared, never copied. */
function cloneJson(value: unknown): unknown {
  if (typeof value !== "object" || value === null || isSharedValue(value)) return value;
  if (Array.isArray(value)) return value.map(cloneJson);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    set({ parent: out, key }, cloneJson((value as Record<string, unknown>)[key]));
  }
  return out;
}

/** A container this mutation may change (cached deep nestings are shared, hence off limits). */
function isContainer(value: unknown): value is Container {
  return typeof value === "object" && value !== null && !isSharedValue(value);
}

function collectSlots(root: Container): Slot[] {
  const slots: Slot[] = [];
  const visit = (parent: Container, depth: number) => {
    if (depth > 8) return;
    const keys: Array<string | number> = Array.isArray(parent)
      ? parent.slice(0, 8).map((_, i) => i)
      : Object.keys(parent);
    for (const key of keys) {
      const slot = { parent, key };
      slots.push(slot);
      const child = get(slot);
      if (isContainer(child)) visit(child, depth + 1);
    }
  };
  visit(root, 0);
  return slots;
}

function pickContainer(rng: Rng, root: Container): Container {
  const containers = [root, ...collectSlots(root).map(get).filter(isContainer)];
  return rng.pick(containers);
}

function get(slot: Slot): unknown {
  return (slot.parent as Record<string | number, unknown>)[slot.key];
}

function set(slot: Slot, value: unknown): void {
  if (slot.key === "__proto__") {
    // An own "__proto__" key, as JSON.parse makes one (assignment would set the prototype).
    Object.defineProperty(slot.parent, slot.key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    (slot.parent as Record<string | number, unknown>)[slot.key] = value;
  }
}

function remove(slot: Slot): void {
  if (Array.isArray(slot.parent)) slot.parent.splice(slot.key as number, 1);
  else delete slot.parent[slot.key as string];
}

function describe(slot: Slot): string {
  return `field ${JSON.stringify(slot.key)}`;
}
