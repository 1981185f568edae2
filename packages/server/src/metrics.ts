import type { Histogram } from '@raftkit/node';
import type { ServerNode } from './server-node.ts';

const ROLES = ['follower', 'preCandidate', 'candidate', 'leader'] as const;

/**
 * The node's state and the driver's counters in the Prometheus text format (0.0.4). Counter
 * names come from the driver's metric names, snake-cased, so a new driver counter shows up here
 * without a change.
 */
export function renderMetrics(node: ServerNode): string {
  const status = node.status();
  const lines: string[] = [];
  const gauge = (name: string, help: string, samples: [labels: string, value: number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
  };
  gauge(
    'raftkit_role',
    'This node role (1 for the current one).',
    ROLES.map((role) => [`{role="${role}"}`, status.role === role ? 1 : 0]),
  );
  gauge('raftkit_term', 'Current Raft term.', [['', status.term]]);
  gauge('raftkit_commit_index', 'Highest log index known committed.', [['', status.commitIndex]]);
  gauge('raftkit_applied_index', 'Highest log index applied to the state machine.', [
    ['', status.appliedIndex],
  ]);
  gauge('raftkit_leader_known', '1 when this node knows a leader.', [['', status.leader === null ? 0 : 1]]);
  gauge('raftkit_members', 'Members by role.', [
    ['{role="voter"}', status.members.filter((m) => m.role === 'voter').length],
    ['{role="learner"}', status.members.filter((m) => m.role === 'learner').length],
  ]);
  for (const [key, value] of Object.entries(node.metrics())) {
    const name = `raftkit_${snakeCase(key)}`;
    if (typeof value === 'number') {
      lines.push(`# TYPE ${name}_total counter`, `${name}_total ${value}`);
    } else {
      histogram(lines, name, value);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Transport counters (peer send errors, drops, rejections, snapshots) as Prometheus counters. */
export function renderCounterTree(prefix: string, tree: object): string {
  const lines: string[] = [];
  const walk = (path: string, value: unknown) => {
    if (typeof value === 'number') lines.push(`# TYPE ${path}_total counter`, `${path}_total ${value}`);
    else if (typeof value === 'object' && value !== null) {
      for (const [key, child] of Object.entries(value)) walk(`${path}_${snakeCase(key)}`, child);
    }
  };
  walk(prefix, tree);
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

function histogram(lines: string[], name: string, h: Histogram): void {
  lines.push(`# TYPE ${name} histogram`);
  for (const [i, bound] of h.bounds.entries())
    lines.push(`${name}_bucket{le="${bound}"} ${h.counts[i] ?? 0}`);
  lines.push(`${name}_bucket{le="+Inf"} ${h.count}`, `${name}_sum ${h.sum}`, `${name}_count ${h.count}`);
}

function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}
