/**
 * One orchestrator machine's durable store, kept across crashes: the seed
 * picks `MemoryLogStorage` (behind SimDisk) or the real `FileLogStorage` on a
 * simulated file system (SimFs). A crash decides what the store keeps, and may
 * damage synced data; a restart recovers from it, and checks that nothing the
 * node was told is durable went missing — unless recovery refused to start
 * with the corruption error, which is the documented, safe outcome, and left
 * every file as it was (the evidence an operator moves aside before --rejoin).
 * @module
 */
import { dirname } from "node:path";
import {
  type HardState,
  LogCorruptionError,
  MemoryLogStorage,
  openFileLogStorage,
  type RecoveredLog,
} from "../../orchestrator/storage/mod.ts";
import { decodeRecords } from "../../orchestrator/storage/mod.ts";
import type { CrashMode, DiskOperation, LogPosition, SimStorage } from "./sim_disk.ts";
import { SimDisk } from "./sim_disk.ts";
import { type DamageKind, SimDiskFault, SimFs } from "./sim_fs.ts";
import { recoveredEnd, SimFileStorage } from "./sim_fs_storage.ts";
import { SimViolation } from "./violation.ts";
import type { World } from "./world.ts";

/** Where an orchestrator keeps its log on the simulated file system. */
export const SIM_DATA_DIR = "/var/lib/mutirao/log";

/** What a restart gives: a node to start, or why it cannot start. */
export type RecoveryOutcome =
  | { kind: "recovered"; recovered: RecoveredLog; storage: SimStorage }
  /** Recovery refused with LogCorruptionError: the node stays down until rejoined empty. */
  | { kind: "refused"; message: string }
  /** An injected I/O error stopped recovery: the process exits and is restarted later. */
  | { kind: "failed"; message: string };

/** One machine's durable store. */
export interface SimStore {
  readonly kind: "memory" | "file";
  /** The machine's simulated file system (file storage only), for scenarios that damage it. */
  readonly fs: SimFs | null;
  /**
   * The corruption error recovery refused to start with, once it did: the node stays down until
   * this store is moved aside and it starts on a new, empty one with --rejoin.
   */
  readonly refusal: string | null;
  /** Nothing runs outside the agenda while recovering (see SimPersistence.isQuiet). */
  readonly isQuiet: boolean;
  /** What the next boot starts from, when known before it (memory only). */
  readonly nextBoot: RecoveredLog;
  /** Recovers; `done` runs at once (memory) or once the file system's reads complete. */
  recover(done: (outcome: RecoveryOutcome) => void): void;
  /** The process or machine dies with `storage` in use: see SimDisk.crash and SimFs. */
  crash(storage: SimStorage, mode: CrashMode, keepFraction: number): void;
}

/** Builds orchestrator `nodeId`'s store as the seed says. */
export function createSimStore(world: World, nodeId: string): SimStore {
  return world.params.storage.kind === "file"
    ? new FileStore(world, nodeId)
    : new MemoryStore(world, nodeId);
}

/** What recovery must find: what the node was told is durable when it crashed. */
interface DurableAtCrash {
  end: LogPosition;
  hardState: HardState;
  /** Nothing was in flight, or it was lost for sure: recovery must find exactly this. */
  isExact: boolean;
  /** Unsynced data was lost (a power loss without a tear): the log cannot end earlier. */
  isAtLeast: boolean;
}

/**
 * @param options.keepsWrittenBytes a file system keeps what was written but not yet synced when
 * only the process dies ("completed"): the page cache survives, so recovery may find entries past
 * the durable end (never acknowledged, and harmless: Raft treats them as any unreplicated tail).
 */
function durableAtCrash(
  storage: SimStorage,
  mode: CrashMode,
  options: { keepsWrittenBytes: boolean } = { keepsWrittenBytes: false },
): DurableAtCrash {
  const processOnly = options.keepsWrittenBytes && mode === "completed";
  return {
    end: storage.durableEnd,
    hardState: storage.durableHardState,
    isExact: !storage.hasWriteInFlight && !processOnly,
    // A write in flight that completed may have truncated (a new leader's entries replacing the
    // tail: soak seed 53873), so only without one must the log end at or past the durable end.
    isAtLeast: mode === "lost" || (processOnly && !storage.hasWriteInFlight),
  };
}

/**
 * A silent loss is a violation: the recovered hard state never goes back (a
 * lost vote lets a node vote twice in a term), and the log ends where the
 * durable log ended (at or after it when a write in flight may have landed).
 * @throws {SimViolation} when recovery lost what was durable.
 */
