import { isRaftError } from '../errors.ts';
import type { Mutations } from '../raft.ts';
import type { ConfigChange, Entry, Index, MemberChange, NodeId, Snapshot, Term } from '../types.ts';
import { bytes, describeEntry, describeMessage, type NodeOptions, TestCluster } from './cluster.ts';

/**
 * Scenario files (after etcd-io/raft's interaction tests, in our own format): a file opens with
 * comment lines saying what it proves, then blocks of
 *
 *     command arg key=value ...
 *     ----
 *     expected output
 *
 * separated by blank lines. Each command has one handler below. Run with RAFTKIT_REWRITE=1 to
 * regenerate the expected output, and review the diff before committing it.
 */
export interface Block {
  readonly line: number;
  readonly command: string;
  readonly expected: string;
}

export interface ParsedScenario {
  readonly header: string;
  readonly blocks: readonly Block[];
}

export function parseScenario(text: string): ParsedScenario {
  const lines = text.split('\n');
  let i = 0;
  const header: string[] = [];
  while (i < lines.length && (lines[i]?.startsWith('#') || lines[i]?.trim() === ''))
    header.push(lines[i++] as string);
  const blocks: Block[] = [];
  while (i < lines.length) {
    const start = i;
    const command = lines[i++] as string;
    if (command.trim() === '') continue;
    if (lines[i++] !== '----') throw new Error(`line ${start + 1}: expected ---- after the command`);
    const expected: string[] = [];
    while (i < lines.length && lines[i] !== '') expected.push(lines[i++] as string);
    blocks.push({ line: start + 1, command, expected: expected.join('\n') });
  }
  return { header: header.join('\n').trimEnd(), blocks };
}

export function formatScenario(header: string, blocks: readonly Block[]): string {
  return `${header}\n\n${blocks.map((b) => `${b.command}\n----\n${b.expected}`).join('\n\n')}\n`;
}

interface Args {
  readonly positional: string[];
  readonly named: Map<string, string>;
}

type Handler = (env: ScenarioEnv, args: Args) => string[];

export class ScenarioEnv {
  cluster: TestCluster | null = null;

  get c(): TestCluster {
    if (this.cluster === null) throw new Error('no cluster yet: start with the cluster command');
    return this.cluster;
  }

  run(command: string): string {
    const [name, ...rest] = command.trim().split(/\s+/);
    const handler = handlers[name as string];
    if (handler === undefined) throw new Error(`unknown command ${name}`);
    const args: Args = { positional: [], named: new Map() };
    for (const token of rest) {
      const eq = token.indexOf('=');
      if (eq > 0) args.named.set(token.slice(0, eq), token.slice(eq + 1));
      else args.positional.push(token);
    }
    const out = handler(this, args);
    return out.length === 0 ? 'ok' : out.join('\n');
  }
}

const list = (value: string | undefined): string[] =>
  value === undefined || value === '' ? [] : value.split(',');

function nodeOptions(args: Args): NodeOptions {
  const options: Record<string, unknown> = {};
  for (const key of ['preVote', 'checkQuorum'] as const) {
    const value = args.named.get(key);
    if (value !== undefined) options[key] = value === 'true';
  }
  for (const key of ['electionTicks', 'heartbeatTicks', 'maxInflightMessages', 'maxMessageBytes'] as const) {
    const value = args.named.get(key);
    if (value !== undefined) options[key] = Number(value);
  }
  const mutation = args.named.get('mutation');
  if (mutation !== undefined) options.mutations = { [mutation]: true } as Mutations;
  return options as NodeOptions;
}

/** Runs `fn`, printing a RaftError's code instead of throwing. */
function attempt(fn: () => string): string {
  try {
    return fn();
  } catch (e) {
    if (isRaftError(e)) return `error ${e.code}${e.leaderHint === null ? '' : ` (leader ${e.leaderHint})`}`;
    throw e;
  }
}

function stabilize(env: ScenarioEnv, only?: Set<string>): string[] {
  const c = env.c;
  const out: string[] = [];
  for (let round = 0; round < 10_000; round++) {
    c.processReadies();
    out.push(...c.events.splice(0));
    if (c.queue.length === 0) return out;
    const delivered = c.deliverAll((m) => only === undefined || (only.has(m.from) && only.has(m.to)));
    if (delivered.length === 0) return out;
    out.push(...delivered.map(describeMessage));
  }
  throw new Error('did not stabilize');
}

