export * from './linearizability/history.ts';
export {
  checkLinearizable,
  type KvCheckOptions,
  type LinearizabilityResult,
} from './linearizability/kv-check.ts';
export {
  type KvEvent,
  type KvOp,
  type KvResult,
  kvRecorder,
  registerModel,
  renderKvEvent,
} from './linearizability/kv-model.ts';
export { type CheckOptions, checkModel, type Model, type ModelCheckResult } from './linearizability/model.ts';
export {
  describeStorage,
  type StorageFactory,
  type StorageSuiteOptions,
} from './storage/describe-storage.ts';
export { MemoryStorage } from './storage/memory-storage.ts';
