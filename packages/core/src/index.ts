export { decodeConfigChange, encodeConfigChange } from './confchange.ts';
export * from './config.ts';
export * from './errors.ts';
export * from './logger.ts';
export * from './messages.ts';
export {
  MAX_ID_LENGTH,
  parseArray,
  parseBoolean,
  parseBytes,
  parseIdentifier,
  parseMembership,
  parseMessage,
  parseNatural,
  parseRecord,
  parseSnapshotMeta,
} from './parse.ts';
export type { Mutations, ReadMode } from './raft.ts';
export { bootstrapState, joiningState, RawNode, type RawNodeOptions } from './rawnode.ts';
export * from './ready.ts';
export * from './storage.ts';
export * from './transport.ts';
export * from './types.ts';
