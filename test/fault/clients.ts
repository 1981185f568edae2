import type { KvOp, KvResult, Random } from '@raftkit/testkit';
import type { History, OperationRecord, Outcome, ReadMode } from './history.ts';
import type { DelayRange } from './network.ts';

/** A client gives up on a request after this long: the outcome is then unknown. */
const REQUEST_TIMEOUT_MS = 5_000;

/** Where a client can send requests: the nodes' own (client) URLs by id, those in the cluster now. */
export type Targets = () => readonly { readonly id: string; readonly url: string }[];

/**
 * Sends one operation to `url` and records its invocation and completion. What each answer
 * means comes from the API's contract: 503 NoLeader and Busy are refusals before proposing
 * (failed); 504, other 5xx and a connection lost after sending are unknown; a refused
 * connection never reached the node (failed).
 */
export async function perform(
  history: History,
  client: number,
  target: { readonly id: string; readonly url: string },
  op: KvOp,
  mode: ReadMode | null = null,
  timeoutMs = REQUEST_TIMEOUT_MS,
): Promise<OperationRecord> {
  const record = history.invoke(client, target.id, op, mode);
  const path = `${target.url}/v1/kv/${encodeURIComponent(op.key)}`;
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(
      ...((): [string, RequestInit] => {
        switch (op.kind) {
          case 'get':
            return [`${path}?consistency=${mode ?? 'linearizable'}`, { signal }];
          case 'put':
            return [path, { method: 'PUT', body: op.value, signal }];
          case 'delete':
            return [path, { method: 'DELETE', signal }];
          case 'cas':
            return [
              `${path}/cas`,
              { method: 'POST', body: JSON.stringify({ expected: op.expected, value: op.value }), signal },
            ];
        }
      })(),
    );
    const body = await response.text();
    const [outcome, result] = interpret(op, response.status, body);
    history.complete(record, outcome, result, `${response.status} ${errorCode(body) ?? ''}`.trim());
  } catch (error) {
    const code = connectionErrorCode(error);
    history.complete(record, code === 'ECONNREFUSED' ? 'failed' : 'unknown', null, code);
  }
  return record;
}

function interpret(op: KvOp, status: number, body: string): [Outcome, KvResult | null] {
  if (op.kind === 'get') {
    if (status === 200) return ['ok', { kind: 'value', value: body }];
    if (status === 404) return ['ok', { kind: 'value', value: null }];
    // A read that got no value observed nothing: whether it "happened" does not matter.
    return ['failed', null];
  }
  if (status === 200) return ['ok', { kind: 'ok' }];
  const code = errorCode(body);
  if (op.kind === 'cas' && status === 409 && code === 'CasMismatch') {
    return ['ok', { kind: 'casFailed', current: (JSON.parse(body) as { current: string | null }).current }];
  }
  if (status === 503 && (code === 'NoLeader' || code === 'Busy')) return ['failed', null];
  // Refused by validation (400, 413) before anything was proposed; the report lists these.
  if (status >= 400 && status < 500) return ['failed', null];
  return ['unknown', null];
}

function errorCode(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

function connectionErrorCode(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return 'timeout';
  const cause = (error as { cause?: { code?: string } }).cause;
  return cause?.code ?? String(error);
}

export interface WorkloadOptions {
  readonly clients: number;
  /** The few keys every client reads, writes and compares-and-swaps. */
  readonly keys: readonly string[];
  /** Pause between one client's operations, so a 2-core machine keeps up. */
  readonly thinkMs: DelayRange;
}

/**
 * The clients: each loops until `stop` is set, sending one operation at a time to a random
 * node. The mix: linearizable and lease reads, puts and cas on the shared keys (cas expects a
 * value the client saw, or absence), and puts of keys written exactly once, whose presence on
 * every node after healing proves no acknowledged write was lost.
 */
export function runClients(
  options: WorkloadOptions,
  history: History,
  targets: Targets,
  random: (client: number) => Random,
  stop: { stopped: boolean },
): Promise<void>[] {
  return Array.from({ length: options.clients }, async (_, client) => {
    const rng = random(client);
    let written = 0;
    const seen = new Map<string, string | null>();
    while (!stop.stopped) {
      const nodes = targets();
      const target = rng.pick(nodes);
      const key = rng.pick(options.keys);
      const value = `c${client}-${written++}`;
      const roll = rng.float();
      let op: KvOp;
      let mode: ReadMode | null = null;
      if (roll < 0.25) [op, mode] = [{ kind: 'get', key }, 'linearizable'];
      else if (roll < 0.4) [op, mode] = [{ kind: 'get', key }, 'lease'];
      else if (roll < 0.65) op = { kind: 'put', key, value };
      else if (roll < 0.8) op = { kind: 'cas', key, expected: seen.get(key) ?? null, value };
      else op = { kind: 'put', key: `once-c${client}-${written}`, value };
      const record = await perform(history, client, target, op, mode);
      if (record.result?.kind === 'value') seen.set(key, record.result.value);
      if (record.result?.kind === 'casFailed') seen.set(key, record.result.current);
      await new Promise((resolve) => setTimeout(resolve, rng.int(options.thinkMs.min, options.thinkMs.max)));
    }
  });
}
