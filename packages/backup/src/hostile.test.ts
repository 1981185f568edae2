import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, sameBytes } from './bytes.ts';
import { type BackupErrorCode, isBackupError } from './errors.ts';
import {
  type CraftEntry,
  FOLDER,
  gunzip,
  gzip,
  manifestEntries,
  manifestFor,
  rechecksum,
  tarOf,
} from './testing/craft.ts';
import { backupBytes, once, patternBytes } from './testing/fixtures.ts';
import { verifyBackup } from './verify.ts';

const state = patternBytes(3000, 7);
const stateEntry = { path: `${FOLDER}/state/00000000.bin`, data: state };
const manifest = manifestFor([{ path: 'state/00000000.bin', data: state }]);
const valid = (): CraftEntry[] => [stateEntry, ...manifestEntries(manifest)];

async function codeOf(bytes: Uint8Array, maxBytes?: number): Promise<BackupErrorCode | 'ok'> {
  try {
    await verifyBackup(once(bytes, 1021), maxBytes === undefined ? {} : { maxBytes });
    return 'ok';
  } catch (error) {
    if (isBackupError(error)) return error.code;
    throw error;
  }
}

const withEntry = (entry: CraftEntry): Uint8Array => gzip(tarOf([entry, ...valid()]));

describe('hostile input', () => {
  it('accepts the crafted archive these cases start from', async () => {
    expect(await codeOf(gzip(tarOf(valid())))).toBe('ok');
  });

  it.each([
    ['a parent-directory path', '../evil'],
    ['a traversal inside the folder', `${FOLDER}/../../evil`],
    ['an absolute path', '/etc/evil'],
    ['a dot component', `${FOLDER}/./state/00000000.bin`],
    ['an empty component', `${FOLDER}//state`],
    ['a backslash', `${FOLDER}\\..\\evil`],
  ])('refuses %s', async (_what, path) => {
    expect(await codeOf(withEntry({ path, data: new Uint8Array(1) }))).toBe('UnsafeEntry');
  });

  it.each([
    ['a hard link', '1'],
    ['a symbolic link', '2'],
    ['a character device', '3'],
    ['a block device', '4'],
    ['a directory', '5'],
    ['a FIFO', '6'],
    ['a GNU long name', 'L'],
  ])('refuses %s', async (_what, type) => {
    expect(await codeOf(withEntry({ path: `${FOLDER}/state/00000000.bin`, type }))).toBe('UnsafeEntry');
  });

  it('refuses a PAX global header', async () => {
    expect(
      await codeOf(
        withEntry({ path: `${FOLDER}/g`, type: 'g', data: new TextEncoder().encode('9 path=x\n') }),
      ),
    ).toBe('UnsafeEntry');
  });

  it('refuses a duplicate entry', async () => {
    expect(await codeOf(gzip(tarOf([stateEntry, stateEntry, ...manifestEntries(manifest)])))).toBe(
      'DuplicateEntry',
    );
  });

  it('refuses a file the manifest does not list, and one it lists that is absent', async () => {
    const extra = { path: `${FOLDER}/state/00000001.bin`, data: new Uint8Array(5) };
    expect(await codeOf(gzip(tarOf([stateEntry, extra, ...manifestEntries(manifest)])))).toBe(
      'UnlistedEntry',
    );
    expect(await codeOf(gzip(tarOf([...manifestEntries(manifest)])))).toBe('MissingEntry');
    expect(
      await codeOf(gzip(tarOf([stateEntry, { path: `${FOLDER}/notes.txt` }, ...manifestEntries(manifest)]))),
    ).toBe('UnlistedEntry');
    expect(
      await codeOf(gzip(tarOf([stateEntry, { path: 'other-folder/x' }, ...manifestEntries(manifest)]))),
    ).toBe('UnlistedEntry');
  });

  it('refuses an unknown format version', async () => {
    const v2 = { ...manifest, version: 2 } as unknown as typeof manifest;
    expect(await codeOf(gzip(tarOf([stateEntry, ...manifestEntries(v2)])))).toBe('UnsupportedVersion');
  });

  it('refuses an edited manifest, and a manifest hash that is not one', async () => {
    const [json, hash] = manifestEntries(manifest);
    const edited = {
      ...json!,
      data: new TextEncoder().encode(new TextDecoder().decode(json!.data).replace('"n1"', '"n9"')),
    };
    expect(await codeOf(gzip(tarOf([stateEntry, edited, hash!])))).toBe('HashMismatch');
    expect(await codeOf(gzip(tarOf([stateEntry, json!, { ...hash!, data: new Uint8Array(3) }])))).toBe(
      'ManifestInvalid',
    );
    expect(await codeOf(gzip(tarOf([stateEntry, json!])))).toBe('MissingEntry');
  });

  it('refuses a manifest whose folder, sizes or hashes disagree with the archive', async () => {
    const other = manifestFor([{ path: 'state/00000000.bin', data: state }], { clusterId: 'c2' });
    expect(await codeOf(gzip(tarOf([stateEntry, ...manifestEntries(other)])))).toBe('ManifestInvalid');
    const shorter = { ...stateEntry, data: state.subarray(1) };
    expect(await codeOf(gzip(tarOf([shorter, ...manifestEntries(manifest)])))).toBe('SizeMismatch');
    const changed = { ...stateEntry, data: state.map((b, i) => (i === 100 ? b ^ 1 : b)) };
    expect(await codeOf(gzip(tarOf([changed, ...manifestEntries(manifest)])))).toBe('HashMismatch');
  });

  it('refuses sizes in a header that disagree with the data after it', async () => {
    for (const claimedSize of [state.length - 600, state.length + 600, state.length + 10_000_000]) {
      const code = await codeOf(gzip(tarOf([{ ...stateEntry, claimedSize }, ...manifestEntries(manifest)])));
      expect(['TarFormat', 'Truncated', 'SizeMismatch']).toContain(code);
    }
  });

  it('refuses to decompress past the limit', async () => {
    const zeros = new Uint8Array(8 * 1024 * 1024);
    const bomb = gzip(
      tarOf([{ path: `${FOLDER}/state/00000000.bin`, data: zeros }, ...manifestEntries(manifest)]),
    );
    expect(bomb.length).toBeLessThan(64 * 1024);
    expect(await codeOf(bomb, 1024 * 1024)).toBe('TooLarge');
  });

  it('refuses a truncated stream, wherever it is cut', async () => {
    const bytes = await backupBytes(patternBytes(5000));
    for (let cut = 0; cut < bytes.length; cut += cut < 40 ? 1 : 97) {
      expect(['Truncated', 'Gzip']).toContain(await codeOf(bytes.subarray(0, cut)));
    }
    // Inside the trailer nothing tells a cut from a corrupt trailer.
    for (let cut = bytes.length - 8; cut < bytes.length; cut++)
      expect(await codeOf(bytes.subarray(0, cut))).toBe('Gzip');
  });

  // Deflate has bits no decoder reads (the padding after its final block, a stored block's
  // alignment and length complement): flipping one changes no decompressed byte, so no check
  // over the content can see it. Every other flip must be refused.
  it('refuses every flipped bit that changes a decompressed byte', async () => {
    for (const state of [patternBytes(600), new Uint8Array(5000).fill(7)]) {
      const bytes = await backupBytes(state, 256);
      const tar = gunzip(bytes);
      let refused = 0;
      // Every bit of the first and last 32 bytes (gzip header, trailer), one bit of every other byte.
      const bits = [...Array(bytes.length * 8).keys()].filter(
        (i) => i < 32 * 8 || i >= (bytes.length - 32) * 8 || i % 8 === (i >> 3) % 8,
      );
      for (const i of bits) {
        const flipped = bytes.slice();
        flipped[i >> 3]! ^= 1 << (i & 7);
        if ((await codeOf(flipped)) !== 'ok') refused++;
        else expect(sameBytes(gunzip(flipped), tar), `bit ${i & 7} of byte ${i >> 3}`).toBe(true);
      }
      expect(refused).toBeGreaterThan(bits.length - 64);
    }
  });

  it('refuses trailing garbage after the gzip stream and after the tar end marker', async () => {
    const bytes = await backupBytes(patternBytes(600));
    for (const garbage of [
      [0],
      [1, 2],
      [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      [...patternBytes(1000)],
      [...gzip(new Uint8Array(9))],
    ]) {
      expect(await codeOf(concatBytes([bytes, Uint8Array.from(garbage)]))).toBe('TrailingData');
    }
    const tar = gunzip(bytes);
    expect(await codeOf(gzip(concatBytes([tar, new Uint8Array(512)])))).toBe('TrailingData');
    expect(await codeOf(gzip(concatBytes([tar, Uint8Array.of(1)])))).toBe('TrailingData');
  });

  it('refuses a header whose checksum does not match, and accepts it once fixed', async () => {
    const tar = tarOf(valid());
    tar[10]! ^= 0x40;
    expect(await codeOf(gzip(tar))).toBe('TarFormat');
    rechecksum(tar.subarray(0, 512));
    expect(await codeOf(gzip(tar))).toBe('UnlistedEntry');
  });
});

/** Every outcome of a mutated archive: a clean verify or a typed error, never anything else. */
const KNOWN_CODES: readonly BackupErrorCode[] = [
  'Gzip',
  'Truncated',
  'TrailingData',
  'TarFormat',
  'UnsafeEntry',
  'DuplicateEntry',
  'UnlistedEntry',
  'MissingEntry',
  'SizeMismatch',
  'HashMismatch',
  'ManifestInvalid',
  'UnsupportedVersion',
  'TooLarge',
];

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'cut'; at: number }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'repeat'; at: number; length: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.nat(255) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 600 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.array(fc.nat(255), { minLength: 1, maxLength: 600 }),
  }),
  fc.record({
    kind: fc.constant('repeat' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 1200 }),
  }),
);

