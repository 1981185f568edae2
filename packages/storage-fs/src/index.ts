export { type FileOps, type FsOps, nodeFsOps } from './fs-ops.ts';
export { FsStorage, type RecoveryReport } from './fs-storage.ts';
export { type FsStorageOptions, openFsStorage } from './open.ts';
