/**
 * A simulated file system with the semantics of a real disk, for running the
 * real FileLogStorage in the simulator: written bytes are volatile until the
 * file is fsync'd, and names until their directory is; a power loss keeps only
 * what was made durable, or tears unsynced writes at sector boundaries (later
 * sectors possibly kept while earlier ones are lost); synced data can be
 * damaged (a bit flip, a zeroed sector, a misdirected write); fsync can fail
 * with EIO and a write with ENOSPC. Every operation takes simulated time
 * through a {@link DiskTimer}. No real I/O.
 * @module
 */
import { dirname } from "node:path";
import type {
  DirectoryEntry,
  FileHandle,
  FileOpenOptions,
  FileReader,
  FileSystem,
} from "../../orchestrator/storage/mod.ts";
import { concatBytes } from "../../shared/protocol/frame.ts";
import type { Rng } from "../../shared/prng.ts";
import type { DiskTimer } from "./sim_disk.ts";

/** The unit a disk writes atomically. */
export const SECTOR_BYTES = 512;

/** An injected I/O error, as the OS reports it (the shell dies on it, as on a real one). */
export class SimDiskFault extends Error {
  override name = "SimDiskFault";
  readonly code: "EIO" | "ENOSPC";

  constructor(code: "EIO" | "ENOSPC", what: string) {
    super(
      code === "EIO"
        ? `Input/output error (os error 5): ${what}`
        : `No space left on device (os error 28): ${what}`,
    );
    this.code = code;
  }
}

/** How often injected I/O errors happen. */
export interface SimFsFaultRates {
  /** Chance that an fsync fails with EIO (its unsynced data is then dropped, as Linux does). */
  fsyncError: number;
  /** Chance that a write fails with ENOSPC (nothing written). */
  diskFull: number;
}

/** What a power loss does to unsynced writes. */
export interface PowerLossOptions {
  /** Keep unsynced appends in part: a prefix of their sectors (else they are all lost). */
  tear: boolean;
  /** Sectors of an unsynced append survive independently (later ones kept, earlier lost). */
  reorder: boolean;
}

/** Damage to synced data. */
export type DamageKind = "bitFlip" | "zeroSector" | "misdirectedWrite";

/**
 * File contents as a prefix of a list of immutable chunks: syncing, and
 * keeping the durable contents beside the current ones, cost O(1) per write.
 */
interface Extent {
  chunks: Uint8Array[];
  count: number;
  length: number;
}

const EMPTY: Extent = { chunks: [], count: 0, length: 0 };

function bytesOf(extent: Extent): Uint8Array {
  return concatBytes(extent.chunks.slice(0, extent.count));
}

function extentOf(bytes: Uint8Array): Extent {
  return bytes.length === 0 ? EMPTY : { chunks: [bytes], count: 1, length: bytes.length };
}

/** One file: what the process sees (`current`, the page cache) and what is on the platter. */
class Inode {
  current: Extent = EMPTY;
  durable: Extent = EMPTY;

  write(position: number, bytes: Uint8Array): void {
    const copy = bytes.slice();
    const { chunks, count, length } = this.current;
    if (position === length && chunks.length === count) {
      chunks.push(copy);
      this.current = { chunks, count: count + 1, length: length + copy.length };
      return;
    }
    if (position === length) {
      this.current = {
        chunks: [...chunks.slice(0, count), copy],
        count: count + 1,
        length: length + copy.length,
      };
      return;
    }
    const old = bytesOf(this.current);
    const next = new Uint8Array(Math.max(old.length, position + copy.length));
    next.set(old);
    next.set(copy, position);
    this.current = extentOf(next);
  }

  truncate(length: number): void {
    const old = bytesOf(this.current);
    const next = new Uint8Array(length);
    next.set(old.subarray(0, Math.min(length, old.length)));
    this.current = extentOf(next);
  }

  sync(): void {
    this.durable = this.current;
  }

