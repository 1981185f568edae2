import type { NodeId, TransportHandler } from '@raftkit/core';
import { isRaftError } from '@raftkit/core';
import type { RequestSigner } from './auth.ts';
import type { Batch } from './batch.ts';
import { parseBatch } from './batch.ts';
import { readBoundedBody } from './body.ts';
import { decodeCbor } from './codec.ts';
import type { TransportMetrics } from './metrics.ts';
import { REJECT_STATUS } from './metrics.ts';
import type { ResolvedOptions } from './options.ts';
import { Rejected } from './rejected.ts';
import { parseChunk } from './snapshot-chunk.ts';
import type { IncomingSnapshots } from './snapshot-receiver.ts';
import type { Route } from './wire.ts';

/**
 * The receiving side of the peer routes. Every request passes the same gate, cheapest check
 * first: auth headers and timestamp (401, before a byte of the body is read), size (413), MAC and
 * replay (401), CBOR and shape (400), addressee (421). Only a request that passes all of them
 * reaches a handler.
 */
export class PeerReceiver {
  constructor(
    private readonly options: ResolvedOptions,
    private readonly signer: RequestSigner,
    private readonly handlers: ReadonlyMap<string, TransportHandler>,
    private readonly snapshots: IncomingSnapshots,
    private readonly metrics: TransportMetrics,
    /** An authenticated request arrived from `from`: it is up, whatever our last send to it said. */
    private readonly heardFrom: (from: NodeId) => void,
    /** The stream of our messages to `from`, opened with the request's nonce; null if it is not a peer. */
    private readonly openStream: (from: NodeId, nonce: string) => Response | null,
  ) {}

  /**
   * A batch of messages. Messages for a group with no handler here are dropped and counted (the
   * group may not be created yet, or already be gone), and the rest of the batch is delivered:
   * refusing the whole request would also lose the other groups' messages.
   */
  messages(request: Request): Promise<Response> {
    return this.respond(async () => {
      const { from, body } = await this.authenticate(request, 'messages');
      this.deliver(from, body);
      this.heardFrom(from);
    });
  }

  /**
   * Validates one batch from the authenticated peer `from` (the body of a request, or a frame
   * of its stream) and hands each group's messages to that group's handler. Throws `Rejected`
   * for a batch that is not valid, before anything of it is delivered.
   */
  deliver(from: NodeId, body: Uint8Array): void {
    const batch = this.addressedBatch(from, body);
    this.metrics.batchesReceived++;
    this.metrics.bytesReceived += body.length;
    for (const { groupId, messages } of batch.groups) {
      const handler = this.handlers.get(groupId);
      if (handler === undefined) {
        this.metrics.droppedUnknownGroup += messages.length;
        continue;
      }
      this.metrics.messagesReceived += messages.length;
      try {
        handler.receive(messages);
      } catch (error) {
        this.metrics.handlerErrors++;
        this.options.logger.warn('handler failed on messages', { groupId, from, error: String(error) });
      }
    }
  }

  /**
   * A peer asks for the stream of our messages to it (stream-reader.ts): once the request passes
   * the gate, `openStream` answers it with the stream, or refuses a sender that is not our peer.
   */
  stream(request: Request): Promise<Response> {
    return this.respond(async () => {
      const { from, body, nonce } = await this.authenticate(request, 'stream');
      const batch = this.addressedBatch(from, body);
      if (batch.groups.length > 0) throw new Rejected('malformed', 'a stream request carries no messages');
      this.heardFrom(from);
      const response = this.openStream(from, nonce);
      if (response === null) throw new Rejected('unknownPeer', `${from} is not a peer of ${this.options.id}`);
      return response;
    });
  }

  /** One chunk of a snapshot transfer; a snapshot for a group not hosted here is refused with 404. */
  snapshot(request: Request): Promise<Response> {
    return this.respond(async () => {
      const { from, body } = await this.authenticate(request, 'snapshot');
      const chunk = parse(() => parseChunk(decodeCbor(body)));
      this.checkAddress(from, chunk.from, chunk.to);
      this.metrics.bytesReceived += body.length;
      await this.snapshots.accept(chunk);
    });
  }

  /** Runs a route: 204 when it returns nothing, its own response when it has one (a stream). */
  private async respond(handle: () => Promise<unknown>): Promise<Response> {
    try {
      const answer = await handle();
      return answer instanceof Response ? answer : new Response(null, { status: 204 });
    } catch (error) {
      if (!(error instanceof Rejected)) throw error;
      this.metrics.rejected[error.reason]++;
      this.options.logger.debug('peer request refused', { reason: error.reason, detail: error.message });
      return Response.json(
        { error: error.reason, message: error.message },
        { status: REJECT_STATUS[error.reason] },
      );
    }
  }

  private async authenticate(
    request: Request,
    route: Route,
  ): Promise<{ from: NodeId; body: Uint8Array; nonce: string }> {
    const checked = this.signer.checkHeaders(request.headers);
    const body = await readBoundedBody(request, this.options.maxBodyBytes);
    await this.signer.verify(route, checked, body);
    return { from: checked.from as NodeId, body, nonce: checked.nonce };
  }

  /** A valid batch from the authenticated `from` to this node, or `Rejected`. */
  private addressedBatch(from: NodeId, body: Uint8Array): Batch {
    const batch = parse(() => parseBatch(decodeCbor(body)));
    this.checkAddress(from, batch.from, batch.to);
    return batch;
  }

  private checkAddress(authenticated: NodeId, from: NodeId, to: NodeId): void {
    if (from !== authenticated)
      throw new Rejected('malformed', `body from ${from} in a request from ${authenticated}`);
    if (to !== this.options.id)
      throw new Rejected('misdirected', `addressed to ${to}, this is ${this.options.id}`);
  }
}

/** Runs a decoder/validator, turning its failures into a 400. */
function parse<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    const detail = isRaftError(error, 'InvalidMessage') ? error.message : `not valid CBOR: ${String(error)}`;
    throw new Rejected('malformed', detail, { cause: error });
  }
}
