import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SortedKeys } from './sorted-keys.ts';

describe('SortedKeys', () => {
  it('agrees with sorting a set, for any adds, deletes and page request', () => {
    const key = fc.string({ maxLength: 4, unit: fc.constantFrom('a', 'b', 'c') }).filter((k) => k.length > 0);
    const op = fc.record({ add: fc.boolean(), key });
    fc.assert(
      fc.property(
        fc.array(op),
        fc.string({ maxLength: 2, unit: fc.constantFrom('a', 'b') }),
        fc.option(key, { nil: null }),
        fc.integer({ min: 1, max: 10 }),
        (ops, prefix, after, limit) => {
          const keys = new SortedKeys();
          const model = new Set<string>();
          for (const { add, key } of ops) {
            if (add) {
              keys.add(key);
              model.add(key);
            } else {
              keys.delete(key);
              model.delete(key);
            }
          }
          const sorted = [...model].sort();
          expect(keys.all()).toEqual(sorted);
          const expected = sorted
            .filter((k) => k.startsWith(prefix) && (after === null || k > after))
            .slice(0, limit);
          expect(keys.range(prefix, after, limit)).toEqual(expected);
        },
      ),
    );
  });
});
