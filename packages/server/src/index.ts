export type { FetchFunction } from '@raftkit/transport-http';
export { ApiError, type ApiErrorCode, errorResponse, toApiError } from './api-error.ts';
export { createServerApp, type ServerAppOptions } from './app.ts';
export { type BackupJob, type BackupJobState, BackupJobs, type BackupJobsOptions } from './backup-jobs.ts';
export { type CliIo, runCli } from './cli.ts';
export { ConfigError, parseServeConfig, type ServeConfig, serveHelp } from './config.ts';
export { decodeCommand, encodeCommand, type KvCommand, type KvWrite } from './kv/command.ts';
export { type KvApplyResult, KvStateMachine, type KvWriteResult } from './kv/kv-state-machine.ts';
export type { SessionOutcome } from './kv/sessions.ts';
export {
  type Listen,
  type Listener,
  type ListenOptions,
  type RunningServer,
  type ServerRuntime,
  startServer,
} from './launch.ts';
export { DEFAULT_LIMITS, type Limits } from './limits.ts';
export type { LogFormat, LogLevel } from './log.ts';
export {
  type OpenApiDocument,
  type OpenApiOperation,
  type OpenApiPathItem,
  openApiDocument,
} from './openapi.ts';
export { processIo } from './process-io.ts';
export type { MemberRole, ServerNode } from './server-node.ts';