function status(c: TestCluster, id: NodeId): string {
  const s = c.node(id).status();
  const peers = s.peers
    .filter((p) => p.id !== id)
    .map((p) => ` ${p.id}:${p.state}/${p.matchIndex}`)
    .join('');
  return `${id}: ${s.role} term=${s.term} leader=${s.leader ?? '-'} commit=${s.commitIndex} applied=${s.appliedIndex} last=${s.lastIndex}${peers}`;
}

function memberChange(leader: string, changes: MemberChange[]): (env: ScenarioEnv) => string[] {
  return (env) => [
    attempt(() => `index ${env.c.node(leader).proposeConfigChange({ changes } as ConfigChange)}`),
  ];
}

const handlers: Record<string, Handler> = {
  /** cluster voters=a,b,c [learners=d] [preVote=..] [checkQuorum=..] [electionTicks=..] [mutation=..] */
  cluster(env, args) {
    const voters = list(args.named.get('voters')) as NodeId[];
    const learners = list(args.named.get('learners')) as NodeId[];
    env.cluster = new TestCluster({ voters, votersOutgoing: [], learners }, nodeOptions(args));
    return [];
  },

  /** add-node id: a new, empty node that will join through a membership change. */
  'add-node'(env, args) {
    for (const id of args.positional) env.c.addNode(id as NodeId, nodeOptions(args));
    return [];
  },

  /**
   * set-log id term=T [vote=V] [commit=C] terms=1,1,2: replaces a node's disk with a log whose
   * entries have these terms (the paper's figures), then restarts it from that disk.
   */
  'set-log'(env, args) {
    const [id] = args.positional as [NodeId];
    const disk = env.c.disks.get(id);
    if (disk === undefined) throw new Error(`no node ${id}`);
    // Index 1 stays the bootstrap membership entry; the given terms fill indexes 2 and on.
    const bootstrap = disk.entries.filter((e) => e.index === 1);
    disk.entries = bootstrap.concat(
      list(args.named.get('terms')).map(
        (t, i): Entry => ({
          index: (2 + i) as Index,
          term: Number(t) as Term,
          type: 'normal',
          data: bytes(`${id}${i + 2}`),
        }),
      ),
    );
    disk.hardState = {
      term: Number(args.named.get('term') ?? 0) as Term,
      votedFor: (args.named.get('vote') as NodeId | undefined) ?? null,
      commitIndex: Number(args.named.get('commit') ?? 1) as Index,
    };
    env.c.start(id);
    return [];
  },

  campaign(env, args) {
    env.c.node(args.positional[0] as string).campaign();
    return [];
  },

  /** tick ids|all [n]: ticks without delivering anything. */
  tick(env, args) {
    const [who = 'all', n = '1'] = args.positional;
    const ids = who === 'all' ? [...env.c.nodes.keys()] : (who.split(',') as NodeId[]);
    env.c.tick(ids, Number(n));
    return [];
  },

  /** tick-stabilize [n]: ticks every node, then stabilizes, n times; prints only events. */
  'tick-stabilize'(env, args) {
    const out: string[] = [];
    for (let i = 0; i < Number(args.positional[0] ?? 1); i++) {
      env.c.tick(env.c.nodes.keys());
      out.push(...stabilize(env).filter((line) => !line.includes('->')));
    }
    return out;
  },

  propose(env, args) {
    const [id, data] = args.positional as [string, string];
    return [attempt(() => `index ${env.c.node(id).propose(bytes(data))}`)];
  },

  /** stabilize [only=a,b]: handle Readies and deliver messages until quiet, printing it all. */
  stabilize(env, args) {
    const only = args.named.get('only');
    return stabilize(env, only === undefined ? undefined : new Set(list(only)));
  },

  /** process: handle each node's Ready once without delivering. */
  process(env) {
    env.c.processReadies();
    return env.c.events.splice(0);
  },

  /** deliver [from=a] [to=b]: delivers queued messages matching the filter once. */
  deliver(env, args) {
    const from = args.named.get('from');
    const to = args.named.get('to');
    return env.c
      .deliverAll((m) => (from === undefined || m.from === from) && (to === undefined || m.to === to))
      .map(describeMessage);
  },

  /** drop [from=a] [to=b]: discards queued messages matching the filter. */
  drop(env, args) {
    const from = args.named.get('from');
    const to = args.named.get('to');
    const dropped = env.c.queue.filter(
      (m) => (from === undefined || m.from === from) && (to === undefined || m.to === to),
    );
    env.c.queue = env.c.queue.filter((m) => !dropped.includes(m));
    return dropped.map((m) => `dropped ${describeMessage(m)}`);
  },

  /** partition a,b c: cuts every link between the groups. */
  partition(env, args) {
    env.c.partition(...args.positional.map(list));
    return [];
  },

  heal(env) {
    env.c.heal();
    return [];
  },

  /** restart id: a crash; only what the node persisted survives. */
  restart(env, args) {
    for (const id of args.positional) env.c.start(id as NodeId);
    return [];
  },

  status(env, args) {
    const ids = args.positional.length > 0 ? (args.positional as NodeId[]) : [...env.c.nodes.keys()];
    return ids.map((id) => status(env.c, id));
  },

  log(env, args) {
    const id = args.positional[0] as NodeId;
    const disk = env.c.disks.get(id);
    if (disk === undefined) throw new Error(`no node ${id}`);
    const snap =
      disk.snapshot.meta.index > 0 ? [`snapshot ${disk.snapshot.meta.index}/${disk.snapshot.meta.term}`] : [];
    return [...snap, disk.entries.map(describeEntry).join(' ') || '(empty)'];
  },

  applied(env, args) {
    return args.positional.map((id) => `${id}: ${env.c.appliedData(id).join(' ') || '(nothing)'}`);
  },

  /** compact id index: the application snapshots its applied state at `index`. */
  compact(env, args) {
    const [id, at] = args.positional as [string, string];
    const node = env.c.node(id);
    const meta = node.snapshotMetaAt(Number(at) as Index);
    const snapshot: Snapshot = { meta, data: bytes(env.c.appliedData(id).join(',')) };
    const disk = env.c.disks.get(id as NodeId);
    if (disk === undefined) throw new Error(`no node ${id}`);
    disk.snapshot = snapshot;
    disk.entries = disk.entries.filter((e) => e.index > meta.index);
    node.compact(snapshot);
    return [];
  },

  transfer(env, args) {
    const [from, to] = args.positional as [string, string];
    return [
      attempt(() => {
        env.c.node(from).transferLeadership(to as NodeId);
        return 'ok';
      }),
    ];
  },

  /** read id requestId [lease]: asks for a read index. */
  read(env, args) {
    const [id, requestId, mode] = args.positional as [string, string, string | undefined];
    env.c.node(id).readIndex(Number(requestId), mode === 'lease' ? 'lease' : 'quorum');
    return [];
  },

  /** lease id: whether the node would answer a lease read at once, and at which index. */
  lease(env, args) {
    const id = args.positional[0] as string;
    const index = env.c.node(id).leaseReadIndex();
    return [
      index === null ? `${id} must ask for a read index` : `${id} may serve a lease read at index ${index}`,
    ];
  },

  /** forward id requestId cmd,cmd: proposes commands through whoever leads. */
  forward(env, args) {
    const [id, requestId, commands] = args.positional as [string, string, string];
    env.c.node(id).forward(Number(requestId), list(commands).map(bytes));
    return [];
  },

  /** forwarded id: the outcomes of the node's forwarded proposals so far. */
  forwarded(env, args) {
    const id = args.positional[0] as NodeId;
    const outcomes = env.c.forwarded.get(id) ?? [];
    if (outcomes.length === 0) return ['(none)'];
    return outcomes.map((o) =>
      'refused' in o
        ? `request ${o.requestId} refused ${o.refused}`
        : `request ${o.requestId} at ${o.index}/${o.term}`,
    );
  },

  /** reads id: the read states the node has received so far. */
  reads(env, args) {
    const id = args.positional[0] as NodeId;
    const states = env.c.readStates.get(id) ?? [];
    return states.length === 0 ? ['(none)'] : states.map((r) => `request ${r.requestId} at index ${r.index}`);
  },

  /** change leader addVoter:d,remove:a,addLearner:e: one membership change. */
  change(env, args) {
    const [leader, spec] = args.positional as [string, string];
    const changes = list(spec).map((item) => {
      const [kind, id] = item.split(':');
      return { kind, id } as MemberChange;
    });
    return memberChange(leader, changes)(env);
  },

  membership(env, args) {
    return args.positional.map((id) => {
      const m = env.c.node(id).status().membership;
      const outgoing = m.votersOutgoing.length > 0 ? ` outgoing=${m.votersOutgoing.join(',')}` : '';
      return `${id}: voters=${m.voters.join(',')}${outgoing} learners=${m.learners.join(',') || '-'}`;
    });
  },
};
