export type { Synchronous } from './open.ts';
export { openSqliteStorage, type SqliteStorageOptions } from './sqlite-storage.ts';
