import { primaryCodeFromName, type Row, type SqliteDriver, type SqlValue } from './driver.ts';

/** The slice of `bun:sqlite` we use, declared here so the package type-checks without Bun's types. */
interface BunStatement {
  run(...params: SqlValue[]): unknown;
  get(...params: SqlValue[]): Row | null;
  all(...params: SqlValue[]): Row[];
  iterate(...params: SqlValue[]): IterableIterator<Row>;
  finalize(): void;
}
interface BunDatabase {
  exec(sql: string): void;
  prepare(sql: string): BunStatement;
  close(): void;
}
interface BunSqliteModule {
  Database: new (
    path: string,
    options: { readonly?: boolean; readwrite?: boolean; create?: boolean },
  ) => BunDatabase;
}

export async function loadBunDriver(): Promise<SqliteDriver> {
  // A computed specifier keeps vite and tsc from trying to resolve a Bun-only module.
  const specifier = 'bun:sqlite';
  const { Database } = (await import(specifier)) as BunSqliteModule;
  return {
    name: 'bun:sqlite',
    open(path, { readonly }) {
      const db = new Database(path, readonly ? { readonly: true } : { readwrite: true, create: true });
      // bun:sqlite closes with sqlite3_close_v2, which leaves the connection (and its file lock!)
      // alive while any statement is unfinalized. So the connection finalizes its own on close.
      const statements: BunStatement[] = [];
      return {
        exec: (sql) => db.exec(sql),
        prepare(sql) {
          const statement = db.prepare(sql);
          statements.push(statement);
          return {
            run: (...params) => void statement.run(...params),
            // bun:sqlite says "no row" with null, the other drivers with undefined.
            get: (...params) => statement.get(...params) ?? undefined,
            all: (...params) => statement.all(...params),
            iterate: (...params) => statement.iterate(...params),
          };
        },
        close() {
          for (const statement of statements.splice(0)) statement.finalize();
          db.close();
        },
      };
    },
    errorCode: primaryCodeFromName,
  };
}
