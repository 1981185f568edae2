import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keyInPath } from './key.ts';

describe('keyInPath', () => {
  it('reads the key segment as the parsed URL would', () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9%._~!$&'()*+,;=:@-]{1,20}$/);
    fc.assert(
      fc.property(
        fc.array(segment, { minLength: 1, maxLength: 4 }),
        fc.option(fc.stringMatching(/^[A-Za-z0-9=&%/?]{0,20}$/)),
        fc.option(fc.stringMatching(/^[A-Za-z0-9/?#]{0,10}$/)),
        fc.integer({ min: 0, max: 1 }),
        (segments, query, fragment, fromEnd) => {
          const url = new Request(
            `http://127.0.0.1:8080/${segments.join('/')}${query === null ? '' : `?${query}`}${fragment === null ? '' : `#${fragment}`}`,
          ).url;
          const parsed = new URL(url).pathname.split('/');
          const raw = parsed[parsed.length - 1 - fromEnd] ?? '';
          const expected = (() => {
            try {
              return { key: keyInPath(`http://x${new URL(url).pathname}`, fromEnd, 1024) };
            } catch (error) {
              return { error: (error as Error).message };
            }
          })();
          const actual = (() => {
            try {
              return { key: keyInPath(url, fromEnd, 1024) };
            } catch (error) {
              return { error: (error as Error).message };
            }
          })();
          expect(actual).toEqual(expected);
          if ('key' in actual) expect(actual.key).toBe(decodeURIComponent(raw));
        },
      ),
    );
  });

  it('refuses a malformed escape and names it', () => {
    expect(() => keyInPath('http://h/v1/kv/a%ZZ', 0, 1024)).toThrow(/not valid percent-encoded UTF-8/);
    expect(keyInPath('http://h/v1/kv/a%2Fb?consistency=lease', 0, 1024)).toBe('a/b');
    expect(keyInPath('http://h/v1/kv/a%20b/cas', 1, 1024)).toBe('a b');
  });
});