function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
  const at = m.at % (bytes.length + 1);
  switch (m.kind) {
    case 'flip': {
      const out = bytes.slice();
      if (at < out.length) out[at]! ^= 1 << m.bit;
      return out;
    }
    case 'set': {
      const out = bytes.slice();
      if (at < out.length) out[at] = m.value;
      return out;
    }
    case 'cut':
      return bytes.subarray(0, at);
    case 'delete':
      return concatBytes([bytes.subarray(0, at), bytes.subarray(at + m.length)]);
    case 'insert':
      return concatBytes([bytes.subarray(0, at), Uint8Array.from(m.bytes), bytes.subarray(at)]);
    case 'repeat':
      return concatBytes([bytes.subarray(0, at + m.length), bytes.subarray(at)]);
  }
}

describe('fuzzing', () => {
  const check = async (base: Uint8Array, mutations: Mutation[], layer: 'gzip' | 'tar') => {
    let bytes = layer === 'gzip' ? base : gunzip(base);
    for (const m of mutations) bytes = mutate(bytes, m);
    const archive = layer === 'gzip' ? bytes : gzip(bytes);
    const code = await codeOf(archive, 4 * 1024 * 1024);
    // Only a change no reader can see may verify: the tar bytes must be the original's.
    if (code === 'ok') expect(sameBytes(layer === 'gzip' ? gunzip(archive) : bytes, gunzip(base))).toBe(true);
    else expect(KNOWN_CODES).toContain(code);
  };

  it('every mutation of the compressed bytes is refused with a typed error (seeded)', async () => {
    const base = await backupBytes(patternBytes(9000, 3), 2048);
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), (ms) => check(base, ms, 'gzip')),
      { seed: 11, numRuns: 400 },
    );
  });

  it('every mutation of the tar bytes is refused or verifies clean (seeded)', async () => {
    const base = await backupBytes(patternBytes(9000, 3), 2048);
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), (ms) => check(base, ms, 'tar')),
      { seed: 12, numRuns: 400 },
    );
  });
});
