import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Network } from './network.ts';

/** The header naming the sending peer on every signed peer request (raft messages and forwarded proposals). */
const FROM_HEADER = 'x-raftkit-from';
/** A dropped request is held this long before its connection is reset, as a lossy link times out. */
const DROP_HOLD_MS = 300;

/**
 * One node's peer address as every other node sees it: an HTTP proxy in front of the node's real
 * port that asks the {@link Network} what to do with each request, by the sender its
 * `x-raftkit-from` header names. Dropped requests are held, then their connection is reset, so
 * the sender sees what a real lost packet causes: no answer, then an error. Requests that name no
 * sender (a joining node's first call goes to a member's own port, not here) pass untouched.
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
      const fate = typeof from === 'string' ? network.route(from, to) : { drop: false as const, delayMs: 0 };
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
            answer.pipe(outgoing);
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
