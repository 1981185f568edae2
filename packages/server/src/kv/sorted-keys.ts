/**
 * The keys in order, for listing. A sorted array with binary search: lookups are O(log n) and an
 * insert or delete of a new key moves O(n) references (a memmove, microseconds at 10^5 keys),
 * while listing a page is O(log n + page). Overwriting an existing key, the common write, costs
 * nothing here. A B-tree would bound inserts too; at the sizes an in-memory KV holds, the simple
 * array wins on constant factors and has nothing to get wrong.
 *
 * Order is JavaScript string order (UTF-16 code units): deterministic on every runtime, which is
 * all the replicated state machine needs.
 */
export class SortedKeys {
  #keys: string[] = [];

  get size(): number {
    return this.#keys.length;
  }

  /** Adds `key` if absent. */
  add(key: string): void {
    const at = this.#lowerBound(key);
    if (this.#keys[at] !== key) this.#keys.splice(at, 0, key);
  }

  /** Removes `key` if present. */
  delete(key: string): void {
    const at = this.#lowerBound(key);
    if (this.#keys[at] === key) this.#keys.splice(at, 1);
  }

  /** Up to `limit` keys starting with `prefix` and greater than `after`, ascending. */
  range(prefix: string, after: string | null, limit: number): string[] {
    let at = this.#lowerBound(after !== null && after >= prefix ? after : prefix);
    if (after !== null && this.#keys[at] === after) at++;
    const page: string[] = [];
    for (; at < this.#keys.length && page.length < limit; at++) {
      const key = this.#keys[at]!;
      if (!key.startsWith(prefix)) break;
      page.push(key);
    }
    return page;
  }

  /** Every key, ascending. The caller must not modify the array. */
  all(): readonly string[] {
    return this.#keys;
  }

  /** Replaces the contents with `keys`, which must be ascending and distinct. */
  reset(keys: string[]): void {
    this.#keys = keys;
  }

  /** First position whose key is >= `key`. */
  #lowerBound(key: string): number {
    let low = 0;
    let high = this.#keys.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.#keys[mid]! < key) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
