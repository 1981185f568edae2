import type {
  IncomingSnapshotWriter,
  SnapshotMeta,
  SnapshotOffer,
  Storage,
  TransportHandler,
} from '@raftkit/core';
import { isStorageError } from '@raftkit/core';

const sameSnapshot = (a: SnapshotMeta | null, b: SnapshotMeta) =>
  a !== null && a.index === b.index && a.term === b.term;

/**
 * The transport's snapshot hooks, wired to storage so snapshots stream in chunks instead of
 * travelling whole in a message.
 *
 * A storage failure while receiving is fatal like any other (`onStorageFailure`), except
 * `InvalidArgument`: that is storage refusing a snapshot older than the one it holds, which only
 * aborts this transfer (the core carries on, and the leader sends what is needed next).
 */
export function snapshotHooks(
  storage: Storage,
  onStorageFailure: (error: unknown) => void,
  onReceived: () => void,
): Required<Pick<TransportHandler, 'readSnapshot' | 'createSnapshot'>> {
  const checked = async <T>(work: Promise<T>): Promise<T> => {
    try {
      return await work;
    } catch (error) {
      if (!isStorageError(error, 'InvalidArgument')) onStorageFailure(error);
      throw error;
    }
  };

  return {
    async *readSnapshot(meta: SnapshotMeta, chunkBytes: number): AsyncIterable<Uint8Array> {
      // The core may describe a snapshot we have since replaced; streaming the newer one under the
      // old metadata would corrupt the follower, so this transfer fails and the core sends again.
      const stored = storage.snapshotMeta();
      if (!sameSnapshot(stored, meta)) {
        throw new Error(`snapshot ${meta.index}/${meta.term} is no longer the stored one`);
      }
      yield* storage.readSnapshot(chunkBytes);
    },

    async createSnapshot(offer: SnapshotOffer): Promise<IncomingSnapshotWriter> {
      const writer = await checked(storage.createSnapshot(offer.meta));
      return {
        write: (chunk) => checked(writer.write(chunk)),
        async commit() {
          await checked(writer.commit());
          const snapshot = await checked(storage.loadSnapshot());
          if (snapshot === null || !sameSnapshot(snapshot.meta, offer.meta)) {
            // Our own snapshot policy stored a newer one meanwhile: this one is moot.
            throw new Error(
              `snapshot ${offer.meta.index}/${offer.meta.term} was superseded while it arrived`,
            );
          }
          onReceived();
          return snapshot;
        },
        abort: () => writer.abort(),
      };
    },
  };
}
