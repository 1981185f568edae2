import { checkLinearizable, type KvEvent, renderKvEvent } from '@raftkit/testkit';
import { statusOf } from './cluster-view.ts';
import type { History, OperationRecord } from './history.ts';
import type { FaultEvent } from './nemesis.ts';
import type { SupervisedNode, SupervisorEvent } from './supervisor.ts';

/** Faults this close to the failing window are shown with it, in ms. */
const FAULT_MARGIN_MS = 3_000;
const LIST_PAGE = 1000;
/** Reads in flight at once per node while its key space is read. */
const DUMP_IN_FLIGHT = 32;

/** One node's whole key space, read locally once it has applied everything. */
async function dump(node: SupervisedNode): Promise<Map<string, string>> {
  const state = new Map<string, string>();
  let after: string | null = null;
  for (;;) {
    const query = new URLSearchParams({ consistency: 'stale', limit: String(LIST_PAGE) });
    if (after !== null) query.set('after', after);
    const page = (await (
      await fetch(`${node.process.url}/v1/kv?${query}`, { signal: AbortSignal.timeout(10_000) })
    ).json()) as {
      keys: string[];
      next: string | null;
    };
    // A few reads at a time, not a page's thousand at once: in a 10-minute run (seed 7) that
    // many sockets made reads fail ("fetch failed", cause not recorded) on two nodes that had
    // just answered their status and converged.
    for (let at = 0; at < page.keys.length; at += DUMP_IN_FLIGHT) {
      const values = await Promise.all(
        page.keys.slice(at, at + DUMP_IN_FLIGHT).map(async (key) => {
          const response = await fetch(
            `${node.process.url}/v1/kv/${encodeURIComponent(key)}?consistency=stale`,
          );
          return [key, await response.text()] as const;
        }),
      );
      for (const [key, value] of values) state.set(key, value);
    }
    if (page.next === null) return state;
    after = page.next;
  }
}

/** Waits until every node has applied the same index and it stays there (no write is in flight). */
async function quiesce(nodes: readonly SupervisedNode[], ms: number): Promise<string | null> {
  const deadline = performance.now() + ms;
  let last = '';
  let previous = '';
  while (performance.now() < deadline) {
    const statuses = await Promise.all(nodes.map((node) => statusOf(node)));
    last = statuses
      .map(
        (status, i) =>
          `${nodes[i]!.id}: ${status === undefined ? 'no answer' : `applied ${status.appliedIndex}, leader ${status.leader}`}`,
      )
      .join('; ');
    const applied = statuses.map((status) => status?.appliedIndex ?? -1);
    if (applied.every((index) => index >= 0 && index === applied[0]) && last === previous) return null;
    previous = last;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return `nodes did not converge on one applied index within ${ms} ms: ${last}`;
}

export interface CheckReport {
  readonly failures: string[];
  readonly checkerMs: number;
  readonly linearizable: boolean | 'unknown';
}

/**
 * The verdict after healing: every node back and converged on the same state, every write the
 * clients were told happened present in it and every write they were told failed absent, no
 * node that stopped on its own, and the whole history linearizable.
 */
export async function checkRun(input: {
  readonly history: History;
  readonly nodes: readonly SupervisedNode[];
  readonly faults: readonly FaultEvent[];
  readonly supervisorEvents: readonly SupervisorEvent[];
  readonly checkerTimeoutMs: number;
}): Promise<CheckReport> {
  const failures: string[] = [];
  const failedStarts = new Map<
    string,
    { first: SupervisorEvent & { kind: 'restart-failed' }; count: number }
  >();
  for (const event of input.supervisorEvents) {
    if (event.kind === 'exited' && !event.expected)
      failures.push(`${event.node} stopped on its own at ${fmt(event.at)} (${event.status})`);
    if (event.kind === 'restart-failed' && !event.expected) {
      const seen = failedStarts.get(event.node);
      if (seen === undefined) failedStarts.set(event.node, { first: event, count: 1 });
      else seen.count++;
    }
  }
  for (const [node, { first, count }] of failedStarts)
    failures.push(
      `${node} failed to restart ${count} times, first at ${fmt(first.at)}: ${first.error.slice(0, 1500)}`,
    );
  for (const fault of input.faults)
    if (fault.problem !== null) failures.push(`${renderFault(fault)}: ${fault.problem}`);
  const notConverged = await quiesce(input.nodes, 30_000);
  if (notConverged !== null) failures.push(notConverged);
  // A node that cannot be read is a failure, and the others are still compared.
  const dumps = await Promise.all(
    input.nodes.map(async (node) => {
      try {
        return { node, state: await dump(node) };
      } catch (error) {
        const cause = (error as { cause?: unknown }).cause;
        failures.push(
          `could not read ${node.id}'s state after healing: ${String(error)}${cause === undefined ? '' : ` (${String(cause)})`}`,
        );
        return undefined;
      }
    }),
  );
  const states = dumps.filter((read) => read !== undefined);
  const [first, ...rest] = states;
  for (const { node, state } of rest) {
    const differences = differ(first!.state, state);
    if (differences.length > 0)
      failures.push(`${node.id} differs from ${first!.node.id}: ${differences.slice(0, 5).join('; ')}`);
  }
  if (first !== undefined) failures.push(...checkWriteOnce(input.history.records, first.state));

  const started = performance.now();
  const verdict = checkLinearizable(input.history.checkable(), { timeoutMs: input.checkerTimeoutMs });
  const checkerMs = Math.round(performance.now() - started);
  if (verdict.ok === false)
    failures.push(explain(verdict.reason, verdict.witness, input.history, input.faults));
  if (verdict.ok === 'unknown')
    failures.push(`the checker ran out of time (${input.checkerTimeoutMs} ms): no verdict`);
  return { failures, checkerMs, linearizable: verdict.ok };
}

function differ(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    if (a.get(key) !== b.get(key))
      out.push(`${key}: ${JSON.stringify(a.get(key) ?? null)} vs ${JSON.stringify(b.get(key) ?? null)}`);
  }
  return out;
}

