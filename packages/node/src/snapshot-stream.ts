import type { StateMachine } from './options.ts';

/** What `StateMachine.snapshot` returns, in any of its forms. */
export type StateSnapshot = ReturnType<StateMachine['snapshot']>;

/** True for the chunked form: a capture serialized while entries keep applying. */
export function isSnapshotStream(taken: StateSnapshot): taken is AsyncIterable<Uint8Array> {
  return typeof (taken as Partial<AsyncIterable<Uint8Array>>)[Symbol.asyncIterator] === 'function';
}

/** The whole snapshot in one array, whichever form `StateMachine.snapshot` returned. */
export async function snapshotBytes(taken: StateSnapshot): Promise<Uint8Array> {
  if (!isSnapshotStream(taken)) return taken;
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of taken) {
    chunks.push(chunk);
    size += chunk.byteLength;
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}
