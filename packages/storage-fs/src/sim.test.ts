import { describeSimulationOverStorage } from '@raftkit/testkit/vitest';
import { openFsStorage } from './index.ts';

// Simulator seeds over the WAL: every restart replays it from disk, joining nodes included.
describeSimulationOverStorage(
  'fs',
  { open: (dir, identity) => openFsStorage({ dir, identity }) },
  { seeds: { crashes: 15, snapshots: 15, membership: 10 } },
);
