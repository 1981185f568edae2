export { readFileChunks, type SaveBackupOptions, saveBackupFile } from './backup-file.ts';
export { type CapturedSnapshot, captureSnapshot } from './capture.ts';
export { BackupError, type BackupErrorCode, isBackupError } from './errors.ts';
export {
  type BackupMetadataReader,
  type BackupMetadataSource,
  type BackupSource,
  type ExportBackupOptions,
  exportBackup,
  type WriteBackupOptions,
  writeBackup,
} from './export.ts';
export { inspectBackup, renderManifest } from './inspect.ts';
export {
  backupFolder,
  FORMAT_VERSION,
  type JsonValue,
  type Manifest,
  type ManifestFile,
  type MemberEntry,
} from './manifest.ts';
export { DEFAULT_MAX_BYTES, type ReadLimits } from './read-backup.ts';
export { type RecoverOptions, type RecoverResult, recoverForceNewCluster } from './recover.ts';
export { type RestoreOptions, type RestoreResult, restoreBackup, type StorageOpener } from './restore.ts';
export { type ByteSource, toReadableStream } from './streams.ts';
export { type VerifyOptions, verifyBackup } from './verify.ts';
