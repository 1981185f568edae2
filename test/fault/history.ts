import type { KvEvent, KvOp, KvResult } from '@raftkit/testkit';

/** How a read asked to be served; both modes claim linearizability, so both are checked. */
export type ReadMode = 'linearizable' | 'lease';

/**
 * ok: it happened (a read's value, an applied write, a cas that found another value).
 * failed: it definitely did not happen (refused before proposing, connection refused).
 * unknown: it may have happened (timeout, 504, connection lost after sending).
 */
export type Outcome = 'ok' | 'failed' | 'unknown';

export interface OperationRecord {
  readonly client: number;
  /** The node the request went to. */
  readonly node: string;
  readonly op: KvOp;
  readonly mode: ReadMode | null;
  readonly invokedAt: number;
  completedAt: number | null;
  outcome: Outcome | null;
  result: KvResult | null;
  /** HTTP status, or the connection error's code, for the report. */
  detail: string;
}

/**
 * Every operation's invocation and completion as the clients saw them, with the node each went
 * to, on one monotonic clock (milliseconds since the run started).
 */
export class History {
  readonly records: OperationRecord[] = [];

  constructor(readonly clock: () => number) {}

  invoke(client: number, node: string, op: KvOp, mode: ReadMode | null = null): OperationRecord {
    const record: OperationRecord = {
      client,
      node,
      op,
      mode,
      invokedAt: this.clock(),
      completedAt: null,
      outcome: null,
      result: null,
      detail: '',
    };
    this.records.push(record);
    return record;
  }

  complete(record: OperationRecord, outcome: Outcome, result: KvResult | null, detail: string): void {
    record.completedAt = this.clock();
    record.outcome = outcome;
    record.result = outcome === 'unknown' ? { kind: 'unknown' } : result;
    record.detail = detail;
  }

  /**
   * The history the checker sees: failed operations left out (they did not happen), unknown ones
   * without a response time (they may take effect at any later moment, or never), and operations
   * still running at the end counted as unknown.
   */
  checkable(): KvEvent[] {
    const events: KvEvent[] = [];
    for (const record of this.records) {
      if (record.outcome === 'failed') continue;
      const settled = record.outcome === 'ok' && record.result !== null;
      events.push({
        clientId: record.client,
        op: record.op,
        invokedAt: record.invokedAt,
        respondedAt: settled ? record.completedAt : null,
        result: settled ? record.result! : { kind: 'unknown' },
      });
    }
    return events;
  }

  /** Why operations failed or ended unknown: `{ failed: { '503 NoLeader': 12, ... }, ... }`. */
  reasons(): Record<'failed' | 'unknown', Map<string, number>> {
    const reasons = { failed: new Map<string, number>(), unknown: new Map<string, number>() };
    for (const record of this.records) {
      if (record.outcome !== 'failed' && record.outcome !== 'unknown') continue;
      const counts = reasons[record.outcome];
      counts.set(record.detail, (counts.get(record.detail) ?? 0) + 1);
    }
    return reasons;
  }

  counts(): Record<Outcome | 'running', number> {
    const counts = { ok: 0, failed: 0, unknown: 0, running: 0 };
    for (const record of this.records) counts[record.outcome ?? 'running']++;
    return counts;
  }
}
