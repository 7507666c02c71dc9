/**
 * Durable storage for the orchestrator's Raft log: the {@link LogStorage}
 * interface, the file storage (segmented write-ahead log plus snapshots), the
 * in-memory storage with fault hooks for the simulator, and the pure record
 * codec and replay both are built on.
 * @module
 */
export type {
  HardState,
  LogStorage,
  OpenedLogStorage,
  RecoveredLog,
  SnapshotDraft,
  StorageUse,
  StoredSnapshot,
} from "./log_storage.ts";
export { INITIAL_HARD_STATE, SNAPSHOTS_KEPT } from "./log_storage.ts";
export {
  bytesSnapshotRef,
  bytesSnapshotSource,
  checkSnapshotRange,
  type SnapshotRef,
  type SnapshotSource,
} from "./snapshot_source.ts";
export {
  DEFAULT_SEGMENT_BYTES,
  type FileLogStorageOptions,
  openFileLogStorage,
} from "./file_log_storage.ts";
export {
  denoFileSystem,
  type DirectoryEntry,
  type FileHandle,
  type FileOpenOptions,
  type FileReader,
  type FileSystem,
} from "./file_system.ts";
export { CORRUPTION_RECOVERY_ADVICE, LogCorruptionError } from "./log_corruption_error.ts";
export { BytesSnapshotDraft, MemoryLogStorage } from "./memory_log_storage.ts";
export {
  type DecodedRecords,
  decodeRecords,
  encodeRecord,
  findNextRecord,
  type LogRecord,
  RECORD_PAYLOAD_BYTES_MAX,
} from "./log_record.ts";
export { assertHardStateStep, type ReplayOptions, replayRecords } from "./log_replay.ts";
export { SNAPSHOT_DATA_BYTES_MAX } from "./_snapshot_files.ts";
