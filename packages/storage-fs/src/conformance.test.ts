import { describeStorage } from '@raftkit/testkit/vitest';
import { openFsStorage } from './index.ts';

describeStorage('fs', { open: (dir, identity) => openFsStorage({ dir, identity }) });

// Tiny segments: every few writes start a segment, so truncation, snapshots and compaction all
// meet segment boundaries in the model-based property test.
describeStorage('fs with 1-KiB segments', {
  open: (dir, identity) => openFsStorage({ dir, identity, segmentBytes: 1024 }),
});
