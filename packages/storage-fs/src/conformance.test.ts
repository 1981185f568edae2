import { describeStorage } from '@raftkit/testkit';
import { openFsStorage } from './index.ts';

describeStorage('fs', { open: (dir, identity) => openFsStorage({ dir, identity }) });
