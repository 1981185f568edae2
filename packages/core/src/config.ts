import type { Logger } from './logger.ts';
import { silentLogger } from './logger.ts';
import type { NodeId } from './types.ts';

/**
 * How one node's core behaves. Only `id` is required; counts are in ticks or bytes, and every default is
 * chosen for a LAN cluster ticking every 100 ms.
 */
export interface RaftConfig {
  readonly id: NodeId;
  /**
   * Followers start an election after a randomized timeout in `[electionTicks, 2 * electionTicks)`
   * ticks without hearing from a leader (Raft §5.2). Must exceed `heartbeatTicks`.
   */
  readonly electionTicks?: number;
  /** The leader sends heartbeats every `heartbeatTicks` ticks. */
  readonly heartbeatTicks?: number;
  /** Seeds election jitter, the core's only source of randomness. */
  readonly seed?: number;
  /** Thesis §9.6: probe before disrupting the cluster with a higher term. */
  readonly preVote?: boolean;
  /** Thesis §6.2: a leader that has not heard from a quorum for an election timeout steps down. */
  readonly checkQuorum?: boolean;
  /** Payload bytes per AppendEntries (always at least one entry). */
  readonly maxMessageBytes?: number;
  /** AppendEntries in flight per follower before the leader waits for acknowledgements. */
  readonly maxInflightMessages?: number;
  /** Proposals are refused with `Busy` while more than this many payload bytes are uncommitted. */
  readonly maxUncommittedBytes?: number;
  readonly logger?: Logger;
}

/** A config with every default filled in, as `resolveConfig` returns it. */
export type ResolvedConfig = Required<RaftConfig>;

/**
 * Fills in every default and validates the result, so the core never sees a partial config. Throws
 * RangeError (naming the field) for an empty `id` or a count that is not a positive safe integer.
 */
export function resolveConfig(config: RaftConfig): ResolvedConfig {
  const resolved: ResolvedConfig = {
    id: config.id,
    electionTicks: config.electionTicks ?? 10,
    heartbeatTicks: config.heartbeatTicks ?? 1,
    seed: config.seed ?? 1,
    preVote: config.preVote ?? true,
    checkQuorum: config.checkQuorum ?? true,
    maxMessageBytes: config.maxMessageBytes ?? 1024 * 1024,
    maxInflightMessages: config.maxInflightMessages ?? 256,
    maxUncommittedBytes: config.maxUncommittedBytes ?? 64 * 1024 * 1024,
    logger: config.logger ?? silentLogger,
  };
  if (typeof resolved.id !== 'string' || resolved.id.length === 0) {
    throw new RangeError('config.id must be a non-empty string');
  }
  const positiveInteger = (name: keyof ResolvedConfig) => {
    const value = resolved[name];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`config.${name} must be a positive integer, got ${String(value)}`);
    }
  };
  for (const name of [
    'electionTicks',
    'heartbeatTicks',
    'maxMessageBytes',
    'maxInflightMessages',
    'maxUncommittedBytes',
  ] as const) {
    positiveInteger(name);
  }
  if (!Number.isSafeInteger(resolved.seed)) throw new RangeError('config.seed must be an integer');
  if (resolved.heartbeatTicks >= resolved.electionTicks) {
    throw new RangeError('config.heartbeatTicks must be smaller than config.electionTicks');
  }
  return resolved;
}