  get isSynced(): boolean {
    return this.current === this.durable;
  }
}

/** An operation waiting for its simulated latency; a crash may apply or drop it. */
interface PendingOp {
  apply: () => void;
}

/**
 * One machine's disk. Operations complete one at a time in call order, each
 * after the timer's latency; a crash ends the process's view (pending
 * operations never complete) and decides what the disk keeps.
 *
 * @example
 * const fs = new SimFs({ later: (run) => world.schedule(1, "o1", run) }, { rng });
 * const { storage } = await openFileLogStorage("/data/log", { fileSystem: fs });
 */
export class SimFs implements FileSystem {
  readonly #timer: DiskTimer;
  readonly #rng: Rng;
  readonly #rates: SimFsFaultRates;
  #files = new Map<string, Inode>();
  #durableFiles = new Map<string, Inode>();
  #dirs = new Set<string>(["/"]);
  #durableDirs = new Set<string>(["/"]);
  /** Incremented by each crash: operations of an earlier process never complete. */
  #epoch = 0;
  #pending = new Set<PendingOp>();
  /** Operations of the current process scheduled on the timer. */
  #scheduled = 0;
  /** Injected I/O errors so far. */
  faultsInjected = 0;

  constructor(timer: DiskTimer, options: { rng: Rng; rates?: SimFsFaultRates }) {
    this.#timer = timer;
    this.#rng = options.rng;
    this.#rates = options.rates ?? { fsyncError: 0, diskFull: 0 };
  }

  /** True while an operation waits for its latency (only a scheduled event completes it). */
  get isWaiting(): boolean {
    return this.#scheduled > 0;
  }

