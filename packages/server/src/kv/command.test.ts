import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCommand, encodeCommand, type KvCommand, KvCommandError } from './command.ts';

const key = fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' });
const bytes = fc.uint8Array({ maxLength: 64 });
const command: fc.Arbitrary<KvCommand> = fc.oneof(
  fc.record({ op: fc.constant('put' as const), key, value: bytes }),
  fc.record({ op: fc.constant('delete' as const), key }),
  fc.record({
    op: fc.constant('cas' as const),
    key,
    expected: fc.option(bytes, { nil: null }),
    value: fc.option(bytes, { nil: null }),
  }),
);

describe('KV command codec', () => {
  it('decodes what it encodes', () => {
    fc.assert(
      fc.property(command, (original) => {
        expect(decodeCommand(encodeCommand(original))).toEqual(original);
      }),
    );
  });

  it('keeps an empty cas value apart from a delete', () => {
    const decoded = decodeCommand(
      encodeCommand({ op: 'cas', key: 'k', expected: null, value: new Uint8Array() }),
    );
    expect(decoded).toEqual({ op: 'cas', key: 'k', expected: null, value: new Uint8Array() });
  });

  it.each([
    ['empty', []],
    ['unknown op', [9, 0]],
    ['key length past the end', [1, 0, 0, 0, 9, 0x61]],
    ['empty delete key', [2]],
    ['invalid UTF-8 key', [2, 0xff]],
    ['unknown cas flags', [3, 0, 0, 0, 1, 0x61, 4, 0, 0, 0, 0]],
  ])('refuses %s', (_, raw) => {
    expect(() => decodeCommand(Uint8Array.from(raw))).toThrow(KvCommandError);
  });
});
