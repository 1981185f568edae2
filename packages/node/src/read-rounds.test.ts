import type { ReadMode } from '@raftkit/core';
import { describe, expect, it } from 'vitest';
import { ReadRounds } from './read-rounds.ts';

function rounds() {
  const asked: [number, ReadMode][] = [];
  const r = new ReadRounds((id, mode) => asked.push([id, mode]), 100);
  return { r, asked };
}

describe('ReadRounds', () => {
  it('holds quorum reads while a batch is out and sends them together once it is answered', () => {
    const { r, asked } = rounds();
    r.request(1, 'quorum', 0);
    r.request(2, 'quorum', 1);
    r.request(3, 'quorum', 2);
    expect(asked).toEqual([[1, 'quorum']]);
    r.answered(1, 5);
    expect(asked).toEqual([
      [1, 'quorum'],
      [2, 'quorum'],
      [3, 'quorum'],
    ]);
    // The batch of 2 and 3 is out until both are answered.
    r.request(4, 'quorum', 6);
    r.answered(2, 7);
    expect(asked).toHaveLength(3);
    r.answered(3, 8);
    expect(asked.at(-1)).toEqual([4, 'quorum']);
  });

  it('lets lease reads and retries of a read in flight through at once', () => {
    const { r, asked } = rounds();
    r.request(1, 'quorum', 0);
    r.request(2, 'lease', 0);
    r.request(1, 'quorum', 50);
    expect(asked).toEqual([
      [1, 'quorum'],
      [2, 'lease'],
      [1, 'quorum'],
    ]);
  });

  it('gives up on an unanswered batch after its patience and sends what it held', () => {
    const { r, asked } = rounds();
    r.request(1, 'quorum', 0);
    r.request(2, 'quorum', 10);
    r.tick(99);
    expect(asked).toHaveLength(1);
    r.tick(100);
    expect(asked).toEqual([
      [1, 'quorum'],
      [2, 'quorum'],
    ]);
    // A late answer of the abandoned batch does not release anything early.
    r.request(3, 'quorum', 101);
    r.answered(1, 102);
    expect(asked).toHaveLength(2);
    r.answered(2, 103);
    expect(asked.at(-1)).toEqual([3, 'quorum']);
  });
});
