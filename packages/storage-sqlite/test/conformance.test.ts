import { describeStorage } from '@raftkit/testkit/vitest';
import { openSqliteStorage } from '../src/index.ts';

describeStorage('sqlite', { open: (dir, identity) => openSqliteStorage({ dir, identity }) });
