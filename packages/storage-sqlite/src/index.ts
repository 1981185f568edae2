export {
  type CheckProblem,
  type CheckRule,
  checkSqliteDataDir,
  renderSqliteCheck,
  type SqliteCheckReport,
} from './check.ts';
export type { ConsistencyRule } from './consistency.ts';
export { SqliteDriverMissing } from './driver/better-sqlite3.ts';
export type { Synchronous } from './open.ts';
export { openSqliteStorage, type SqliteStorageOptions } from './sqlite-storage.ts';
