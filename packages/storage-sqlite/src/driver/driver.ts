/**
 * The few SQLite operations the store needs, implemented once per runtime's driver. Everything is
 * synchronous because all three drivers are: a statement runs to completion on the calling thread.
 */

export type SqlValue = number | bigint | string | Uint8Array | null;
export type Row = Readonly<Record<string, SqlValue>>;

export interface SqliteStatement {
  run(...params: SqlValue[]): void;
  /** The first row, or undefined when there is none. */
  get(...params: SqlValue[]): Row | undefined;
  all(...params: SqlValue[]): Row[];
  /** Rows one at a time; the connection is busy until the iterator finishes or is returned. */
  iterate(...params: SqlValue[]): IterableIterator<Row>;
}

export interface SqliteConnection {
  /** Runs one or more statements that return no rows. */
  exec(sql: string): void;
  prepare(sql: string): SqliteStatement;
  close(): void;
}

export interface SqliteDriver {
  /** Which library this is, for reports and benchmarks: 'bun:sqlite', 'node:sqlite', 'better-sqlite3'. */
  readonly name: string;
  /** Read-write opens create the file if missing; read-only opens never do. */
  open(path: string, options: { readonly: boolean }): SqliteConnection;
  /**
   * The primary result code's name ('SQLITE_BUSY', 'SQLITE_CORRUPT', ...) of an error this driver
   * threw, or undefined when it is not an SQLite error. Drivers disagree on where they put it.
   */
  errorCode(error: unknown): string | undefined;
}

/**
 * For drivers that report the code as a string: 'SQLITE_IOERR_FSYNC' → 'SQLITE_IOERR' (extended
 * codes refine a primary one, and the store only reasons about primary codes).
 */
export function primaryCodeFromName(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return undefined;
  return code.split('_', 2).join('_');
}
