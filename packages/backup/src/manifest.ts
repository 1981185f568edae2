import type { Membership, SnapshotMeta } from '@raftkit/core';
import { BackupError } from './errors.ts';

/** The format version this code writes and the only one it reads. */
export const FORMAT_VERSION = 1;
export const FORMAT_NAME = 'raftkit-backup';

/** What the manifest can carry from a state machine: plain JSON. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };

/** A member of the configuration the snapshot was taken under. */
export interface MemberEntry {
  readonly id: string;
  /** Where the member listened when the snapshot was taken; null when the log never named it. */
  readonly url: string | null;
}

/** One file of the archive besides the manifest itself, as the manifest lists it. */
export interface ManifestFile {
  /** Relative to the backup folder. */
  readonly path: string;
  readonly size: number;
  /** Lowercase hex. */
  readonly sha256: string;
}

/** manifest.json, version 1 (see the README's "Format" section). */
export interface Manifest {
  readonly format: typeof FORMAT_NAME;
  readonly version: typeof FORMAT_VERSION;
  readonly clusterId: string;
  /** The node whose storage the snapshot was read from. */
  readonly nodeId: string;
  /** ISO 8601, UTC. */
  readonly createdAt: string;
  readonly snapshot: { readonly index: number; readonly term: number };
  readonly configuration: {
    readonly voters: readonly MemberEntry[];
    /** Non-empty only when the snapshot was taken inside a joint configuration. */
    readonly votersOutgoing: readonly MemberEntry[];
    readonly learners: readonly MemberEntry[];
  };
  /** What the state machine's `backupMetadata()` said about its state; null without one. */
  readonly stateMachine: { readonly [key: string]: JsonValue } | null;
  /** Every file of the backup but manifest.json and manifest.sha256, in archive order. */
  readonly files: readonly ManifestFile[];
}

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_HASH_FILE = 'manifest.sha256';
/** The state machine's snapshot bytes, cut in files of at most `chunkBytes`, concatenated in order. */
export const stateFileName = (n: number): string => `state/${String(n).padStart(8, '0')}.bin`;
export const STATE_FILE = /^state\/([0-9]{8})\.bin$/;

/** The archive's top folder: `raftkit-backup-<cluster>-<index>`. */
export const backupFolder = (clusterId: string, index: number): string =>
  `${FORMAT_NAME}-${clusterId}-${index}`;

export function membersOf(
  membership: Membership,
  urls: Readonly<Record<string, string>>,
): Manifest['configuration'] {
  const entry = (id: string): MemberEntry => ({ id, url: urls[id] ?? null });
  return {
    voters: membership.voters.map(entry),
    votersOutgoing: membership.votersOutgoing.map(entry),
    learners: membership.learners.map(entry),
  };
}

/** The snapshot metadata the backup restores to, and the URL of every member that had one. */
export function snapshotOf(manifest: Manifest): {
  meta: Omit<SnapshotMeta, 'membership'>;
  urls: Record<string, string>;
} {
  const { voters, votersOutgoing, learners } = manifest.configuration;
  const urls: Record<string, string> = {};
  for (const m of [...voters, ...votersOutgoing, ...learners]) if (m.url !== null) urls[m.id] = m.url;
  return { meta: manifest.snapshot as SnapshotMeta, urls };
}

const utf8 = new TextEncoder();

export const encodeManifest = (manifest: Manifest): Uint8Array =>
  utf8.encode(`${JSON.stringify(manifest, null, 2)}\n`);

/** The `sha256sum` line for manifest.json, so `sha256sum -c manifest.sha256` checks it too. */
export const encodeManifestHash = (hex: string): Uint8Array => utf8.encode(`${hex}  ${MANIFEST_FILE}\n`);

export function parseManifestHash(bytes: Uint8Array): string {
  const text = new TextDecoder().decode(bytes);
  const match = /^([0-9a-f]{64}) {2}manifest\.json\n$/.exec(text);
  if (match === null)
    throw invalid(`${MANIFEST_HASH_FILE} is not one "<sha-256 hex>  ${MANIFEST_FILE}" line`);
  return match[1]!;
}

