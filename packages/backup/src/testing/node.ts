import type { Entry, NodeId, Transport } from '@raftkit/core';
import { RaftNode, type StateMachine } from '@raftkit/node';
import type { BackupMetadataSource } from '../export.ts';

/** A state machine whose state is every command applied, end to end, and a count of them. */
export class LogStateMachine implements StateMachine, BackupMetadataSource {
  state: Uint8Array = new Uint8Array(0);

  apply(entry: Entry): number {
    const next = new Uint8Array(this.state.length + entry.data.length);
    next.set(this.state);
    next.set(entry.data, this.state.length);
    this.state = next;
    return next.length;
  }
  snapshot(): Uint8Array {
    return this.state.slice();
  }
  restore(data: Uint8Array): void {
    this.state = data.slice();
  }
  backupMetadata() {
    let bytes = 0;
    return {
      update: (chunk: Uint8Array) => {
        bytes += chunk.length;
      },
      digest: () => ({ bytes }),
    };
  }
}

/** A transport for a node with no peers: nothing to send, nothing arrives. */
export const loneTransport = (): Transport => ({
  send() {},
  register() {},
  unregister() {},
  setPeer() {},
  removePeer() {},
  close: async () => {},
});

/** Starts a single-member node on `storage` and waits until it leads. */
export async function startAlone(
  options: Omit<Parameters<typeof RaftNode.start>[0], 'transport' | 'tickMs'>,
) {
  const node = await RaftNode.start({ ...options, transport: loneTransport(), tickMs: 5 });
  await new Promise<void>((ready) => {
    if (node.status().leader === options.id) return ready();
    const off = node.on('leader', ({ leader }) => {
      if (leader === (options.id as NodeId)) {
        off();
        ready();
      }
    });
  });
  return node;
}
