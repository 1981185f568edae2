import { describeStorage } from '@raftkit/testkit';
import { openSqliteStorage } from '../src/index.ts';

describeStorage('sqlite', { open: (dir, identity) => openSqliteStorage({ dir, identity }) });
