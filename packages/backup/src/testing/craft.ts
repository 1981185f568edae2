// An independent SHA-256 (pure JS) for crafted archives, so the tests cross-check node:crypto's.
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'fflate';
import { concatBytes } from '../bytes.ts';
import { encodeManifest, encodeManifestHash, type Manifest } from '../manifest.ts';
import { BLOCK, encodeFileHeader, endOfArchive, padding } from '../tar.ts';

/** Builds archives the writer never would, for the hostile-input tests. */

export interface CraftEntry {
  readonly path: string;
  readonly data?: Uint8Array;
  /** A tar typeflag other than a regular file's '0'. */
  readonly type?: string;
  /** A size to claim in the header instead of the data's. */
  readonly claimedSize?: number;
}

export const FOLDER = 'raftkit-backup-c1-120';

export function tarOf(entries: readonly CraftEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const entry of entries) {
    const data = entry.data ?? new Uint8Array(0);
    const header = encodeFileHeader(entry.path, entry.claimedSize ?? data.length, 0).slice();
    const last = header.subarray(header.length - BLOCK);
    if (entry.type !== undefined) last[156] = entry.type.charCodeAt(0);
    rechecksum(last);
    parts.push(header, data, padding(data.length));
  }
  parts.push(endOfArchive());
  return concatBytes(parts);
}

export function rechecksum(block: Uint8Array): void {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += block[i]!;
  block.set(new TextEncoder().encode(`${sum.toString(8).padStart(6, '0')}\u0000 `), 148);
}

/** gzip exactly as the writer frames it (level 6, mtime 0, no name). */
export const gzip = (tar: Uint8Array): Uint8Array => gzipSync(tar, { level: 6, mtime: 0 });
export const gunzip = (bytes: Uint8Array): Uint8Array => gunzipSync(bytes);

/** The manifest.json and manifest.sha256 entries for `manifest`, hash consistent. */
export function manifestEntries(manifest: Manifest, folder = FOLDER): CraftEntry[] {
  const bytes = encodeManifest(manifest);
  return [
    { path: `${folder}/manifest.json`, data: bytes },
    { path: `${folder}/manifest.sha256`, data: encodeManifestHash(independentSha256(bytes)) },
  ];
}

export function manifestFor(
  files: readonly { path: string; data: Uint8Array }[],
  overrides: Partial<Manifest> = {},
): Manifest {
  return {
    format: 'raftkit-backup',
    version: 1,
    clusterId: 'c1',
    nodeId: 'n1',
    createdAt: '2026-01-02T03:04:05.000Z',
    snapshot: { index: 120, term: 3 },
    configuration: { voters: [{ id: 'n1', url: 'http://127.0.0.1:7001' }], votersOutgoing: [], learners: [] },
    stateMachine: null,
    files: files.map((f) => ({ path: f.path, size: f.data.length, sha256: independentSha256(f.data) })),
    ...overrides,
  };
}

/** SHA-256 by `node:crypto`, not the package's own (@noble/hashes), so crafted archives check it. */
function independentSha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
