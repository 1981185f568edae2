import type { Manifest, MemberEntry } from './manifest.ts';
import type { ByteSource } from './streams.ts';
import { type VerifyOptions, verifyBackup } from './verify.ts';

/** The manifest for a person: what was backed up, when, from where, and what it holds. */
export function renderManifest(manifest: Manifest): string {
  const member = (m: MemberEntry) => `    ${m.id}  ${m.url ?? '(no URL)'}`;
  const { voters, votersOutgoing, learners } = manifest.configuration;
  const stateBytes = manifest.files.reduce((n, f) => n + f.size, 0);
  const lines = [
    `raftkit backup, format version ${manifest.version}`,
    `  cluster     ${manifest.clusterId}`,
    `  taken from  ${manifest.nodeId}`,
    `  created at  ${manifest.createdAt}`,
    `  snapshot    index ${manifest.snapshot.index}, term ${manifest.snapshot.term}`,
    `  voters (${voters.length})`,
    ...voters.map(member),
    ...(votersOutgoing.length === 0
      ? []
      : [`  outgoing voters (${votersOutgoing.length})`, ...votersOutgoing.map(member)]),
    `  learners (${learners.length})`,
    ...learners.map(member),
    `  state       ${stateBytes} bytes in ${manifest.files.length} file(s)`,
  ];
  if (manifest.stateMachine !== null) {
    lines.push('  state machine');
    for (const [key, value] of Object.entries(manifest.stateMachine))
      lines.push(`    ${key}: ${JSON.stringify(value)}`);
  }
  return lines.join('\n');
}

/**
 * The manifest of a backup, as text for a person or as JSON. The manifest is the archive's last
 * entry, so this reads (and verifies) the whole archive: a manifest is shown only when it holds.
 */
export async function inspectBackup(
  source: ByteSource,
  options: VerifyOptions & { readonly format?: 'human' | 'json' } = {},
): Promise<string> {
  const manifest = await verifyBackup(source, options);
  return options.format === 'json' ? JSON.stringify(manifest, null, 2) : renderManifest(manifest);
}
