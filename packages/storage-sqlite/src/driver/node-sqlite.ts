import type { SqliteConnection, SqliteDriver } from './driver.ts';

/** @types/node 20 lacks `node:sqlite`; its `DatabaseSync` already has the shape `SqliteConnection` asks for. */
interface NodeSqliteModule {
  DatabaseSync: new (path: string, options: { readOnly?: boolean }) => SqliteConnection;
}

/** Primary result codes by number: node:sqlite reports `errcode` as a number, not a name. */
const codeNames: Readonly<Record<number, string>> = {
  1: 'SQLITE_ERROR',
  5: 'SQLITE_BUSY',
  6: 'SQLITE_LOCKED',
  8: 'SQLITE_READONLY',
  10: 'SQLITE_IOERR',
  11: 'SQLITE_CORRUPT',
  13: 'SQLITE_FULL',
  14: 'SQLITE_CANTOPEN',
  26: 'SQLITE_NOTADB',
};

/** Deno, and Node 22.5+. Rejects when the runtime has no `node:sqlite` (Node 20, or 22.5-22.12 without a flag). */
export async function loadNodeSqliteDriver(): Promise<SqliteDriver> {
  const specifier = 'node:sqlite';
  const { DatabaseSync } = (await import(specifier)) as NodeSqliteModule;
  return {
    name: 'node:sqlite',
    open: (path, { readonly }) => new DatabaseSync(path, { readOnly: readonly }),
    errorCode(error) {
      const errcode = (error as { errcode?: unknown } | null)?.errcode;
      if (typeof errcode !== 'number') return undefined;
      // Extended codes keep the primary code in their low byte.
      return codeNames[errcode & 0xff] ?? `SQLITE_${errcode & 0xff}`;
    },
  };
}
