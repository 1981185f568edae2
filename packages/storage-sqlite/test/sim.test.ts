import { describeSimulationOverStorage } from '@raftkit/testkit/vitest';
import { openSqliteStorage } from '../src/index.ts';

// Simulator seeds over the database: every restart reopens it from disk, joining nodes included.
describeSimulationOverStorage(
  'sqlite',
  { open: (dir, identity) => openSqliteStorage({ dir, identity }) },
  { seeds: { crashes: 15, snapshots: 15, membership: 10 } },
);
