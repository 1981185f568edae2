import { sha256 } from '@noble/hashes/sha2.js';
import type { IncomingSnapshotWriter, InstallSnapshot, SnapshotOffer, TransportHandler } from '@raftkit/core';
import type { TransportMetrics } from './metrics.ts';
import type { ResolvedOptions } from './options.ts';
import { Rejected } from './rejected.ts';
import type { SnapshotChunk } from './snapshot-chunk.ts';

/** One snapshot streaming in from one sender for one group. */
interface Transfer {
  readonly id: string;
  readonly offer: SnapshotOffer;
  readonly hash: ReturnType<typeof sha256.create>;
  writer: IncomingSnapshotWriter | null;
  /** Bytes written so far: the offset the next chunk must start at. */
  offset: number;
  /** A chunk is being written; a concurrent one for the same transfer is refused. */
  busy: boolean;
  /** `performance.now()` of the last chunk, to abort transfers whose sender went away. */
  lastActivity: number;
}

/**
 * The receiving half of snapshot streaming: each chunk is checked against the transfer in
 * progress for its sender and group and written to the group's writer as it arrives. Only when
 * the size and SHA-256 of the whole match what the sender declared is the writer committed and
 * the core handed an InstallSnapshot; any failure aborts the writer, so a half-received or
 * corrupt snapshot never takes effect.
 */
export class IncomingSnapshots {
  /** Keyed by group and sender: a newer transfer from the same sender supersedes an older one. */
  private readonly transfers = new Map<string, Transfer>();

  constructor(
    private readonly options: ResolvedOptions,
    private readonly handlers: ReadonlyMap<string, TransportHandler>,
    private readonly metrics: TransportMetrics,
  ) {}

  async accept(chunk: SnapshotChunk): Promise<void> {
    const handler = this.handlers.get(chunk.groupId);
    if (handler === undefined) throw new Rejected('unknownGroup', `no group ${chunk.groupId} here`);
    await this.abortIdle();
    const key = `${chunk.groupId}\u0000${chunk.from}`;
    const transfer = await this.transferFor(key, chunk, handler);
    try {
      await this.write(transfer, chunk);
      if (chunk.end !== null) await this.finish(key, transfer, chunk.end, handler);
    } catch (error) {
      this.transfers.delete(key);
      await this.discard(transfer);
      throw error instanceof Rejected ? error : new Rejected('sinkError', String(error), { cause: error });
    } finally {
      transfer.busy = false;
      transfer.lastActivity = performance.now();
    }
  }

  /** Aborts every transfer in progress (the transport is closing). */
  async close(): Promise<void> {
    const open = [...this.transfers.values()];
    this.transfers.clear();
    await Promise.all(open.map((t) => this.discard(t)));
  }

  /** Starts a transfer on its first chunk, or finds the one this chunk continues; marks it busy. */
  private async transferFor(key: string, chunk: SnapshotChunk, handler: TransportHandler): Promise<Transfer> {
    const current = this.transfers.get(key);
    if (chunk.offer === null) {
      if (
        current === undefined ||
        current.id !== chunk.transfer ||
        current.busy ||
        current.offset !== chunk.offset
      ) {
        throw new Rejected(
          'snapshotConflict',
          `chunk at ${chunk.offset} does not continue a transfer in progress`,
        );
      }
      current.busy = true;
      return current;
    }
    if (current !== undefined) {
      if (current.busy) throw new Rejected('snapshotConflict', 'the previous transfer is still writing');
      this.transfers.delete(key);
      await this.discard(current);
    }
    if (this.transfers.size >= this.options.maxIncomingSnapshots) {
      throw new Rejected('busy', `${this.transfers.size} snapshot transfers already in progress`);
    }
    const offer: SnapshotOffer = {
      from: chunk.from,
      to: chunk.to,
      term: chunk.offer.term,
      meta: chunk.offer.meta,
    };
    const transfer: Transfer = {
      id: chunk.transfer,
      offer,
      hash: sha256.create(),
      writer: null,
      offset: 0,
      busy: true,
      lastActivity: performance.now(),
    };
    // Registered before the await, so a racing first chunk from the same sender sees it busy.
    this.transfers.set(key, transfer);
    try {
      transfer.writer = await handler.createSnapshot(offer);
    } catch (error) {
      this.transfers.delete(key);
      throw new Rejected('sinkError', `createSnapshot failed: ${String(error)}`, { cause: error });
    }
    return transfer;
  }

  private async write(transfer: Transfer, chunk: SnapshotChunk): Promise<void> {
    if (transfer.offset + chunk.data.length > this.options.maxSnapshotBytes) {
      throw new Rejected('tooLarge', `snapshot exceeds ${this.options.maxSnapshotBytes} bytes`);
    }
    transfer.hash.update(chunk.data);
    await transfer.writer!.write(chunk.data);
    transfer.offset += chunk.data.length;
    this.metrics.snapshots.bytesReceived += chunk.data.length;
  }

  private async finish(
    key: string,
    transfer: Transfer,
    end: NonNullable<SnapshotChunk['end']>,
    handler: TransportHandler,
  ): Promise<void> {
    if (end.size !== transfer.offset || !equalBytes(transfer.hash.digest(), end.sha256)) {
      throw new Rejected(
        'checksum',
        `snapshot of ${transfer.offset} bytes does not match its declared size or SHA-256`,
      );
    }
    const snapshot = await transfer.writer!.commit();
    this.transfers.delete(key);
    this.metrics.snapshots.received++;
    const { from, to, term } = transfer.offer;
    const message: InstallSnapshot = { type: 'InstallSnapshot', from, to, term, snapshot };
    try {
      handler.receive([message]);
    } catch (error) {
      this.metrics.handlerErrors++;
      this.options.logger.warn('handler failed on a snapshot', { from, error: String(error) });
    }
  }

  /** Aborts transfers that saw no chunk for `snapshotIdleTimeoutMs`: their sender gave up or died. */
  private async abortIdle(): Promise<void> {
    const now = performance.now();
    for (const [key, transfer] of this.transfers) {
      if (!transfer.busy && now - transfer.lastActivity > this.options.snapshotIdleTimeoutMs) {
        this.transfers.delete(key);
        await this.discard(transfer);
      }
    }
  }

  private async discard(transfer: Transfer): Promise<void> {
    try {
      await transfer.writer?.abort();
    } catch (error) {
      this.options.logger.warn('aborting a snapshot writer failed', {
        from: transfer.offer.from,
        error: String(error),
      });
    }
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
