import { describeStorage } from './describe-storage.ts';
import { MemoryStorage } from './memory-storage.ts';

describeStorage('memory', MemoryStorage.factory(), { propertyRuns: 100 });
