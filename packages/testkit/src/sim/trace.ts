import type { Message } from '@raftkit/core';

/** One thing that happened, kept raw and formatted only when a trace is printed (cheap when all is well). */
export type TraceEvent =
  | { readonly kind: 'send'; readonly message: Message; readonly delay: number }
  | { readonly kind: 'drop'; readonly message: Message; readonly reason: DropReason }
  | { readonly kind: 'deliver'; readonly message: Message }
  | { readonly kind: 'duplicate'; readonly message: Message }
  | { readonly kind: 'crash' | 'restart'; readonly node: string }
  | { readonly kind: 'role'; readonly node: string; readonly role: string; readonly term: number }
  | { readonly kind: 'persist'; readonly node: string; readonly detail: string }
  | { readonly kind: 'apply'; readonly node: string; readonly first: number; readonly last: number }
  | { readonly kind: 'snapshot'; readonly node: string; readonly index: number; readonly restored: boolean }
  | { readonly kind: 'partition'; readonly detail: string }
  | { readonly kind: 'client'; readonly detail: string }
  | { readonly kind: 'note'; readonly detail: string };

export type DropReason = 'loss' | 'partition' | 'crashed';

/**
 * The last `limit` events of a run with their logical time. A failing seed prints them; the
 * same seed must print the same lines byte for byte, which a test checks.
 */
export class Trace {
  readonly #limit: number;
  readonly #times: number[] = [];
  readonly #events: TraceEvent[] = [];
  #start = 0;

  /** `limit` 0 keeps nothing; `Infinity` keeps the whole run. */
  constructor(limit: number) {
    this.#limit = limit;
  }

  record(time: number, event: TraceEvent): void {
    if (this.#limit === 0) return;
    if (this.#events.length < this.#limit) {
      this.#times.push(time);
      this.#events.push(event);
      return;
    }
    // Full: overwrite the oldest slot, a ring buffer.
    this.#times[this.#start] = time;
    this.#events[this.#start] = event;
    this.#start = (this.#start + 1) % this.#limit;
  }

  lines(): string[] {
    const out: string[] = [];
    const n = this.#events.length;
    for (let k = 0; k < n; k++) {
      const slot = (this.#start + k) % n;
      out.push(`t=${this.#times[slot]} ${formatEvent(this.#events[slot]!)}`);
    }
    return out;
  }
}

function formatEvent(event: TraceEvent): string {
  switch (event.kind) {
    case 'send':
      return `send ${formatMessage(event.message)} +${event.delay}`;
    case 'drop':
      return `drop(${event.reason}) ${formatMessage(event.message)}`;
    case 'deliver':
      return `recv ${formatMessage(event.message)}`;
    case 'duplicate':
      return `dup  ${formatMessage(event.message)}`;
    case 'crash':
      return `CRASH ${event.node}`;
    case 'restart':
      return `RESTART ${event.node}`;
    case 'role':
      return `${event.node} is ${event.role} t${event.term}`;
    case 'persist':
      return `${event.node} persist ${event.detail}`;
    case 'apply':
      return `${event.node} apply ${event.first === event.last ? event.first : `${event.first}..${event.last}`}`;
    case 'snapshot':
      return `${event.node} ${event.restored ? 'restore' : 'take'} snapshot @${event.index}`;
    case 'partition':
      return `net ${event.detail}`;
    case 'client':
      return `client ${event.detail}`;
    case 'note':
      return event.detail;
  }
}

/** One compact line per message: type, route, term, then the fields that matter for that type. */
function formatMessage(m: Message): string {
  const head = `${m.from}>${m.to} t${m.term}`;
  switch (m.type) {
    case 'RequestVote':
      return `${m.preVote ? 'PreVote' : 'Vote'} ${head} last=${m.lastLogIndex}/${m.lastLogTerm}${m.transfer ? ' transfer' : ''}`;
    case 'RequestVoteResponse':
      return `${m.preVote ? 'PreVoteResp' : 'VoteResp'} ${head} ${m.granted ? 'granted' : 'rejected'}`;
    case 'AppendEntries': {
      const first = m.entries[0];
      const last = m.entries[m.entries.length - 1];
      const span = first === undefined ? '' : ` [${first.index}/${first.term}..${last!.index}/${last!.term}]`;
      return `App ${head} prev=${m.prevLogIndex}/${m.prevLogTerm}${span} commit=${m.leaderCommit}`;
    }
    case 'AppendEntriesResponse':
      return m.success
        ? `AppResp ${head} ok ${m.index}`
        : `AppResp ${head} reject ${m.index} hint=${m.conflictIndex}/${m.conflictTerm}`;
    case 'Heartbeat':
      return `Heartbeat ${head} commit=${m.commitIndex}${m.readRound ? ` read=${m.readRound}` : ''}`;
    case 'HeartbeatResponse':
      return `HeartbeatResp ${head}${m.readRound ? ` read=${m.readRound}` : ''}`;
    case 'InstallSnapshot':
      return `Snap ${head} @${m.snapshot.meta.index}/${m.snapshot.meta.term}`;
    case 'TimeoutNow':
      return `TimeoutNow ${head}`;
    case 'ReadIndexRequest':
      return `ReadIndex ${head} req=${m.requestId}`;
    case 'ReadIndexResponse':
      return `ReadIndexResp ${head} req=${m.requestId} ${m.ok ? `index=${m.readIndex}` : 'refused'}`;
    case 'Propose':
      return `Propose ${head} req=${m.requestId} n=${m.entries.length}`;
    case 'ProposeResponse':
      return `ProposeResp ${head} req=${m.requestId} ${m.refused ?? `index=${m.index}`}`;
  }
}
