/**
 * The core alone: entries committed per second by a 3-node cluster whose network is function
 * calls and whose storage is the core's own memory, at proposal batch sizes 1, 64 and 1024 with
 * 128-byte payloads. Prints medians of several runs and the environment. Run it with
 * `npm run bench -w @raftkit/core` (Node on built JS, then Bun and Deno on the sources), or alone: `npx bun packages/core/src/bench/core-bench.ts`
 * or `npx deno run -A packages/core/src/bench/core-bench.ts`.
 */
import { cpus } from 'node:os';
import type { Index, Message, NodeId } from '../index.ts';
import { bootstrapState, RawNode } from '../rawnode.ts';

const PAYLOAD_BYTES = 128;
const BATCHES = [1, 64, 1024];
const RUNS = 5;
const RUN_MS = 1000;
/** Compact every node's log this often so memory stays flat however fast the run goes. */
const COMPACT_EVERY = 50_000;

declare const Bun: { version: string } | undefined;
declare const Deno: { version: { deno: string } } | undefined;

function runtime(): string {
  if (typeof Bun !== 'undefined') return `bun ${Bun.version}`;
  if (typeof Deno !== 'undefined') return `deno ${Deno.version.deno}`;
  return `node ${process.version}`;
}

class Cluster {
  readonly nodes = new Map<NodeId, RawNode>();
  readonly leader: RawNode;
  private lastCompacted = 0;

  constructor() {
    const voters = ['a', 'b', 'c'] as NodeId[];
    for (const id of voters) {
      const node = new RawNode(
        { id, seed: 1, maxInflightMessages: 4096, maxMessageBytes: 4 << 20, maxUncommittedBytes: 1 << 30 },
        bootstrapState({ voters, votersOutgoing: [], learners: [] }),
      );
      this.nodes.set(id, node);
    }
    this.leader = this.nodes.get('a' as NodeId) as RawNode;
    this.leader.campaign();
    this.pump();
    if (this.leader.status().role !== 'leader') throw new Error('no leader');
  }

  private deliver(messages: readonly Message[]): void {
    for (const m of messages) this.nodes.get(m.to)?.step(m);
  }

  /** Handles Readies and delivers messages until the cluster is quiet. */
  pump(): void {
    let busy = true;
    while (busy) {
      busy = false;
      for (const node of this.nodes.values()) {
        if (!node.hasReady()) continue;
        busy = true;
        const ready = node.ready();
        this.deliver(ready.messages);
        this.deliver(ready.messagesAfterPersist);
        node.advance();
      }
    }
  }

  maybeCompact(): void {
    const applied = this.leader.status().appliedIndex;
    if (applied - this.lastCompacted < COMPACT_EVERY) return;
    for (const node of this.nodes.values()) {
      const at = Math.min(node.status().appliedIndex, applied) as Index;
      if (at > node.status().firstIndex)
        node.compact({ meta: node.snapshotMetaAt(at), data: new Uint8Array(0) });
    }
    this.lastCompacted = applied;
  }
}

function measure(batch: number): number {
  const cluster = new Cluster();
  const payload = new Uint8Array(PAYLOAD_BYTES).fill(7);
  const startCommit = cluster.leader.status().commitIndex;
  const start = performance.now();
  let proposed = 0;
  while (performance.now() - start < RUN_MS) {
    for (let i = 0; i < batch; i++) cluster.leader.propose(payload);
    proposed += batch;
    cluster.pump();
    cluster.maybeCompact();
  }
  const elapsed = (performance.now() - start) / 1000;
  const committed = cluster.leader.status().commitIndex - startCommit;
  if (committed < proposed) throw new Error(`only ${committed} of ${proposed} entries committed`);
  return committed / elapsed;
}

/**
 * Bytes allocated per committed entry, across all three nodes: heap growth over a fixed number
 * of entries, from a collected heap, with a young generation large enough that no collection
 * runs meanwhile (the npm script starts V8 with --max-semi-space-size=1024). Without a
 * `gc()` hook (Bun) the figure also counts leftovers of earlier runs, so it is only indicative.
 */
function allocationPerEntry(batch: number): number {
  const entries = 102_400;
  const cluster = new Cluster();
  const payload = new Uint8Array(PAYLOAD_BYTES).fill(7);
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage().heapUsed;
  for (let proposed = 0; proposed < entries; proposed += batch) {
    for (let i = 0; i < batch; i++) cluster.leader.propose(payload);
    cluster.pump();
  }
  return (process.memoryUsage().heapUsed - before) / entries;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

const cpu = cpus()[0];
console.log('@raftkit/core benchmark: 3 voters in one process, network = function calls, no disk');
console.log(
  `runtime: ${runtime()}, cpu: ${cpu?.model ?? 'unknown'} x${cpus().length}, payload: ${PAYLOAD_BYTES} B`,
);
console.log(
  `each figure: median of ${RUNS} runs of ${RUN_MS} ms (compacting every ${COMPACT_EVERY} entries)`,
);
console.log('batch  entries/s (median)   min..max             allocated/entry (3 nodes)');
for (const batch of BATCHES) {
  measure(batch); // warm-up
  const rates = Array.from({ length: RUNS }, () => measure(batch));
  const heap = median(Array.from({ length: 3 }, () => allocationPerEntry(batch)));
  const rate = (n: number) => Math.round(n).toLocaleString('en-US');
  const range = `${rate(Math.min(...rates))}..${rate(Math.max(...rates))}`;
  console.log(
    `${String(batch).padStart(5)}  ${rate(median(rates)).padStart(18)}   ${range.padEnd(20)} ${Math.round(heap)} B`,
  );
}
const gcHook = typeof (globalThis as { gc?: unknown }).gc === 'function';
console.log(
  `allocated/entry: heap growth over 102,400 entries${gcHook ? '' : ' (no gc() hook here: indicative only)'}`,
);
