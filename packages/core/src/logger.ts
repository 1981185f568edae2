/**
 * A pluggable logger: an event name and structured fields, never a preformatted line. The core
 * logs role changes and rejected input; it never logs per entry. `error` is for what stops a node.
 */
export interface Logger {
  /** Detail for debugging a single node (every message, every state change); off in production. */
  debug(message: string, fields?: Record<string, unknown>): void;
  /** Events an operator wants in the log: leader changes, membership changes, snapshots. */
  info(message: string, fields?: Record<string, unknown>): void;
  /** Something went wrong that the node recovers from by itself (a peer unreachable, a message refused). */
  warn(message: string, fields?: Record<string, unknown>): void;
  /** Something went wrong that needs a person: the node may stop or lose availability. */
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Drops every line: the default wherever no logger is given, so libraries never write to the console. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
