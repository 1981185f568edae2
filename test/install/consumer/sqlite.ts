// Opens an sqlite store: bun:sqlite on Bun, node:sqlite on Deno and Node 22.5+. On older Node
// the consumer did not install the optional better-sqlite3, so opening must fail with a code.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeId } from '@raftkit/core';
import { openSqliteStorage } from '@raftkit/storage-sqlite';

const dir = await mkdtemp(join(tmpdir(), 'raftkit-consumer-sqlite-'));
try {
  const storage = await openSqliteStorage({ dir, identity: { clusterId: 'c', nodeId: nodeId('n1') } });
  await storage.close();
  console.log('opened');
} catch (error) {
  console.log((error as { code?: string }).code ?? String(error));
} finally {
  await rm(dir, { recursive: true, force: true });
}