const invalid = (message: string) => new BackupError('ManifestInvalid', message);

/** Parses manifest.json strictly: every field present with its type, nothing else. */
export function parseManifest(bytes: Uint8Array): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new BackupError('ManifestInvalid', `${MANIFEST_FILE} is not JSON`, { cause });
  }
  const m = record(raw, MANIFEST_FILE);
  if (m.format !== FORMAT_NAME) throw invalid(`${MANIFEST_FILE}: "format" is not "${FORMAT_NAME}"`);
  if (m.version !== FORMAT_VERSION) {
    throw new BackupError(
      'UnsupportedVersion',
      `backup format version ${JSON.stringify(m.version)}; this code reads version ${FORMAT_VERSION}`,
    );
  }
  exactKeys(
    m,
    [
      'format',
      'version',
      'clusterId',
      'nodeId',
      'createdAt',
      'snapshot',
      'configuration',
      'stateMachine',
      'files',
    ],
    MANIFEST_FILE,
  );
  const snapshot = record(m.snapshot, 'snapshot');
  exactKeys(snapshot, ['index', 'term'], 'snapshot');
  const configuration = record(m.configuration, 'configuration');
  exactKeys(configuration, ['voters', 'votersOutgoing', 'learners'], 'configuration');
  const createdAt = text(m.createdAt, 'createdAt');
  if (Number.isNaN(Date.parse(createdAt))) throw invalid('"createdAt" is not a date');
  if (m.stateMachine !== null) record(m.stateMachine, 'stateMachine');
  return {
    format: FORMAT_NAME,
    version: FORMAT_VERSION,
    clusterId: text(m.clusterId, 'clusterId'),
    nodeId: text(m.nodeId, 'nodeId'),
    createdAt,
    snapshot: {
      index: natural(snapshot.index, 'snapshot.index'),
      term: natural(snapshot.term, 'snapshot.term'),
    },
    configuration: {
      voters: members(configuration.voters, 'configuration.voters'),
      votersOutgoing: members(configuration.votersOutgoing, 'configuration.votersOutgoing'),
      learners: members(configuration.learners, 'configuration.learners'),
    },
    stateMachine: m.stateMachine as Manifest['stateMachine'],
    files: list(m.files, 'files').map((f, i) => {
      const file = record(f, `files[${i}]`);
      exactKeys(file, ['path', 'size', 'sha256'], `files[${i}]`);
      const sha256 = text(file.sha256, `files[${i}].sha256`);
      if (!/^[0-9a-f]{64}$/.test(sha256)) throw invalid(`files[${i}].sha256 is not a SHA-256 in hex`);
      return {
        path: text(file.path, `files[${i}].path`),
        size: natural(file.size, `files[${i}].size`),
        sha256,
      };
    }),
  };
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid(`"${what}" is not an object`);
  return value as Record<string, unknown>;
}

function exactKeys(value: Record<string, unknown>, keys: readonly string[], what: string): void {
  for (const key of keys) if (!(key in value)) throw invalid(`"${what}" has no "${key}"`);
  for (const key of Object.keys(value))
    if (!keys.includes(key)) throw invalid(`"${what}" has an unknown field "${key}"`);
}

function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw invalid(`"${what}" is not an array`);
  return value;
}

function text(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid(`"${what}" is not a non-empty string`);
  return value;
}

function natural(value: unknown, what: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0)
    throw invalid(`"${what}" is not a non-negative integer`);
  return value as number;
}

function members(value: unknown, what: string): MemberEntry[] {
  return list(value, what).map((m, i) => {
    const member = record(m, `${what}[${i}]`);
    exactKeys(member, ['id', 'url'], `${what}[${i}]`);
    return {
      id: text(member.id, `${what}[${i}].id`),
      url: member.url === null ? null : text(member.url, `${what}[${i}].url`),
    };
  });
}