  open(path: string, options: FileOpenOptions): Promise<FileHandle> {
    return this.#run("metadata", () => {
      this.#requireDir(dirname(path), "open", path);
      let inode = this.#files.get(path);
      if (inode !== undefined && options.createNew) {
        throw new Deno.errors.AlreadyExists(`File exists (os error 17): open '${path}'`);
      }
      if (inode === undefined) {
        if (!options.create && !options.createNew) {
          throw new Deno.errors.NotFound(`No such file or directory (os error 2): open '${path}'`);
        }
        inode = new Inode();
        this.#files.set(path, inode);
      }
      if (options.truncate) inode.truncate(0);
      return new SimFileHandle(this, path, inode, options.append === true);
    });
  }

  readFile(path: string): Promise<Uint8Array> {
    return this.#run("read", () => bytesOf(this.#file(path, "readfile").current));
  }

  /**
   * Opens a reader at once, with no latency (it schedules nothing, so it leaves the simulation's
   * timing as it was). Like an open file on POSIX, it reads the inode it opened, whatever happens
   * to the name since.
   */
  openReader(path: string): Promise<FileReader> {
    try {
      return Promise.resolve(new SimFileReader(path, this.#file(path, "open")));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  readDir(path: string): Promise<DirectoryEntry[]> {
    return this.#run("read", () => {
      this.#requireDir(path, "readdir", path);
      const entries: DirectoryEntry[] = [];
      for (const name of this.#files.keys()) {
        if (dirname(name) === path) {
          entries.push({ name: name.slice(path.length + 1), isFile: true });
        }
      }
      for (const dir of this.#dirs) {
        if (dir !== "/" && dirname(dir) === path) {
          entries.push({ name: dir.slice(path.length + 1), isFile: false });
        }
      }
      return entries.sort((a, b) => a.name < b.name ? -1 : 1);
    });
  }

  rename(from: string, to: string): Promise<void> {
    return this.#run("metadata", () => {
      const inode = this.#file(from, "rename");
      this.#requireDir(dirname(to), "rename", to);
      this.#files.delete(from);
      this.#files.set(to, inode);
    });
  }

  remove(path: string): Promise<void> {
    return this.#run("metadata", () => {
      this.#file(path, "remove");
      this.#files.delete(path);
    });
  }

  mkdir(path: string): Promise<void> {
    return this.#run("metadata", () => {
      for (let dir = path; !this.#dirs.has(dir); dir = dirname(dir)) this.#dirs.add(dir);
    });
  }

  syncDirectory(path: string): Promise<void> {
    return this.#run("sync", () => {
      this.#requireDir(path, "open", path);
      this.#maybeFail("EIO", `fsync '${path}'`);
      // Names directly in `path` become durable as they are now, subdirectories included.
      for (const name of [...this.#durableFiles.keys()]) {
        if (dirname(name) === path) this.#durableFiles.delete(name);
      }
      for (const [name, inode] of this.#files) {
        if (dirname(name) === path) this.#durableFiles.set(name, inode);
      }
      for (const dir of [...this.#durableDirs]) {
        if (dir !== "/" && dirname(dir) === path && !this.#dirs.has(dir)) {
          this.#durableDirs.delete(dir);
        }
      }
      for (const dir of this.#dirs) {
        if (dir !== "/" && dirname(dir) === path) this.#durableDirs.add(dir);
      }
    });
  }

  /**
   * The process dies, the machine stays up: the OS still writes everything the
   * process wrote, including the operation in flight.
   */
  crashProcess(): void {
    const pending = [...this.#pending];
    this.#endProcess();
    for (const op of pending) {
      try {
        op.apply();
      } catch {
        // The operation failed as it would have without the crash: it changed nothing.
      }
    }
    for (const inode of this.#files.values()) inode.sync();
    this.#durableFiles = new Map(this.#files);
    this.#durableDirs = new Set(this.#dirs);
  }

  /**
   * The machine loses power: only durable names and bytes survive, except
   * that unsynced appends may survive in part (`options.tear`), sector by
   * sector in any order (`options.reorder`).
   * @returns the paths whose unsynced writes were torn.
   */
  powerLoss(options: PowerLossOptions): string[] {
    this.#endProcess();
    const torn: string[] = [];
    const inodes = new Set([...this.#files.values(), ...this.#durableFiles.values()]);
    for (const inode of inodes) {
      if (inode.isSynced) continue;
      if (options.tear && this.#tear(inode, options.reorder)) {
        for (const [path, file] of this.#durableFiles) if (file === inode) torn.push(path);
      } else {
        inode.current = inode.durable;
      }
    }
    this.#dirs = new Set(this.#durableDirs);
    this.#files = new Map(
      [...this.#durableFiles].filter(([path]) => this.#isReachable(dirname(path))),
    );
    this.#durableFiles = new Map(this.#files);
    return torn.sort();
  }

  /** Creates directories, durably, as an installer did before the process first ran. */
  provision(path: string): void {
    for (let dir = path; dir !== "/"; dir = dirname(dir)) {
      this.#dirs.add(dir);
      this.#durableDirs.add(dir);
    }
  }

  /** Durable files, by path, for fault injection and tests. */
  listFiles(): string[] {
    return [...this.#files.keys()].sort();
  }

  /** A file's durable bytes (what survives a power loss now). */
  durableBytes(path: string): Uint8Array {
    const inode = this.#durableFiles.get(path);
    if (inode === undefined) throw new Error(`simulated disk: no durable file ${path}`);
    return bytesOf(inode.durable);
  }

  /**
   * Damages synced data of `path` within bytes `[from, to)`, as a failing disk
   * does while the machine is off. Call between a crash and the next boot.
   * @returns what was done, for the trace.
   */
  damage(path: string, options: { kind: DamageKind; from: number; to: number }): string {
    const { kind, from, to } = options;
    const inode = this.#durableFiles.get(path);
    if (inode === undefined || to <= from) return `nothing to damage in ${path}`;
    const bytes = bytesOf(inode.durable);
    const at = this.#rng.int(from, to - 1);
    const sectorStart = Math.max(from, at - (at % SECTOR_BYTES));
    const sectorEnd = Math.min(to, at - (at % SECTOR_BYTES) + SECTOR_BYTES);
    let what: string;
    switch (kind) {
      case "bitFlip": {
        const bit = this.#rng.int(0, 7);
        bytes[at] ^= 1 << bit;
        what = `flipped bit ${bit} of byte ${at}`;
        break;
      }
      case "zeroSector":
        bytes.fill(0, sectorStart, sectorEnd);
        what = `zeroed bytes ${sectorStart}..${sectorEnd - 1}`;
        break;
      case "misdirectedWrite": {
        // A write meant for another place (of any file on this disk) landed here.
        const sources = [...this.#durableFiles.values()].filter((f) => f.durable.length > 0);
        const source = bytesOf(this.#rng.pick(sources).durable);
        const length = sectorEnd - sectorStart;
        const start = this.#rng.int(0, Math.max(0, source.length - length));
        const piece = source.subarray(start, start + length);
        bytes.set(piece, sectorStart);
        what = `wrote ${piece.length} bytes from elsewhere over bytes ${sectorStart}..${
          sectorStart + piece.length - 1
        }`;
        break;
      }
    }
    inode.durable = extentOf(bytes);
    inode.current = inode.durable;
    return `${kind} in ${path}: ${what}`;
  }

  /** Runs `effect` after the timer's latency for `operation`, unless the process dies first. */
  #run<T>(operation: "read" | "write" | "sync" | "metadata", effect: () => T): Promise<T> {
    const epoch = this.#epoch;
    const done = Promise.withResolvers<T>();
    const op: PendingOp = { apply: effect };
    this.#pending.add(op);
    this.#scheduled += 1;
    this.#timer.later(() => {
      if (epoch !== this.#epoch) return; // the process is gone: nobody waits for this any more
      this.#scheduled -= 1;
      this.#pending.delete(op);
      try {
        done.resolve(effect());
      } catch (error) {
        done.reject(error);
      }
    }, operation);
    return done.promise;
  }

  /** @internal for SimFileHandle */
  run<T>(operation: "write" | "sync", effect: () => T): Promise<T> {
    return this.#run(operation, effect);
  }

  /** @internal for SimFileHandle: throws an injected error at the configured rate. */
  maybeFail(code: "EIO" | "ENOSPC", what: string): void {
    this.#maybeFail(code, what);
  }

  #maybeFail(code: "EIO" | "ENOSPC", what: string): void {
    const rate = code === "EIO" ? this.#rates.fsyncError : this.#rates.diskFull;
    if (rate === 0 || !this.#rng.chance(rate)) return;
    this.faultsInjected += 1;
    throw new SimDiskFault(code, what);
  }

  #endProcess(): void {
    this.#epoch += 1;
    this.#pending.clear();
    this.#scheduled = 0;
  }

  /** Keeps a prefix of the unsynced sectors (or, reordered, any subset); false if none survive. */
  #tear(inode: Inode, reorder: boolean): boolean {
    const durable = bytesOf(inode.durable);
    const current = bytesOf(inode.current);
    const isAppend = current.length > durable.length &&
      current.subarray(0, durable.length).every((b, i) => b === durable[i]);
    if (!isAppend) {
      // A truncation or rewrite not yet synced: it lands whole or not at all.
      if (this.#rng.chance(0.5)) inode.durable = inode.current;
      else inode.current = inode.durable;
      return false;
    }
    const firstSector = Math.floor(durable.length / SECTOR_BYTES);
    const sectors = Math.ceil(current.length / SECTOR_BYTES) - firstSector;
    const kept = new Uint8Array(current.length);
    kept.set(durable);
    const keepUpTo = this.#rng.int(0, sectors - 1);
    let survivors = 0;
    for (let i = 0; i < sectors; i++) {
      const isKept = reorder ? this.#rng.chance(0.5) : i < keepUpTo;
      if (!isKept) continue;
      const start = (firstSector + i) * SECTOR_BYTES;
      kept.set(current.subarray(start, Math.min(current.length, start + SECTOR_BYTES)), start);
      survivors += 1;
    }
    // The size may have reached the disk before the data (a zero-filled tail) or not.
    const length = reorder || this.#rng.chance(0.5)
      ? current.length
      : Math.max(durable.length, Math.min(current.length, (firstSector + keepUpTo) * SECTOR_BYTES));
    inode.durable = extentOf(kept.slice(0, length));
    inode.current = inode.durable;
    return survivors > 0;
  }

  #isReachable(dir: string): boolean {
    for (let d = dir; d !== "/"; d = dirname(d)) if (!this.#durableDirs.has(d)) return false;
    return true;
  }

  #file(path: string, action: string): Inode {
    const inode = this.#files.get(path);
    if (inode === undefined) {
      throw new Deno.errors.NotFound(`No such file or directory (os error 2): ${action} '${path}'`);
    }
    return inode;
  }

  #requireDir(path: string, action: string, target: string): void {
    if (!this.#dirs.has(path)) {
      throw new Deno.errors.NotFound(
        `No such file or directory (os error 2): ${action} '${target}'`,
      );
    }
  }
}

/** An open file of a {@link SimFs}. */
class SimFileHandle implements FileHandle {
  readonly #fs: SimFs;
  readonly #path: string;
  readonly #inode: Inode;
  readonly #isAppend: boolean;
  #position = 0;
  #isClosed = false;

  constructor(fs: SimFs, path: string, inode: Inode, isAppend: boolean) {
    this.#fs = fs;
    this.#path = path;
    this.#inode = inode;
    this.#isAppend = isAppend;
  }

  write(bytes: Uint8Array): Promise<number> {
    const copy = bytes.slice(); // the caller may reuse its buffer before the write completes
    return this.#fs.run("write", () => {
      this.#assertOpen();
      this.#fs.maybeFail("ENOSPC", `write '${this.#path}'`);
      const position = this.#isAppend ? this.#inode.current.length : this.#position;
      this.#inode.write(position, copy);
      this.#position = position + copy.length;
      return copy.length;
    });
  }

  truncate(length: number): Promise<void> {
    return this.#fs.run("write", () => {
      this.#assertOpen();
      this.#inode.truncate(length);
    });
  }

  syncData(): Promise<void> {
    return this.sync();
  }

  sync(): Promise<void> {
    return this.#fs.run("sync", () => {
      this.#assertOpen();
      try {
        this.#fs.maybeFail("EIO", `fsync '${this.#path}'`);
      } catch (error) {
        // Linux drops the dirty pages of a failed writeback: the data is gone for good.
        this.#inode.current = this.#inode.durable;
        throw error;
      }
      this.#inode.sync();
    });
  }

  close(): void {
    this.#isClosed = true;
  }

  #assertOpen(): void {
    if (this.#isClosed) throw new Deno.errors.BadResource("Bad resource ID");
  }
}

/** A {@link FileReader} of a {@link SimFs}: reads what the process sees (the page cache). */
class SimFileReader implements FileReader {
  readonly #path: string;
  readonly #inode: Inode;
  readonly byteLength: number;
  #isClosed = false;

  constructor(path: string, inode: Inode) {
    this.#path = path;
    this.#inode = inode;
    this.byteLength = inode.current.length;
  }

  readAt(position: number, length: number): Uint8Array {
    if (this.#isClosed) throw new Deno.errors.BadResource(`Bad resource ID: read '${this.#path}'`);
    const bytes = bytesOf(this.#inode.current);
    if (position + length > bytes.length) {
      throw new Error(
        `Cannot read ${this.#path}: ${length} bytes at ${position} asked, the file ` +
          `has ${bytes.length}`,
      );
    }
    return bytes.slice(position, position + length);
  }

  close(): void {
    this.#isClosed = true;
  }
}