export function checkRecovered(
  nodeId: string,
  durable: DurableAtCrash,
  recovered: RecoveredLog,
): void {
  const was = durable.hardState;
  const now = recovered.hardState;
  if (
    now.term < was.term ||
    (now.term === was.term && was.votedFor !== null && now.votedFor !== was.votedFor)
  ) {
    throw new SimViolation(
      `${nodeId} recovered hard state ${JSON.stringify(now)}, but ${JSON.stringify(was)} was ` +
        `durable before it crashed: a silent loss of its term or vote`,
    );
  }
  const end = recoveredEnd(recovered);
  const wasEnd = durable.end;
  const sameEnd = end.index === wasEnd.index && (wasEnd.term < 0 || end.term === wasEnd.term);
  if ((durable.isExact && !sameEnd) || (durable.isAtLeast && end.index < wasEnd.index)) {
    throw new SimViolation(
      `${nodeId}'s durable log ended at ${wasEnd.index} (term ${wasEnd.term}) when it crashed, ` +
        `but it recovered a log ending at ${end.index} (term ${end.term}): a silent loss`,
    );
  }
}

class MemoryStore implements SimStore {
  readonly kind = "memory";
  readonly fs = null;
  readonly refusal = null;
  readonly isQuiet = true;
  readonly #world: World;
  readonly #nodeId: string;
  readonly #memory = new MemoryLogStorage();
  #recovered: RecoveredLog;
  #durable: DurableAtCrash | null = null;

  constructor(world: World, nodeId: string) {
    this.#world = world;
    this.#nodeId = nodeId;
    this.#recovered = this.#memory.crash(); // a fresh store recovers empty
  }

  get nextBoot(): RecoveredLog {
    return this.#recovered;
  }

  recover(done: (outcome: RecoveryOutcome) => void): void {
    const world = this.#world;
    const recovered = this.#recovered;
    if (this.#durable !== null) checkRecovered(this.#nodeId, this.#durable, recovered);
    const disk = world.params.disk;
    const storage = new SimDisk(this.#memory, {
      later: (run) =>
        world.schedule(world.rng.int(disk.fsyncMinMs, disk.fsyncMaxMs), this.#nodeId, run),
    }, {
      end: recoveredEnd(recovered),
      hardState: recovered.hardState,
      onError: (error) => world.fail(error),
    });
    done({ kind: "recovered", recovered, storage });
  }

  crash(storage: SimStorage, mode: CrashMode, keepFraction: number): void {
    this.#durable = durableAtCrash(storage, mode);
    this.#recovered = (storage as SimDisk).crash(mode, keepFraction);
  }
}

const DAMAGE_KINDS: readonly DamageKind[] = ["bitFlip", "zeroSector", "misdirectedWrite"];

class FileStore implements SimStore {
  readonly kind = "file";
  readonly fs: SimFs;
  readonly #world: World;
  readonly #nodeId: string;
  /** Whether the seed lets this node's synced data be damaged (a minority of nodes at most). */
  readonly #isDamageable: boolean;
  #refusal: string | null = null;
  #isRecovering = false;
  #durable: DurableAtCrash | null = null;

