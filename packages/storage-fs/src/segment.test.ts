import { describe, expect, it } from 'vitest';
import type { FileOps } from './fs-ops.ts';
import { Segment } from './segment.ts';

/** A segment whose file and unlink record what storage does with them, in order. */
function recordedSegment(): { segment: Segment; calls: string[]; unlink: () => Promise<void> } {
  const calls: string[] = [];
  const record = (call: string) => async () => {
    calls.push(call);
  };
  const file: FileOps = {
    read: async () => 0,
    write: record('write'),
    sync: record('sync'),
    datasync: record('datasync'),
    truncate: record('truncate'),
    size: async () => 0,
    close: record('close'),
  };
  return { segment: new Segment(1, 'wal-1', file, 100, 4096), calls, unlink: record('unlink') };
}

describe('Segment', () => {
  it('closes a deleted segment nobody reads before unlinking it, so the unlink frees its blocks', async () => {
    const { segment, calls, unlink } = recordedSegment();
    await segment.retire(unlink);
    expect(calls).toEqual(['close', 'unlink']);
  });

  it('unlinks a segment being read at once and closes it when its last reader is done', async () => {
    const { segment, calls, unlink } = recordedSegment();
    segment.retain();
    segment.retain();
    await segment.retire(unlink);
    expect(calls).toEqual(['unlink']);
    await segment.release();
    expect(calls).toEqual(['unlink']);
    await segment.release();
    expect(calls).toEqual(['unlink', 'close']);
  });

  it('only closes a segment retired as the store closes', async () => {
    const { segment, calls } = recordedSegment();
    await segment.retire();
    expect(calls).toEqual(['close']);
  });

  it('leaves a live segment open when its readers are done', async () => {
    const { segment, calls } = recordedSegment();
    segment.retain();
    await segment.release();
    expect(calls).toEqual([]);
  });
});
