import { sha256 } from '@noble/hashes/sha2.js';
import type { InstallSnapshot } from '@raftkit/core';
import { index, term } from '@raftkit/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { HttpTransport } from '../src/http-transport.ts';
import type { RejectReason } from '../src/metrics.ts';
import type { SnapshotChunk } from '../src/snapshot-chunk.ts';
import { encodeChunk } from '../src/snapshot-chunk.ts';
import { A, B, patternBytes, peerRequest, RecordingHandler, SECRET } from './support.ts';

const CHUNK = 32 * 1024;
const MAX_SNAPSHOT = 4 * CHUNK;

let receiver: HttpTransport;
let handler: RecordingHandler;

beforeEach(() => {
  receiver = new HttpTransport({
    id: B,
    secret: SECRET,
    maxBodyBytes: 128 * 1024,
    snapshotChunkBytes: CHUNK,
    maxSnapshotBytes: MAX_SNAPSHOT,
    maxIncomingSnapshots: 1,
  });
  handler = new RecordingHandler();
  receiver.register('g1', handler);
});

const meta = {
  index: index(50),
  term: term(2),
  membership: { voters: [A, B], votersOutgoing: [], learners: [] },
};
const offer = { term: term(5), meta };

/** The chunks a correct sender would send for `data`, as a test can then tamper with them. */
function chunksOf(data: Uint8Array, transfer = 't1', groupId = 'g1'): SnapshotChunk[] {
  const chunks: SnapshotChunk[] = [];
  for (let offset = 0; offset === 0 || offset < data.length; offset += CHUNK) {
    const piece = data.subarray(offset, offset + CHUNK);
    const last = offset + CHUNK >= data.length;
    chunks.push({
      from: A,
      to: B,
      groupId,
      transfer,
      offset,
      data: piece,
      offer: offset === 0 ? offer : null,
      end: last ? { size: data.length, sha256: sha256(data) } : null,
    });
  }
  return chunks;
}

const post = async (chunk: SnapshotChunk) =>
  receiver.app.request(await peerRequest(encodeChunk(chunk), { route: 'snapshot' }));

async function expectStatus(chunk: SnapshotChunk, status: number, reason?: RejectReason) {
  const response = await post(chunk);
  expect(response.status).toBe(status);
  if (reason !== undefined) expect(((await response.json()) as { error: string }).error).toBe(reason);
}

describe('receiving a snapshot', () => {
  it('writes chunks as they arrive and hands the core the snapshot only after the last', async () => {
    const data = patternBytes(3 * CHUNK + 10);
    const chunks = chunksOf(data);
    for (const chunk of chunks.slice(0, -1)) await expectStatus(chunk, 204);
    expect(handler.received).toEqual([]);
    await expectStatus(chunks.at(-1)!, 204);
    const expected: InstallSnapshot = {
      type: 'InstallSnapshot',
      from: A,
      to: B,
      term: term(5),
      snapshot: { meta, data },
    };
    expect(handler.received).toEqual([expected]);
    expect(receiver.metrics().snapshots).toMatchObject({ received: 1, bytesReceived: data.length });
  });

  it('refuses a snapshot whose checksum does not match, and aborts the writer', async () => {
    const data = patternBytes(2 * CHUNK);
    const [first, last] = chunksOf(data);
    const corrupted = last!.data.slice();
    corrupted[17]! ^= 0x40;
    await expectStatus(first!, 204);
    await expectStatus({ ...last!, data: corrupted }, 400, 'checksum');
    expect(handler.received).toEqual([]);
    expect(handler.aborted).toHaveLength(1);
  });

  it('refuses a snapshot whose declared size does not match', async () => {
    const [only] = chunksOf(patternBytes(100));
    await expectStatus({ ...only!, end: { ...only!.end!, size: 101 } }, 400, 'checksum');
    expect(handler.received).toEqual([]);
    expect(handler.aborted).toHaveLength(1);
  });

  it('refuses a chunk that skips ahead with 409 and lets the transfer go on', async () => {
    const chunks = chunksOf(patternBytes(3 * CHUNK));
    await expectStatus(chunks[0]!, 204);
    await expectStatus(chunks[2]!, 409, 'snapshotConflict');
    await expectStatus(chunks[1]!, 204);
    await expectStatus(chunks[2]!, 204);
    expect(handler.received).toHaveLength(1);
  });

  it('refuses a chunk of an unknown transfer with 409', async () => {
    const chunks = chunksOf(patternBytes(2 * CHUNK));
    await expectStatus(chunks[1]!, 409, 'snapshotConflict');
  });

  it('lets a new transfer from the same sender supersede an unfinished one', async () => {
    const data = patternBytes(2 * CHUNK, 7);
    const stale = chunksOf(patternBytes(2 * CHUNK, 8), 'old');
    const fresh = chunksOf(data, 'new');
    await expectStatus(stale[0]!, 204);
    await expectStatus(fresh[0]!, 204);
    expect(handler.aborted).toHaveLength(1);
    await expectStatus(stale[1]!, 409, 'snapshotConflict');
    await expectStatus(fresh[1]!, 204);
    expect(handler.received).toHaveLength(1);
    expect((handler.received[0] as InstallSnapshot).snapshot.data).toEqual(data);
  });

  it('refuses a snapshot over the size limit with 413 and aborts it', async () => {
    const chunks = chunksOf(patternBytes(MAX_SNAPSHOT + 1));
    for (const chunk of chunks.slice(0, 4)) await expectStatus(chunk, 204);
    await expectStatus(chunks[4]!, 413, 'tooLarge');
    expect(handler.aborted).toHaveLength(1);
    expect(handler.received).toEqual([]);
  });

  it('refuses a transfer beyond the concurrent limit with 503', async () => {
    receiver.register('g2', new RecordingHandler());
    await expectStatus(chunksOf(patternBytes(2 * CHUNK))[0]!, 204);
    await expectStatus(chunksOf(patternBytes(2 * CHUNK), 't2', 'g2')[0]!, 503, 'busy');
  });

  it('refuses a snapshot for a group not hosted here with 404', async () => {
    await expectStatus(chunksOf(patternBytes(10), 't1', 'nope')[0]!, 404, 'unknownGroup');
  });

  it('refuses a first chunk without an offer, and an offer after the first chunk, with 400', async () => {
    const [first, second] = chunksOf(patternBytes(2 * CHUNK));
    await expectStatus({ ...first!, offer: null }, 400, 'malformed');
    await expectStatus({ ...second!, offer }, 400, 'malformed');
  });

  it('answers 500 and aborts when the writer fails', async () => {
    receiver.unregister('g1');
    const aborted: string[] = [];
    receiver.register('g1', {
      receive() {},
      createSnapshot: async () => ({
        write: async () => {
          throw new Error('ENOSPC');
        },
        commit: async () => ({ meta, data: new Uint8Array(0) }),
        abort: async () => {
          aborted.push('aborted');
        },
      }),
    });
    await expectStatus(chunksOf(patternBytes(10))[0]!, 500, 'sinkError');
    expect(aborted).toEqual(['aborted']);
  });

  it('aborts open transfers on close', async () => {
    await expectStatus(chunksOf(patternBytes(2 * CHUNK))[0]!, 204);
    await receiver.close();
    expect(handler.aborted).toHaveLength(1);
  });
});