  constructor(world: World, nodeId: string) {
    this.#world = world;
    this.#nodeId = nodeId;
    const params = world.params;
    this.#isDamageable = params.storage.damageableNodes.includes(nodeId);
    this.fs = new SimFs({
      later: (run, operation) => world.schedule(this.#latencyMs(operation ?? "write"), nodeId, run),
    }, {
      rng: world.rng,
      rates: { fsyncError: params.storage.fsyncErrorRate, diskFull: params.storage.diskFullRate },
    });
    this.fs.provision(dirname(SIM_DATA_DIR));
  }

  get refusal(): string | null {
    return this.#refusal;
  }

  get isQuiet(): boolean {
    return !this.#isRecovering || this.fs.isWaiting;
  }

  get nextBoot(): RecoveredLog {
    throw new Error(
      `${this.#nodeId} keeps its log in files: what it recovers is known only once it boots`,
    );
  }

  recover(done: (outcome: RecoveryOutcome) => void): void {
    const world = this.#world;
    this.#isRecovering = true;
    const before = this.#durableFiles();
    const opened = openFileLogStorage(SIM_DATA_DIR, {
      fileSystem: this.fs,
      segmentBytes: world.params.storage.segmentBytes,
      onWarning: (message) => world.note(`${this.#nodeId} storage warning: ${message}`),
    });
    opened.then(({ storage, recovered }) => {
      this.#isRecovering = false;
      if (this.#durable !== null) checkRecovered(this.#nodeId, this.#durable, recovered);
      done({
        kind: "recovered",
        recovered,
        storage: new SimFileStorage(storage, this.fs, recovered),
      });
    }, (error: unknown) => {
      this.#isRecovering = false;
      // The process exits: the OS still writes what it wrote, so a change to a file would show.
      this.fs.crashProcess();
      if (error instanceof LogCorruptionError) {
        checkEvidenceKept(this.#nodeId, before, this.#durableFiles());
        this.#refusal = error.message;
        done({ kind: "refused", message: error.message });
      } else if (isInjectedFault(error)) {
        done({ kind: "failed", message: (error as Error).message });
      } else {
        throw error;
      }
    }).catch((error) => world.fail(error));
  }

  crash(storage: SimStorage, mode: CrashMode): void {
    const world = this.#world;
    this.#durable = durableAtCrash(storage, mode, { keepsWrittenBytes: true });
    if (mode === "completed") {
      this.fs.crashProcess();
    } else {
      const reorder = mode === "torn" && this.#isDamageable && world.rng.chance(0.3);
      const torn = this.fs.powerLoss({ tear: mode === "torn", reorder });
      if (torn.length > 0) {
        world.note(
          `${this.#nodeId} disk: torn unsynced writes in ${torn.join(", ")}` +
            (reorder ? " (sectors reordered)" : ""),
        );
      }
    }
    if (this.#isDamageable && world.rng.chance(world.params.storage.damageRate)) this.#damage();
  }

  /** Every file on the disk, with what a power loss would leave of it. */
  #durableFiles(): Map<string, Uint8Array> {
    const files = new Map<string, Uint8Array>();
    for (const path of this.fs.listFiles()) files.set(path, this.fs.durableBytes(path));
    return files;
  }

  /** Damages synced data, never a segment's last record (see the module README). */
  #damage(): void {
    const world = this.#world;
    const files = this.fs.listFiles().filter((path) =>
      /\/(wal-\d+\.log|snapshot-.*\.snap)$/.test(path)
    );
    if (files.length === 0) return;
    const path = world.rng.pick(files);
    const bytes = this.fs.durableBytes(path);
    const lastSegment = files.filter((f) => f.endsWith(".log")).at(-1);
    const to = path === lastSegment ? lastRecordStart(bytes) : bytes.length;
    const kind = world.rng.pick(DAMAGE_KINDS);
    const what = this.fs.damage(path, { kind, from: 0, to });
    world.note(`${this.#nodeId} DISK DAMAGE: ${what}`);
    world.countFault("diskDamage");
  }

  #latencyMs(operation: DiskOperation): number {
    const rng = this.#world.rng;
    const disk = this.#world.params.disk;
    return operation === "sync" ? rng.int(disk.fsyncMinMs, disk.fsyncMaxMs) : rng.int(0, 1);
  }
}

/**
 * Refusing to start must leave every file as it was: the data directory is the
 * evidence an operator moves aside, and cutting or rewriting it would destroy it.
 * @throws {SimViolation} when a file was created, removed or changed.
 */
function checkEvidenceKept(
  nodeId: string,
  before: ReadonlyMap<string, Uint8Array>,
  after: ReadonlyMap<string, Uint8Array>,
): void {
  const paths = new Set([...before.keys(), ...after.keys()]);
  for (const path of paths) {
    const was = before.get(path);
    const now = after.get(path);
    if (was !== undefined && now !== undefined && sameBytes(was, now)) continue;
    const what = was === undefined ? "created" : now === undefined ? "removed" : "changed";
    throw new SimViolation(
      `${nodeId} refused to start on damage but ${what} ${path}: the evidence must stay as it was`,
    );
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/**
 * Where the last whole record of a segment starts. Damage to the last record
 * looks exactly like a torn write (nothing valid follows it), so no recovery
 * can tell it from one; a real deployment relies on the other replicas for it.
 */
function lastRecordStart(bytes: Uint8Array): number {
  const decoded = decodeRecords(bytes);
  let start = 0;
  for (let offset = 0; offset < decoded.validBytes;) {
    start = offset;
    offset += 8 + new DataView(bytes.buffer, bytes.byteOffset + offset).getUint32(0);
  }
  return start;
}

/** True when `error` comes from an injected I/O error (EIO, ENOSPC). */
export function isInjectedFault(error: unknown): boolean {
  for (let e = error; e instanceof Error; e = e.cause) {
    if (e instanceof SimDiskFault) return true;
  }
  return false;
}