/** Keys written exactly once: present with their value if acknowledged, absent if refused. */
function checkWriteOnce(records: readonly OperationRecord[], state: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const record of records) {
    if (record.op.kind !== 'put' || !record.op.key.startsWith('once-')) continue;
    const present = state.get(record.op.key);
    if (record.outcome === 'ok' && present !== record.op.value)
      out.push(
        `acknowledged write lost: ${describe(record)}; the cluster has ${JSON.stringify(present ?? null)}`,
      );
    if (record.outcome === 'failed' && present !== undefined)
      out.push(`a write reported as failed took effect: ${describe(record)}`);
  }
  return out.slice(0, 20);
}

/** The checker's account, each witness operation with its node, and the faults around the window. */
function explain(
  reason: string,
  witness: readonly KvEvent[],
  history: History,
  faults: readonly FaultEvent[],
): string {
  const from = Math.min(...witness.map((event) => event.invokedAt));
  const to = Math.max(...witness.map((event) => event.respondedAt ?? event.invokedAt));
  const records = history.records.filter((record) =>
    witness.some(
      (event) =>
        event.clientId === record.client && event.invokedAt === record.invokedAt && event.op === record.op,
    ),
  );
  const near = faults.filter(
    (fault) =>
      fault.startAt <= to + FAULT_MARGIN_MS &&
      (Number.isNaN(fault.endAt) || fault.endAt >= from - FAULT_MARGIN_MS),
  );
  return [
    'not linearizable:',
    reason,
    `the smallest window that cannot be linearized, ${fmt(from)} to ${fmt(to)}, with the node each operation went to:`,
    ...records.map((record) => `  ${describe(record)}`),
    `faults within ${FAULT_MARGIN_MS} ms of it:`,
    ...(near.length === 0 ? ['  none'] : near.map((fault) => `  ${renderFault(fault)}`)),
  ].join('\n');
}

export function describe(record: OperationRecord): string {
  const event: KvEvent = {
    clientId: record.client,
    op: record.op,
    invokedAt: Math.round(record.invokedAt),
    respondedAt:
      record.outcome === 'ok' && record.completedAt !== null ? Math.round(record.completedAt) : null,
    result: record.result ?? { kind: 'unknown' },
  };
  return `${renderKvEvent(event)} via ${record.node}${record.mode === null ? '' : ` (${record.mode})`} [${record.outcome ?? 'running'} ${record.detail}]`;
}

export function renderFault(fault: FaultEvent): string {
  return `${fmt(fault.startAt)}${Number.isNaN(fault.endAt) ? '' : `–${fmt(fault.endAt)}`} ${fault.kind} ${fault.targets.join(',')}${fault.detail === '' ? '' : ` (${fault.detail})`}`;
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
