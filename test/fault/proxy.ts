import {
  Agent,
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Network } from './network.ts';

/** The header naming the sending peer on every signed peer request. */
const FROM_HEADER = 'x-raftkit-from';
/** Where a peer opens the stream of a node's messages to it (the transport's `STREAM_PATH`). */
const STREAM_PATH = '/raft/v1/stream';
/** A dropped request is held this long before its connection is reset, as a lossy link times out. */
const DROP_HOLD_MS = 300;

/**
 * One node's peer address as every other node sees it: an HTTP proxy in front of the node's real
 * port that asks the {@link Network} what to do with each request, by the sender its
 * `x-raftkit-from` header names. Dropped requests are held, then their connection is reset, so
 * the sender sees what a real lost packet causes: no answer, then an error. Requests that name no
 * sender (a joining node's first call goes to a member's own port, not here) pass untouched.
 * A message stream is judged again for every chunk it carries (see `relayStream`), since it
 * outlives any one fault.
 */
export class PeerProxy {
  readonly #server: Server;
  readonly #agent: Agent;

  private constructor(
    server: Server,
    agent: Agent,
    readonly port: number,
  ) {
    this.#server = server;
    this.#agent = agent;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(to: string, targetPort: number, network: Network): Promise<PeerProxy> {
    const agent = new Agent({ keepAlive: true, maxSockets: 32 });
    const server = createServer((incoming, outgoing) => {
      const from = incoming.headers[FROM_HEADER];
      // A stream's request comes from the peer that reads it: its data flows `to → from`.
      const stream = incoming.url === STREAM_PATH && typeof from === 'string';
      const fate =
        typeof from !== 'string'
          ? { drop: false as const, delayMs: 0 }
          : stream
            ? network.route(to, from)
            : network.route(from, to);
      if (fate.drop) {
        incoming.resume();
        setTimeout(() => incoming.socket.destroy(), DROP_HOLD_MS);
        return;
      }
      const forward = () => {
        const upstream = request(
          {
            host: '127.0.0.1',
            port: targetPort,
            method: incoming.method,
            path: incoming.url,
            headers: incoming.headers,
            agent,
          },
          (answer) => {
            outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
            if (stream) relayStream(answer, outgoing, () => network.streamRoute(to, from));
            else answer.pipe(outgoing);
          },
        );
        // The node is down or was killed mid-request: the sender sees its connection reset.
        upstream.on('error', () => incoming.socket.destroy());
        incoming.pipe(upstream);
      };
      if (fate.delayMs > 0) {
        incoming.pause();
        setTimeout(forward, fate.delayMs);
      } else {
        forward();
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return new PeerProxy(server, agent, (server.address() as AddressInfo).port);
  }

  close(): Promise<void> {
    this.#agent.destroy();
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

/**
 * Relays a message stream chunk by chunk, asking `fate` for each: delayed chunks keep their order
 * (a TCP stream reorders nothing), and a cut link resets both connections, as a partition breaks
 * a connection that was open before it.
 */
function relayStream(
  answer: IncomingMessage,
  outgoing: ServerResponse,
  fate: () => { readonly cut: true } | { readonly cut: false; readonly delayMs: number },
): void {
  let due = 0;
  const reset = () => {
    answer.destroy();
    outgoing.destroy();
  };
  answer.on('data', (chunk: Buffer) => {
    const next = fate();
    if (next.cut) return reset();
    due = Math.max(due, Date.now() + next.delayMs);
    const wait = due - Date.now();
    if (wait <= 0) outgoing.write(chunk);
    else setTimeout(() => outgoing.destroyed || outgoing.write(chunk), wait);
  });
  answer.once('end', () => setTimeout(() => outgoing.end(), Math.max(0, due - Date.now())));
  answer.once('error', reset);
  outgoing.once('close', () => answer.destroy());
}
