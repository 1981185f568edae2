export type {
  Call,
  CallOptions,
  CasResult,
  ClientOptions,
  Consistency,
  MemberStatus,
  NodeStatus,
  ReadOptions,
} from './client.ts';
export { normalizeUrl, RaftkitClient } from './client.ts';
export { isRaftkitError, OutcomeUnknownError, RaftkitError } from './errors.ts';
export { ClientSession } from './session.ts';
