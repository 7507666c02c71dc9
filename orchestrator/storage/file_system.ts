/**
 * The file-system operations the file storage uses, as an interface, so the
 * same storage code runs on the real disk ({@link denoFileSystem}) and on the
 * simulator's disk (tests/sim/sim_fs.ts), where power loss, torn writes and
 * damaged sectors can be injected.
 * @module
 */

/** An open file: what the storage does with a handle (Deno.FsFile has this shape). */
export interface FileHandle {
  /** Writes at the handle's position (the end, in append mode); may write fewer bytes than asked. */
  write(bytes: Uint8Array): Promise<number>;
  /** Cuts (or zero-extends) the file to `length` bytes. */
  truncate(length: number): Promise<void>;
  /** fdatasync: the file's data (and its size) is durable once this resolves. */
  syncData(): Promise<void>;
  /** fsync: the data and every metadata of the file are durable once this resolves. */
  sync(): Promise<void>;
  close(): void;
}

/**
 * A file opened for synchronous positioned reads (what a snapshot source reads chunks through).
 * On POSIX an open file stays readable after its name is removed; the storage closes it when it
 * removes the file, so that the disk space is freed.
 */
export interface FileReader {
  /** The file's size when it was opened. */
  readonly byteLength: number;
  /**
   * Reads exactly `length` bytes at `position`.
   * @throws {Error} on an I/O error, a closed reader, or fewer bytes than asked (end of file).
   */
  readAt(position: number, length: number): Uint8Array;
  close(): void;
}

/** How to open a file: the subset of Deno.OpenOptions the storage uses. */
export interface FileOpenOptions {
  read?: boolean;
  write?: boolean;
  append?: boolean;
  create?: boolean;
  /** Fail with Deno.errors.AlreadyExists when the file exists. */
  createNew?: boolean;
  truncate?: boolean;
}

/** One name in a directory. */
export interface DirectoryEntry {
  name: string;
  isFile: boolean;
}

/**
 * The file system under the file storage. Names created, renamed or removed
 * are durable only after {@link FileSystem.syncDirectory} of their directory;
 * written bytes only after the file's `syncData` or `sync`.
 */
export interface FileSystem {
  /** @throws {Deno.errors.NotFound} when the file does not exist (and `create` is not set). */
  open(path: string, options: FileOpenOptions): Promise<FileHandle>;
  /** @throws {Deno.errors.NotFound} when the file does not exist. */
  readFile(path: string): Promise<Uint8Array>;
  /** Opens a file for synchronous positioned reads. @throws {Deno.errors.NotFound} when absent. */
  openReader(path: string): Promise<FileReader>;
  readDir(path: string): Promise<DirectoryEntry[]>;
  /** Atomically replaces `to` (if any) with `from`. */
  rename(from: string, to: string): Promise<void>;
  remove(path: string): Promise<void>;
  /** Creates the directory and any missing parent; succeeds when it exists. */
  mkdir(path: string): Promise<void>;
  /** fsyncs a directory, so that names created, renamed or removed in it survive a power loss. */
  syncDirectory(path: string): Promise<void>;
}

/**
 * The real file system, over Deno.* (the default of the file storage). What it creates is its
 * owner's only (files 0600, directories 0700): the log holds every task, its output and every
 * password hash.
 */
export const denoFileSystem: FileSystem = {
  open: (path, options) => Deno.open(path, { ...options, mode: 0o600 }),
  readFile: (path) => Deno.readFile(path),
  async openReader(path) {
    const file = await Deno.open(path, { read: true });
    try {
      return new DenoFileReader(path, file, (await file.stat()).size);
    } catch (error) {
      file.close();
      throw error;
    }
  },
  async readDir(path) {
    const entries: DirectoryEntry[] = [];
    for await (const item of Deno.readDir(path)) {
      entries.push({ name: item.name, isFile: item.isFile });
    }
    return entries;
  },
  rename: (from, to) => Deno.rename(from, to),
  remove: (path) => Deno.remove(path),
  mkdir: (path) => Deno.mkdir(path, { recursive: true, mode: 0o700 }),
  async syncDirectory(path) {
    // An fsync of the file alone does not persist its name.
    const handle = await Deno.open(path, { read: true });
    try {
      await handle.sync();
    } finally {
      handle.close();
    }
  },
};

/** A {@link FileReader} over a Deno file: seek, then read until the range is filled. */
class DenoFileReader implements FileReader {
  readonly #path: string;
  readonly #file: Deno.FsFile;
  readonly byteLength: number;
  #isClosed = false;

  constructor(path: string, file: Deno.FsFile, byteLength: number) {
    this.#path = path;
    this.#file = file;
    this.byteLength = byteLength;
  }

  readAt(position: number, length: number): Uint8Array {
    if (this.#isClosed) throw new Error(`Cannot read ${this.#path}: the file was closed`);
    const bytes = new Uint8Array(length);
    this.#file.seekSync(position, Deno.SeekMode.Start);
    let filled = 0;
    while (filled < length) {
      const read = this.#file.readSync(bytes.subarray(filled));
      if (read === null || read === 0) {
        throw new Error(
          `Cannot read ${this.#path}: ${length} bytes at ${position} asked, the file ended ` +
            `after ${filled}`,
        );
      }
      filled += read;
    }
    return bytes;
  }

  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#file.close();
  }
}
