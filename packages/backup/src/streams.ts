/** Web streams are async iterable on Node 20, Bun and Deno; this names the input we accept. */
export type ByteSource = ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

/**
 * A pull-based `ReadableStream` over an async generator: the generator runs only as fast as the
 * consumer reads, which is what keeps memory bounded end to end. Cancelling stops the generator.
 */
export function toReadableStream(chunks: AsyncGenerator<Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const next = await chunks.next();
        if (next.done === true) controller.close();
        else controller.enqueue(next.value);
      },
      async cancel() {
        await chunks.return(undefined);
      },
    },
    { highWaterMark: 0 },
  );
}
