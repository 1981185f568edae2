import { primaryCodeFromName, type SqliteConnection, type SqliteDriver } from './driver.ts';

/** better-sqlite3 ships no types; its `Database` already has the shape `SqliteConnection` asks for. */
interface BetterSqlite3Module {
  default: new (path: string, options: { readonly?: boolean; fileMustExist?: boolean }) => SqliteConnection;
}

/**
 * The fallback for Node without `node:sqlite` (Node 20). Imported lazily, from here only, so Bun and
 * Deno never load its native module. v12 is the last major version that supports Node 20.
 */
export async function loadBetterSqlite3Driver(): Promise<SqliteDriver> {
  const specifier = 'better-sqlite3';
  const { default: Database } = (await import(specifier)) as BetterSqlite3Module;
  return {
    name: 'better-sqlite3',
    open: (path, { readonly }) => new Database(path, readonly ? { readonly: true, fileMustExist: true } : {}),
    errorCode: primaryCodeFromName,
  };
}
