import { describe, expect, it } from 'vitest';
import type { HistoryEvent } from './history.ts';
import { type KvOp, type KvResult, registerModel } from './kv-model.ts';
import { checkModel, type Model } from './model.ts';

/** A second model, to show the search is not tied to key-value stores: named FIFO queues. */
type QueueOp = { readonly queue: string } & (
  | { readonly kind: 'enqueue'; readonly item: number }
  | { readonly kind: 'dequeue' }
);
/** A dequeue answers the item or null when empty; an enqueue answers null; undefined means no answer came. */
type QueueResult = number | null | undefined;
type QueueEvent = HistoryEvent<QueueOp, QueueResult>;

const queueModel: Model<readonly number[], QueueOp, QueueResult> = {
  init: () => [],
  step(items, op, result) {
    if (op.kind === 'enqueue') return [true, [...items, op.item]];
    const head = items[0] ?? null;
    return [result === undefined || result === head, items.slice(1)];
  },
  hashState: (items) => items.join(','),
  partition(history) {
    const queues = [...new Set(history.map((event) => event.op.queue))].sort();
    return queues.map((queue) => history.filter((event) => event.op.queue === queue));
  },
};

const event = (
  op: QueueOp,
  invokedAt: number,
  respondedAt: number | null,
  result: QueueResult,
): QueueEvent => ({
  clientId: 0,
  op,
  invokedAt,
  respondedAt,
  result,
});
const enqueue = (queue: string, item: number, from: number, to: number | null) =>
  event({ queue, kind: 'enqueue', item }, from, to, to === null ? undefined : null);
const dequeue = (queue: string, from: number, to: number, result: number | null) =>
  event({ queue, kind: 'dequeue' }, from, to, result);

describe('checkModel', () => {
  it('accepts a FIFO history whose concurrent enqueues can be ordered to match the dequeues', () => {
    const history = [
      enqueue('q', 1, 0, 10),
      enqueue('q', 2, 0, 10),
      dequeue('q', 11, 12, 2),
      dequeue('q', 13, 14, 1),
    ];
    expect(checkModel(queueModel, history)).toEqual({ ok: true });
  });

  it('rejects items dequeued out of order and reports the failing partition, prefix and stuck events', () => {
    const first = enqueue('p', 1, 0, 1);
    const second = enqueue('p', 2, 2, 3);
    const outOfOrder = dequeue('p', 4, 5, 2);
    const history = [enqueue('a', 7, 0, 1), dequeue('a', 2, 3, 7), first, second, outOfOrder];
    expect(checkModel(queueModel, history)).toEqual({
      ok: false,
      partition: 1,
      longestPrefix: [first, second],
      stuck: [outOfOrder],
    });
  });

  it('lets an enqueue without an answer explain a dequeue, or stay out', () => {
    expect(checkModel(queueModel, [enqueue('q', 5, 0, null), dequeue('q', 3, 4, 5)]).ok).toBe(true);
    expect(checkModel(queueModel, [enqueue('q', 5, 0, null), dequeue('q', 3, 4, null)]).ok).toBe(true);
    expect(checkModel(queueModel, [enqueue('q', 5, 5, null), dequeue('q', 3, 4, 5)]).ok).toBe(false);
  });

  it('checks the whole history as one part without a partition function', () => {
    const { partition: _, ...single } = queueModel;
    const history = [enqueue('a', 1, 0, 1), dequeue('b', 2, 3, 1)];
    expect(checkModel(single, history).ok).toBe(true);
    expect(checkModel(queueModel, history).ok).toBe(false);
  });
});

describe('checkModel with unknown outcomes', () => {
  it('ignores an unanswered operation that changes nothing, even between a write and its reader', () => {
    const put = {
      clientId: 1,
      op: { kind: 'put', key: 'k', value: 'a' },
      invokedAt: 0,
      respondedAt: 1,
    } as const;
    const history: HistoryEvent<KvOp, KvResult>[] = [
      { ...put, result: { kind: 'ok' } },
      {
        clientId: 2,
        op: { kind: 'get', key: 'k' },
        invokedAt: 2,
        respondedAt: null,
        result: { kind: 'unknown' },
      },
      {
        clientId: 3,
        op: { kind: 'get', key: 'k' },
        invokedAt: 3,
        respondedAt: 4,
        result: { kind: 'value', value: 'a' },
      },
    ];
    expect(checkModel(registerModel(null), history)).toEqual({ ok: true });
  });
});
