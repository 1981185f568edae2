export { checkFsDataDir, type FsCheckReport, renderFsCheckReport, type TermRun } from './check.ts';
export type { Problem, TornTail } from './data-dir.ts';
export type { LockOwner, ProcessLookup, ProcessTable } from './dir-lock.ts';
export { recordDurableImage, restoreDurableImage } from './durable-image.ts';
export { type FileOps, type FsOps, nodeFsOps } from './fs-ops.ts';
export { FsStorage, type RecoveryReport } from './fs-storage.ts';
export { failIoOnDemand } from './io-fault.ts';
export { type FsStorageOptions, openFsStorage } from './open.ts';
