import type { Logger } from '@raftkit/core';

/** The lowest level a server log writes; lines below it are dropped. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
/** `json`: one JSON object a line, for log shippers; `pretty`: aligned text for a person at a terminal. */
export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  readonly level: LogLevel;
  readonly format: LogFormat;
  readonly write: (line: string) => void;
  /** Fields on every line, e.g. the node id. */
  readonly base?: Record<string, unknown>;
  /** A warning repeated within this window is counted, not written, and the count rides on the next one written. Default 10 s. */
  readonly repeatWindowMs?: number;
  readonly now?: () => number;
}

const rank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/**
 * The server's one logger, handed to the driver (and through it the core), the transport and the
 * store. Lines are an event name plus fields, as etcd's are (`leader changed {from, to, term}`).
 * Warnings repeat when a peer stays down or a client keeps sending garbage: the same warning is
 * written at most once per window, with how many were held back.
 */
export function createLogger(options: LoggerOptions): Logger {
  const { level, format, write, base = {}, repeatWindowMs = 10_000, now = Date.now } = options;
  const lastWarned = new Map<string, { at: number; held: number }>();
  const emit = (at: LogLevel, message: string, fields: Record<string, unknown> = {}) => {
    if (rank[at] < rank[level]) return;
    let extra: Record<string, unknown> = {};
    if (at === 'warn') {
      const time = now();
      // One peer staying down must not hide another one going down: the peer is part of the key.
      const key = typeof fields.peer === 'string' ? `${message}\u0000${fields.peer}` : message;
      const seen = lastWarned.get(key);
      if (seen !== undefined && time - seen.at < repeatWindowMs) {
        seen.held++;
        return;
      }
      if (seen !== undefined && seen.held > 0) extra = { repeated: seen.held };
      lastWarned.set(key, { at: time, held: 0 });
    }
    const record = { ...base, ...fields, ...extra };
    const time = new Date(now()).toISOString();
    write(format === 'json' ? jsonLine(time, at, message, record) : prettyLine(time, at, message, record));
  };
  return {
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
  };
}

function jsonLine(time: string, level: LogLevel, msg: string, fields: Record<string, unknown>): string {
  return JSON.stringify({ time, level, msg, ...fields }, (_key, value) =>
    value instanceof Error ? value.message : typeof value === 'bigint' ? String(value) : value,
  );
}

function prettyLine(time: string, level: LogLevel, msg: string, fields: Record<string, unknown>): string {
  const pairs = Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(
      ([key, value]) =>
        `${key}=${typeof value === 'string' && !/\s/.test(value) ? value : JSON.stringify(value)}`,
    );
  return `${time} ${level.toUpperCase().padEnd(5)} ${msg}${pairs.length > 0 ? ` ${pairs.join(' ')}` : ''}`;
}
