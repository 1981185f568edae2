import type { Index, Message, NodeId, Term } from '@raftkit/core';

/** A leader's outgoing messages in their order, cut into runs that must leave now or may wait. */
export interface MessageRun {
  readonly messages: Message[];
  readonly mayWait: boolean;
}

/**
 * Which of a leader's messages may wait for company (`SendOptions.mayWait`). After each commit
 * the core tells every follower the new commit index at once, in an AppendEntries with no
 * entries, so that followers apply without delay. At one write in flight that notice leaves
 * alone, and a moment later the next write's AppendEntries follows it: two socket writes, two
 * wake-ups and two responses where one of each would do. Held back briefly by the transport,
 * the notice rides with that next message instead (hashicorp/raft goes further and holds commit
 * updates for up to its CommitTimeout, 50 ms).
 *
 * A follower is sometimes waiting for that commit index: it forwarded proposals to us, and
 * answers its clients only once it applies them. Its notices may not wait while it has an
 * answer we gave (a `ProposeResponse` with the index) that no commit index sent to it covers yet.
 */
export class CommitNotices {
  /** The term the maps below belong to: a new leader starts them over. */
  #term = 0 as Term;
  /** Per follower, the highest index we answered one of its forwarded proposals with. */
  readonly #awaited = new Map<NodeId, Index>();
  /** Per follower, the highest commit index we sent it. */
  readonly #told = new Map<NodeId, Index>();

  /** Cuts `messages` into runs, keeping their order. */
  runs(messages: readonly Message[]): MessageRun[] {
    const runs: MessageRun[] = [];
    for (const message of messages) {
      const mayWait = this.#mayWait(message);
      const last = runs.at(-1);
      if (last !== undefined && last.mayWait === mayWait) last.messages.push(message);
      else runs.push({ messages: [message], mayWait });
    }
    return runs;
  }

  #mayWait(message: Message): boolean {
    if (message.term !== this.#term) {
      this.#term = message.term;
      this.#awaited.clear();
      this.#told.clear();
    }
    if (message.type === 'ProposeResponse') {
      if (message.refused === null) this.#raise(this.#awaited, message.to, message.index);
      return false;
    }
    if (message.type !== 'AppendEntries') return false;
    const waiting = (this.#awaited.get(message.to) ?? 0) > (this.#told.get(message.to) ?? 0);
    this.#raise(this.#told, message.to, message.leaderCommit);
    return message.entries.length === 0 && !waiting;
  }

  #raise(map: Map<NodeId, Index>, id: NodeId, index: Index): void {
    if (index > (map.get(id) ?? 0)) map.set(id, index);
  }
}
