/**
 * A node process for the crash and lock tests. It prints one line per durable step, after the
 * promise resolved, so the parent knows exactly what was acknowledged before it sends SIGKILL.
 *
 *   saves <dir> <batch> <bytes>   append batches forever, each with its commit index: "acked <last>"
 *   stream <dir> <index> <term>   stream a snapshot forever without committing: "wrote <n>"
 *   snapshot <dir> <index> <term> <seed> <size>  stream and commit one, then idle: "committed"
 *   hold <dir>                    open and idle: "open"
 *   open <dir>                    try to open: "ok" or "error <kind>"
 */
import { type Index, isStorageError, type Membership, type NodeId, type Term } from '@raftkit/core';
import { openSqliteStorage } from '../../src/index.ts';
import { entry, IDENTITY, snapshotData } from './payload.ts';

const [mode = '', dir = '', ...rest] = process.argv.slice(2);
const numbers = rest.map(Number);
const say = (line: string) => process.stdout.write(`${line}\n`);
const idle = () => setInterval(() => {}, 1 << 30);
const membership: Membership = { voters: ['n1' as NodeId], votersOutgoing: [], learners: [] };

if (mode === 'open') {
  try {
    await (await openSqliteStorage({ dir, identity: IDENTITY })).close();
    say('ok');
  } catch (error) {
    say(isStorageError(error) ? `error ${error.kind}` : `error ${String(error)}`);
  }
} else {
  const storage = await openSqliteStorage({ dir, identity: IDENTITY });
  if (mode === 'hold') {
    say('open');
    idle();
  } else if (mode === 'saves') {
    const [batch = 1, bytes = 1] = numbers;
    for (let last: number = storage.lastIndex(); ; last += batch) {
      const entries = Array.from({ length: batch }, (_, k) => entry(last + 1 + k, 1, bytes));
      const commitIndex = (last + batch) as Index;
      await storage.save({ entries, hardState: { term: 1 as Term, votedFor: IDENTITY.nodeId, commitIndex } });
      say(`acked ${commitIndex}`);
    }
  } else if (mode === 'stream') {
    const [index = 0, term = 0] = numbers;
    const writer = await storage.createSnapshot({ index: index as Index, term: term as Term, membership });
    for (let n = 1; ; n++) {
      await writer.write(snapshotData(n, 256 * 1024));
      say(`wrote ${n}`);
    }
  } else if (mode === 'snapshot') {
    const [index = 0, term = 0, seed = 0, size = 0] = numbers;
    await storage.saveSnapshot({
      meta: { index: index as Index, term: term as Term, membership },
      data: snapshotData(seed, size),
    });
    say('committed');
    idle();
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
}
