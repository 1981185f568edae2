import type { SqliteDriver } from './driver.ts';

/** The only place that asks which runtime this is. */
export type Runtime = 'bun' | 'deno' | 'node';

export function currentRuntime(): Runtime {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  if (g.Bun !== undefined) return 'bun';
  if (g.Deno !== undefined) return 'deno';
  return 'node';
}

let selected: Promise<SqliteDriver> | undefined;

/**
 * The runtime's own SQLite where it has one (`bun:sqlite`, `node:sqlite` on Deno and Node 22.5+),
 * better-sqlite3 otherwise. Each driver module is imported only when chosen.
 */
export function sqliteDriver(): Promise<SqliteDriver> {
  selected ??= pick();
  return selected;
}

async function pick(): Promise<SqliteDriver> {
  switch (currentRuntime()) {
    case 'bun':
      return (await import('./bun.ts')).loadBunDriver();
    case 'deno':
      return (await import('./node-sqlite.ts')).loadNodeSqliteDriver();
    case 'node': {
      try {
        return await (await import('./node-sqlite.ts')).loadNodeSqliteDriver();
      } catch {
        return (await import('./better-sqlite3.ts')).loadBetterSqlite3Driver();
      }
    }
  }
}
