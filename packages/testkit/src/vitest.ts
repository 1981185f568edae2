// The suites that register vitest tests (`describe`/`it`), apart from the main entry so that the
// simulator, the checker and `MemoryStorage` load in any test runner, or none.
export {
  describeSimulationOverStorage,
  type SimulationOverStorageOptions,
} from './sim/describe-sim-storage.ts';
export {
  describeStorage,
  type StorageFactory,
  type StorageSuiteOptions,
} from './storage/describe-storage.ts';
