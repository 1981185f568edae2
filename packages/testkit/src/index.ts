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
  type RegisterState,
  registerModel,
  renderKvEvent,
} from './linearizability/kv-model.ts';
export { type CheckOptions, checkModel, type Model, type ModelCheckResult } from './linearizability/model.ts';
export { type ApplyCursor, type Fail, type LogView, SafetyChecker } from './sim/checker.ts';
export type { ClientReadMode, Operation, Outcome } from './sim/clients.ts';
export { type DiskWrite, MemoryDisk, type NodeDisk, StorageDisk } from './sim/disk.ts';
export { type FailureKind, SimulationFailure } from './sim/failure.ts';
export { toKvHistory } from './sim/history.ts';
export { type LivenessBounds, livenessBounds } from './sim/liveness.ts';
export { type FaultMix, type MixName, mixByName, mixes } from './sim/mixes.ts';
export type { SimNode } from './sim/node.ts';
export type { ReconfigurationStats } from './sim/operator.ts';
export { Random } from './sim/random.ts';
export {
  type LivenessReport,
  type SimRaftConfig,
  type SimStats,
  Simulation,
  type SimulationOptions,
} from './sim/simulation.ts';
export { type KvApplied, KvStateMachine, type SimStateMachine } from './sim/state-machine.ts';
export { describeFailure, planFor, runSeed, type SeedPlan, type SeedResult } from './sim/sweep.ts';
export type { TransferStats } from './sim/transfers.ts';
export type { StorageFactory } from './storage/describe-storage.ts';
export { MemoryStorage } from './storage/memory-storage.ts';
