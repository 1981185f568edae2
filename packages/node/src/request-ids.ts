/** Ids per millisecond of wall-clock time; 2^53 / 1024 ms is past the year 2200. */
const idsPerMs = 1024;

/**
 * Ids for requests whose answers come back over the network (read index requests). An answer can
 * arrive late: one meant for an earlier process on this node may still sit in the leader's queue
 * when this process starts, and must not match one of this process's requests, or a read would be
 * served at the old, stale index. So no id is ever issued twice by a node, in one process or
 * across its restarts. Like etcd's idutil, ids follow the wall clock (`idsPerMs` per
 * millisecond since the epoch): a new process begins past every id an earlier one issued unless
 * that one issued more than `idsPerMs` per millisecond for a sustained stretch (far beyond what a
 * node serves), or the wall clock stepped back across the restart by more than the downtime.
 */
export class RequestIds {
  #last = 0;

  constructor(private readonly wallClockMs: () => number = Date.now) {}

  next(): number {
    this.#last = Math.max(this.#last + 1, Math.floor(this.wallClockMs()) * idsPerMs);
    return this.#last;
  }
}
