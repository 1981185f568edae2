import { primaryCodeFromName, type SqliteConnection, type SqliteDriver } from './driver.ts';

/** better-sqlite3 ships no types; its `Database` already has the shape `SqliteConnection` asks for. */
interface BetterSqlite3Module {
  default: new (path: string, options: { readonly?: boolean; fileMustExist?: boolean }) => SqliteConnection;
}

/**
 * Node without `node:sqlite` (before 22.5) and without better-sqlite3 installed: nothing here can
 * open a database. A setup problem, not a storage failure, so not a `StorageError`.
 */
export class SqliteDriverMissing extends Error {
  readonly code = 'SqliteDriverMissing' as const;

  constructor(cause: unknown) {
    super(
      `no SQLite driver on Node ${process.versions.node}: node:sqlite needs Node 22.5+, so install the ` +
        'optional peer dependency better-sqlite3 (npm install better-sqlite3@12)',
      { cause },
    );
    this.name = 'SqliteDriverMissing';
  }
}

/**
 * The fallback for Node without `node:sqlite` (Node 20). An optional peer dependency, imported
 * lazily from here only, so Bun, Deno and Node 22.5+ neither install nor load its native module.
 * v12 is the last major version that supports Node 20.
 */
export async function loadBetterSqlite3Driver(): Promise<SqliteDriver> {
  const specifier = 'better-sqlite3';
  let module: BetterSqlite3Module;
  try {
    module = (await import(specifier)) as BetterSqlite3Module;
  } catch (error) {
    // Only its absence is ours to explain; a present module that fails to load (a native build
    // for another Node ABI) keeps its own error.
    if ((error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND') throw new SqliteDriverMissing(error);
    throw error;
  }
  const { default: Database } = module;
  return {
    name: 'better-sqlite3',
    open: (path, { readonly }) => new Database(path, readonly ? { readonly: true, fileMustExist: true } : {}),
    errorCode: primaryCodeFromName,
  };
}
