/** One stored object plus the keys that order lists: `created`, then insertion sequence. */
export interface Entry<T> {
  readonly obj: T;
  readonly created: number;
  readonly seq: number;
}

export function compareEntries<T>(a: Entry<T>, b: Entry<T>): number {
  return a.created - b.created || a.seq - b.seq;
}

/**
 * Entries kept in ascending (created, seq) order. Appends in order stay O(1); an append out of
 * order (back-dated seeding) is repaired once, lazily, on the next read. Deliberately just an
 * array: secondary indexes hold one bucket per value, often hundreds of thousands of them.
 */
export class SortedBucket<T> {
  private entries: Entry<T>[] = [];
  private unsorted = false;

  get size(): number {
    return this.entries.length;
  }

  add(entry: Entry<T>): void {
    const last = this.entries[this.entries.length - 1];
    if (last && compareEntries(last, entry) > 0) this.unsorted = true;
    this.entries.push(entry);
  }

  remove(entry: Entry<T>): void {
    const entries = this.view();
    const i = lowerBound(entries, entry.created, entry.seq);
    if (entries[i] === entry) entries.splice(i, 1);
  }

  view(): Entry<T>[] {
    if (this.unsorted) {
      this.entries.sort(compareEntries);
      this.unsorted = false;
    }
    return this.entries;
  }
}

/** First index whose entry is not less than (created, seq) — standard lower bound. */
export function lowerBound<T>(arr: readonly Entry<T>[], created: number, seq: number): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const e = arr[mid];
    if (e.created < created || (e.created === created && e.seq < seq)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
